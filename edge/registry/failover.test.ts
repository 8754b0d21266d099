import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fleetResponseSchema } from '../../schema/wire/http.js';
import { api, registerUser } from '../test/helpers.js';
import { connectFakeNode, nodeLoad, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, joinMeeting, roomStub, seatedMeeting, type Seat } from '../test/kits/room-kit.js';
import { REPLACE_RETRY_MS, REPLACE_TIMER } from '../room/media.js';
import type { RoomDO } from '../room/room-do.js';
import { TIMERS_TABLE } from '../room/timers.js';
import type { NodeStore } from './node-store.js';
import type { RegionDO } from './region-do.js';

// This file's meetings start in Astana (nqz); its nearest other region is Mumbai (bom).
const ASTANA = { latitude: '51.1694', longitude: '71.4491' };
const ADMIN = { Authorization: `Bearer ${'test-admin-token-0123456789'}` };
/** Shorter than the heartbeat timeout: what arrives within it was not the alarm's doing. */
const SOONER_THAN_THE_ALARM_MS = 2_500;

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hamid');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

async function node(options: Parameters<typeof connectFakeNode>[0] = {}): Promise<FakeNode> {
  const fake = await connectFakeNode({ region: 'nqz', ...options });
  cleanup.push(() => fake.retire());
  return fake;
}

function meetingIn(guests: number) {
  return seatedMeeting({ host, region: 'nqz', cf: ASTANA, cleanup, guests });
}

async function fleetNode(region: 'nqz' | 'bom', nodeId: string) {
  return (await regionStubFor(region).fleet()).find((n) => n.nodeId === nodeId) ?? null;
}

async function expectMovedTo(seats: Seat[], nodeId: string, timeoutMs = SOONER_THAN_THE_ALARM_MS) {
  for (const seat of seats) {
    const moved = await seat.socket.next('media.assignment', (m) => m.media.nodeId === nodeId, timeoutMs);
    expect(moved.media.token.length).toBeGreaterThan(20);
  }
}

/** Lets the make-before-break grace of every moved meeting end now. */
async function endGrace(region: 'nqz' | 'bom') {
  await runInDurableObject(regionStubFor(region), (_instance: RegionDO, state) => {
    state.storage.sql.exec('UPDATE moved_meetings SET close_at = 0 WHERE close_at IS NOT NULL');
  });
  await runDurableObjectAlarm(regionStubFor(region));
}

describe('crash: the control socket closes', () => {
  it('marks the node down at once and moves its meeting without waiting for the heartbeat timeout', async () => {
    const room = await meetingIn(1);
    const spare = await node();
    room.node.crash();
    await expectMovedTo([room.host, ...room.guests], spare.nodeId);
    expect(await fleetNode('nqz', room.node.nodeId)).toMatchObject({ state: 'down', rooms: 0, excludedBecause: ['down'] });
    // The dead node is not handed out again.
    const next = await configureMeeting(host.user.id);
    expect((await joinMeeting(next.linkId, { displayName: 'Nurlan' }, { cf: ASTANA })).body.media).toMatchObject({ nodeId: spare.nodeId });
  });

  it('does not write off a node whose replaced socket closes', async () => {
    const room = await meetingIn(0);
    const reconnected = await node({ nodeId: room.node.nodeId });
    await expect.poll(() => room.node.ws.readyState).toBe(WebSocket.CLOSED);
    expect(await fleetNode('nqz', reconnected.nodeId)).toMatchObject({ state: 'serving', rooms: 1 });
    expect(room.host.socket.inbox.received.filter((m) => m.type === 'media.assignment')).toEqual([]);
    expect(reconnected.commands('closeMeeting')).toEqual([]);
  });
});

describe('a node returning after its meetings moved', () => {
  it('is told to close every meeting that moved, whether it reports them or not', async () => {
    const room = await meetingIn(0);
    const spare = await node();
    room.node.crash();
    await expectMovedTo([room.host], spare.nodeId);
    // Back without listing its meetings: the edge remembers what moved off it.
    const back = await node({ nodeId: room.node.nodeId });
    expect(await back.command('closeMeeting', room.settings.linkId)).toMatchObject({ meetingId: room.settings.linkId, why: 'moved', closedAt: expect.any(Number) });
    expect((await fleetNode('nqz', back.nodeId))?.state).toBe('serving');
    expect(room.host.socket.inbox.received.filter((m) => m.type === 'media.assignment')).toHaveLength(1);
  });

  it('closes reported meetings served elsewhere, keeps the ones it still serves (silent partition)', async () => {
    const stalled = await meetingIn(0);
    const spare = await node();
    // SIGSTOP: the socket stays open but heartbeats stop; the alarm writes the node off.
    stalled.node.stall();
    await runInDurableObject(regionStubFor('nqz'), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, stalled.node.nodeId);
    });
    expect(await runDurableObjectAlarm(regionStubFor('nqz'))).toBe(true);
    await expectMovedTo([stalled.host], spare.nodeId);
    // Its socket is closed; a heartbeat that was still in flight does not bring it back (hello does).
    await expect.poll(() => stalled.node.ws.readyState).toBe(WebSocket.CLOSED);
    const revived = await runInDurableObject(regionStubFor('nqz'), (instance: RegionDO) =>
      (instance as unknown as { store: NodeStore }).store.recordHeartbeat(stalled.node.nodeId, 'serving', nodeLoad(), Date.now()),
    );
    expect(revived).toBe(false);
    expect((await fleetNode('nqz', stalled.node.nodeId))?.state).toBe('down');

    const back = await node({ nodeId: stalled.node.nodeId, meetings: [stalled.settings.linkId] });
    expect(await back.command('closeMeeting', stalled.settings.linkId)).toMatchObject({ meetingId: stalled.settings.linkId });
    // A meeting placed on it after its return is its own: a later reconnect keeps it.
    spare.heartbeat({ consumers: 900 });
    await expect.poll(async () => (await fleetNode('nqz', spare.nodeId))?.excludedBecause).toEqual(['full']);
    const fresh = await configureMeeting(host.user.id);
    expect((await joinMeeting(fresh.linkId, { displayName: 'Aigerim' }, { cf: ASTANA })).body.media).toMatchObject({ nodeId: back.nodeId });
    const again = await node({ nodeId: back.nodeId, meetings: [fresh.linkId, stalled.settings.linkId] });
    expect(await again.command('closeMeeting', stalled.settings.linkId)).toBeTruthy();
    expect(again.commands('closeMeeting').map((c) => (c.command === 'closeMeeting' ? c.meetingId : null))).not.toContain(fresh.linkId);
  });
});

describe('a meeting taken from a node gone silent', () => {
  it('is closed on that node when it says hello again, even before the alarm wrote it off', async () => {
    const region = regionStubFor('nqz');
    const silent = await node();
    const meeting = `g${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`;
    expect((await region.place(meeting))?.nodeId).toBe(silent.nodeId);
    silent.stall();
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, silent.nodeId);
    });
    // A client of the meeting reports its media dead: the room asks, the region says no …
    expect(await region.serves(meeting, silent.nodeId)).toBe(false);
    // … and the meeting is placed anew, on a live node.
    const live = await node();
    expect((await region.place(meeting))?.nodeId).toBe(live.nodeId);
    const back = await node({ nodeId: silent.nodeId });
    expect(await back.command('closeMeeting', meeting)).toMatchObject({ meetingId: meeting });
    expect(await region.serves(meeting, live.nodeId)).toBe(true);
  });
});

describe('the only node in reach written off while it was merely slow', () => {
  it('tells the participants, retries, and takes the meeting back to that node when it says hello again', async () => {
    const room = await meetingIn(1);
    const seats = [room.host, ...room.guests];
    // Its heartbeats are late (a busy machine), not its process dead: the alarm writes it off.
    room.node.stall();
    await runInDurableObject(regionStubFor('nqz'), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, room.node.nodeId);
    });
    await runDurableObjectAlarm(regionStubFor('nqz'));
    // No other node anywhere: everyone hears so, with when to expect the next try …
    for (const seat of seats) {
      const said = await seat.socket.next('error', (m) => m.code === 'NO_MEDIA_CAPACITY', SOONER_THAN_THE_ALARM_MS);
      expect(said.retryAfterMs).toBe(REPLACE_RETRY_MS);
    }
    expect(await runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.timers.has(REPLACE_TIMER))).toBe(true);

    // … the node reconnects: its old room there closes as moved (clients reconnect, the call goes on) …
    const back = await node({ nodeId: room.node.nodeId, meetings: [room.settings.linkId] });
    expect(await back.command('closeMeeting', room.settings.linkId)).toMatchObject({ why: 'moved' });
    // … and the room's next try places the meeting on it again and sends everyone there.
    await runInDurableObject(roomStub(room.settings.linkId), (_instance: RoomDO, state) => {
      state.storage.sql.exec(`UPDATE ${TIMERS_TABLE} SET at = 0 WHERE name = ?`, REPLACE_TIMER);
    });
    await runDurableObjectAlarm(roomStub(room.settings.linkId));
    await expectMovedTo(seats, back.nodeId);
    expect(await runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.timers.has(REPLACE_TIMER))).toBe(false);
    expect(seats.flatMap((seat) => seat.socket.inbox.received.filter((m) => m.type === 'closed'))).toEqual([]);
  });

  it('a participant the host muted stays muted on the node the meeting moves to', async () => {
    const room = await meetingIn(1);
    const guest = room.guests[0]!;
    expect(await room.host.socket.request({ type: 'host.mute', participantId: guest.participantId, kind: 'audio' })).toMatchObject({ type: 'ack' });
    expect(await room.host.socket.request({ type: 'host.allowUnmute', allowed: false })).toMatchObject({ type: 'ack' });
    const spare = await node();
    room.node.crash();
    await expectMovedTo([room.host, guest], spare.nodeId);
    expect(await spare.command('muteParticipant', room.settings.linkId)).toMatchObject({ participantId: guest.participantId, kind: 'audio', participantsMayUnmute: false });
  });
});

describe('drain: make-before-break', () => {
  it('moves the meetings of a node the operator drains, and closes them there only after the grace', async () => {
    const room = await meetingIn(1);
    const spare = await node();
    const response = await api('POST', `/api/fleet/regions/nqz/nodes/${room.node.nodeId}/drain`, { headers: ADMIN, json: {} });
    expect(response.status).toBe(200);
    expect(response.body.node).toMatchObject({ state: 'draining', rooms: 0 });
    await expectMovedTo([room.host, ...room.guests], spare.nodeId);
    expect(await room.node.command('drain')).toEqual({ command: 'drain' });
    // The old node keeps serving the clients that have not moved yet.
    expect(room.node.commands('closeMeeting')).toEqual([]);
    await endGrace('nqz');
    expect(await room.node.command('closeMeeting', room.settings.linkId)).toMatchObject({ meetingId: room.settings.linkId });
    expect(spare.commands('closeMeeting')).toEqual([]);
  });

  it('moves the meetings of a node that reports draining by itself (SIGTERM)', async () => {
    const room = await meetingIn(0);
    const spare = await node();
    room.node.heartbeat({ rooms: 1 }, 'draining');
    await expectMovedTo([room.host], spare.nodeId);
    expect(await fleetNode('nqz', room.node.nodeId)).toMatchObject({ state: 'draining', excludedBecause: ['draining'] });
  });
});

describe('quality-aware health', () => {
  it('skips a degraded node and says why in the fleet API', async () => {
    const lossy = await node({ load: { packetLoss: 0.2, jitterMs: 90 } });
    const lagging = await node({ load: { eventLoopLagMs: 800 } });
    const healthy = await node({ load: { consumers: 300 } });
    const placed = await regionStubFor('nqz').place(`q${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`);
    expect(placed?.nodeId).toBe(healthy.nodeId);
    const fleet = fleetResponseSchema.parse((await api('GET', '/api/fleet/regions', { headers: ADMIN })).body);
    const nodes = fleet.regions.find((r) => r.id === 'nqz')!.nodes;
    expect(nodes.find((n) => n.nodeId === lossy.nodeId)?.excludedBecause).toEqual(['loss', 'jitter']);
    expect(nodes.find((n) => n.nodeId === lagging.nodeId)?.excludedBecause).toEqual(['event-loop-lag']);
    expect(nodes.find((n) => n.nodeId === healthy.nodeId)?.excludedBecause).toEqual([]);
  });

  it('an overloaded node sheds its newest meeting to another node, then waits for the cooldown', async () => {
    const hot = await node();
    const region = regionStubFor('nqz');
    const meetings = [0, 1, 2].map((i) => `s${i}${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`);
    for (const meeting of meetings) expect((await region.place(meeting))?.nodeId).toBe(hot.nodeId);
    const relief = await node();
    hot.heartbeat({ rooms: 3, consumers: 990, consumerCapacity: 1_000 });
    await expect.poll(async () => (await fleetNode('nqz', hot.nodeId))?.rooms).toBe(2);
    expect((await fleetNode('nqz', hot.nodeId))?.excludedBecause).toEqual(['full']);
    // The newest meeting went; its next placement lands on the other node.
    expect((await region.place(meetings[2]!))?.nodeId).toBe(relief.nodeId);
    expect((await region.place(meetings[0]!))?.nodeId).toBe(hot.nodeId);
    // Still overloaded on the next report, but within the cooldown: nothing more moves.
    hot.heartbeat({ rooms: 2, consumers: 990, consumerCapacity: 1_000 });
    await expect.poll(async () => (await fleetNode('nqz', hot.nodeId))?.lastHeartbeatAt).toBeGreaterThan(0);
    expect((await fleetNode('nqz', hot.nodeId))?.rooms).toBe(2);
    await endGrace('nqz');
    expect(await hot.command('closeMeeting', meetings[2])).toBeTruthy();
  });
});

describe('region outage', () => {
  it('moves a meeting to the nearest healthy region when every node of its region is down, and the fleet shows it', async () => {
    const room = await meetingIn(1);
    const mumbai = await connectFakeNode({ region: 'bom' });
    cleanup.push(() => mumbai.retire());
    room.node.crash();
    await expectMovedTo([room.host, ...room.guests], mumbai.nodeId);
    const fleet = fleetResponseSchema.parse((await api('GET', '/api/fleet/regions', { headers: ADMIN })).body);
    const astana = fleet.regions.find((r) => r.id === 'nqz')!.nodes;
    expect(astana.every((n) => n.state === 'down')).toBe(true);
    expect(fleet.regions.find((r) => r.id === 'bom')!.nodes.find((n) => n.nodeId === mumbai.nodeId)).toMatchObject({ rooms: 1, excludedBecause: [] });
    // New joins from Astana go to Mumbai too.
    const next = await configureMeeting(host.user.id);
    expect((await joinMeeting(next.linkId, { displayName: 'Dana' }, { cf: ASTANA })).body.media).toMatchObject({ region: 'bom', nodeId: mumbai.nodeId });
  });
});
