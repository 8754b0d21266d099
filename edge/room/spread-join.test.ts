import { runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser } from '../test/helpers.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, joinMeeting, openRoomSocket, roomStub, type RoomClient } from '../test/kits/room-kit.js';
import type { RegionId } from '../../schema/regions.js';
import { LOCATION_HEADER, locationHeaderSchema } from '../../schema/wire/http.js';
import { DEFAULT_PLACEMENT_POLICY } from '../registry/placement.js';
import { SPILL_CHECK_FROM_PARTICIPANTS } from './media-spread.js';
import type { RegionDO } from '../registry/region-do.js';
import type { RoomDO } from './room-do.js';

/*
 * Joins that spread a meeting over several nodes (edge/registry/spread.ts, docs/cascading.md):
 * a participant far from the meeting's region gets a node in their own region, a large meeting
 * whose node lacks headroom spills onto a second node of its region, and the registry knows
 * those nodes serve a part of the meeting (a returning node keeps it, a lost one sends its
 * participants to the meeting's node).
 *
 * This file's meetings start in San Francisco (sfo); far participants are in Nairobi (nbo). Other
 * files' nodes may be live in those regions at the same time, so this file's nodes report a
 * capacity far above theirs: placement prefers them.
 */
const SAN_FRANCISCO = { latitude: '37.7749', longitude: '-122.4194' };
const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };
const ROOMY = { consumerCapacity: 1_000_000, cpuPerWorker: [0, 0] };
const ADMIN_TOKEN = 'test-admin-token-0123456789';

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Spreading Sam');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

async function roomyNode(region: RegionId, nodeId?: string): Promise<FakeNode> {
  const fake = await connectFakeNode({ region, load: ROOMY, ...(nodeId ? { nodeId } : {}) });
  cleanup.push(() => fake.retire());
  return fake;
}

/** Joins from `cf` and connects; answers who joined, on which node, with their room socket. */
async function joinFrom(linkId: string, cf: typeof SAN_FRANCISCO, body: object, token?: string) {
  const joined = await joinMeeting(linkId, body, { cf, ...(token ? { token } : {}) });
  if (joined.status !== 200) throw new Error(`join failed: ${JSON.stringify(joined.body)}`);
  const socket: RoomClient = await openRoomSocket(linkId, joined.body.roomSession);
  cleanup.push(() => socket.close());
  const welcome = await socket.next('welcome');
  return { participantId: joined.body.participantId as string, roomSession: joined.body.roomSession as string, nodeId: joined.body.media.nodeId as string, region: joined.body.media.region as string, welcome, socket };
}

async function admittedNodes(linkId: string): Promise<string[]> {
  return runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    await instance.cascade.settled();
    return instance.cascade.graph.admitted().map((node) => node.nodeId);
  });
}

/**
 * A meeting placed in San Francisco with its host there and Nia joined from Nairobi onto a node of
 * her own region (its part of the meeting); the Nairobi node answers commands when `answering`.
 */
async function meetingWithFarGuest(answering = false) {
  const home = await roomyNode('sfo');
  const far = await roomyNode('nbo');
  if (answering) far.answerCommands();
  const { linkId } = await configureMeeting(host.user.id);
  const hostSeat = await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
  expect(hostSeat.nodeId).toBe(home.nodeId);
  const nairobi = await joinFrom(linkId, NAIROBI, { displayName: 'Nia' });
  expect({ nodeId: nairobi.nodeId, region: nairobi.region }).toEqual({ nodeId: far.nodeId, region: 'nbo' });
  return { home, far, linkId, hostSeat, nairobi };
}

/** The Nairobi registry's make-before-break grace for the meeting ends now. */
async function endNairobiGrace(linkId: string): Promise<void> {
  await runInDurableObject(regionStubFor('nbo'), (_instance: RegionDO, state) => {
    state.storage.sql.exec('UPDATE moved_meetings SET close_at = 0 WHERE close_at IS NOT NULL AND meeting_link_id = ?', linkId);
  });
  await runDurableObjectAlarm(regionStubFor('nbo'));
}

/** The media.assignment messages the socket received (a move, a refresh). */
const assignmentsTo = (client: RoomClient) => client.inbox.received.filter((message) => message.type === 'media.assignment');

describe('a participant far from the meeting', () => {
  it("gets a node in their own region, which the room admits into the meeting's cascade; nearby ones stay on the meeting's node", async () => {
    const home = await roomyNode('sfo');
    const far = await roomyNode('nbo');
    const { linkId } = await configureMeeting(host.user.id);
    const hostSeat = await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
    expect(hostSeat.nodeId).toBe(home.nodeId);

    const nairobi = await joinFrom(linkId, NAIROBI, { displayName: 'Nia' });
    expect({ nodeId: nairobi.nodeId, region: nairobi.region }).toEqual({ nodeId: far.nodeId, region: 'nbo' });
    // The welcome's token (handed out again on connect) is for the same node.
    expect(nairobi.welcome.media?.nodeId).toBe(far.nodeId);
    expect(await admittedNodes(linkId)).toEqual([far.nodeId]);

    const neighbour = await joinFrom(linkId, SAN_FRANCISCO, { displayName: 'Ned' });
    expect(neighbour.nodeId).toBe(home.nodeId);
  });

  it("whose own region has no node for them gets the next region worth a part, not the meeting's node a continent away", async () => {
    const home = await roomyNode('sfo');
    const next = await roomyNode('bom');
    const { linkId } = await configureMeeting(host.user.id);
    const hostSeat = await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
    expect(hostSeat.nodeId).toBe(home.nodeId);
    // Nairobi's registry has no node for her (its nodes down, draining or full). Other files'
    // Nairobi nodes may be live meanwhile, so the refusal is played at the room's call to it; the
    // registries' own answers are tested for real above and in placement.test.ts.
    const asked: RegionId[] = [];
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
      const spread = (instance.media as unknown as { spread: { placeNewcomer(region: RegionId, meeting: unknown): Promise<unknown> } }).spread;
      const real = spread.placeNewcomer.bind(spread);
      spread.placeNewcomer = async (region, meeting) => {
        asked.push(region);
        return region === 'nbo' ? null : real(region, meeting);
      };
    });
    const nairobi = await joinFrom(linkId, NAIROBI, { displayName: 'Nia' });
    // Mumbai: ~4,500 km from her against ~15,400 km to San Francisco.
    expect({ nodeId: nairobi.nodeId, region: nairobi.region }).toEqual({ nodeId: next.nodeId, region: 'bom' });
    expect(asked).toEqual(['nbo', 'bom']);
    expect(await admittedNodes(linkId)).toEqual([next.nodeId]);
  });

  it('keeps its part when its node reconnects, and the part goes when the meeting ends', async () => {
    await roomyNode('sfo');
    const far = await roomyNode('nbo');
    const { linkId } = await configureMeeting(host.user.id);
    const hostSeat = await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
    expect((await joinFrom(linkId, NAIROBI, { displayName: 'Nia' })).nodeId).toBe(far.nodeId);
    const unrelated = (await configureMeeting(host.user.id)).linkId;

    // The node's control socket drops and it comes back listing what it holds: only the meeting
    // it has no part of is to close.
    const back = await connectFakeNode({ region: 'nbo', nodeId: far.nodeId, load: ROOMY, hello: false });
    cleanup.push(() => back.retire());
    back.answerCommands();
    await back.hello({ load: ROOMY, meetings: [linkId, unrelated] });
    await back.command('closeMeeting', unrelated);
    expect(back.commands('closeMeeting').map((command) => (command as { meetingId: string }).meetingId)).toEqual([unrelated]);

    hostSeat.socket.send({ type: 'host.end' });
    await hostSeat.socket.next('closed');
    await back.command('closeMeeting', linkId);
    await expect.poll(() => runInDurableObject(regionStubFor('nbo'), async (instance: RegionDO) => instance['store'].hasPart(linkId, far.nodeId))).toBe(false);
    // Once ended, the node has no part of it left: coming back with it, it is told to close it.
    const again = await connectFakeNode({ region: 'nbo', nodeId: far.nodeId, load: ROOMY, hello: false });
    cleanup.push(() => again.retire());
    await again.hello({ load: ROOMY, meetings: [linkId] });
    expect(await again.command('closeMeeting', linkId)).toMatchObject({ meetingId: linkId, why: 'moved' });
  });

  it('waiting in the lobby gets a node in their own region once the host admits them', async () => {
    const home = await roomyNode('sfo');
    const far = await roomyNode('nbo');
    const { linkId } = await configureMeeting(host.user.id, { waitingRoom: true });
    const hostSeat = await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
    expect(hostSeat.nodeId).toBe(home.nodeId);

    const knock = await joinMeeting(linkId, { displayName: 'Nia' }, { cf: NAIROBI });
    expect(knock.body).toMatchObject({ status: 'waiting', media: null });
    const lobby = await openRoomSocket(linkId, knock.body.roomSession);
    cleanup.push(() => lobby.close());
    await lobby.next('waiting');
    expect(await hostSeat.socket.request({ type: 'host.admit', participantId: knock.body.participantId })).toMatchObject({ type: 'ack' });
    await lobby.next('admitted');
    expect((await lobby.next('welcome')).media).toMatchObject({ nodeId: far.nodeId, region: 'nbo' });
    expect(await admittedNodes(linkId)).toEqual([far.nodeId]);
  });

  it('whose node dies is placed again in their own region; everyone else stays put', async () => {
    const { far, linkId, hostSeat, nairobi } = await meetingWithFarGuest();
    const spare = await roomyNode('nbo');

    far.crash();
    const moved = await nairobi.socket.next('media.assignment');
    expect({ nodeId: moved.media.nodeId, region: moved.media.region }).toEqual({ nodeId: spare.nodeId, region: 'nbo' });
    expect(await admittedNodes(linkId)).toEqual([spare.nodeId]);
    expect(assignmentsTo(hostSeat.socket)).toEqual([]);
    // Connecting again, they are handed their new node, not the dead one.
    const reconnect = await openRoomSocket(linkId, nairobi.roomSession);
    cleanup.push(() => reconnect.close());
    expect((await reconnect.next('welcome')).media?.nodeId).toBe(spare.nodeId);
  });

  it('whose node is overloaded is moved to another node of their region (parts are shed like rooms)', async () => {
    const { far, linkId, hostSeat, nairobi } = await meetingWithFarGuest(true);
    const spare = await roomyNode('nbo');

    // The node holds no meeting of its own, only this part, and reports itself past the shed line.
    far.heartbeat({ ...ROOMY, consumers: ROOMY.consumerCapacity - 1 });
    const moved = await nairobi.socket.next('media.assignment');
    expect(moved.media).toMatchObject({ nodeId: spare.nodeId, region: 'nbo' });
    expect(await admittedNodes(linkId)).toEqual([spare.nodeId]);
    expect(assignmentsTo(hostSeat.socket)).toEqual([]);
    await runInDurableObject(regionStubFor('nbo'), (instance: RegionDO) => {
      expect([instance['store'].hasPart(linkId, far.nodeId), instance['store'].hasPart(linkId, spare.nodeId)]).toEqual([false, true]);
    });
    // Make-before-break: the part serves on through the grace, then closes there.
    expect(far.commands('closeMeeting')).toEqual([]);
    await endNairobiGrace(linkId);
    expect(await far.command('closeMeeting', linkId)).toMatchObject({ meetingId: linkId, why: 'moved' });
  });

  it('asking for a new token keeps their own node while its region says it serves the part; a stale one is replaced in their region', async () => {
    const { far, hostSeat, nairobi } = await meetingWithFarGuest();

    // A client whose media session failed asks again (media.refresh): its node is alive and still
    // holds the part, so it is handed that node, not sent across the world to the meeting's.
    expect(await nairobi.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    expect((await nairobi.socket.next('media.assignment')).media).toMatchObject({ nodeId: far.nodeId, region: 'nbo' });

    // The node stops reporting (hung) before its region has noticed: the refresh finds it stale,
    // and places them again in their own region.
    const spare = await roomyNode('nbo');
    far.stall();
    await runInDurableObject(regionStubFor('nbo'), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = 0 WHERE node_id = ?', far.nodeId);
    });
    expect(await nairobi.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    expect((await nairobi.socket.next('media.assignment', (m) => m.media.nodeId !== far.nodeId)).media).toMatchObject({ nodeId: spare.nodeId, region: 'nbo' });
    expect(assignmentsTo(hostSeat.socket)).toEqual([]);
  });

  it('whose node drains moves to another node before the part closes there (make-before-break)', async () => {
    const { home, far, linkId, hostSeat, nairobi } = await meetingWithFarGuest(true);
    const spare = await roomyNode('nbo');

    const drained = await api('POST', `/api/fleet/regions/nbo/nodes/${far.nodeId}/drain`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: {} });
    expect(drained.status).toBe(200);
    const moved = await nairobi.socket.next('media.assignment');
    expect(moved.media.nodeId).toBe(spare.nodeId);
    expect(await admittedNodes(linkId)).toEqual([spare.nodeId]);
    expect(assignmentsTo(hostSeat.socket)).toEqual([]);
    // The draining node keeps its part while Nia's page moves, and closes it once the grace ends.
    expect(far.commands('closeMeeting')).toEqual([]);
    await endNairobiGrace(linkId);
    // With the edge's close time: the node refuses the part's earlier tokens, not later ones.
    expect(await far.command('closeMeeting', linkId)).toMatchObject({ meetingId: linkId, why: 'moved', closedAt: expect.any(Number) });
    expect(home.commands('closeMeeting')).toEqual([]);
  });
});

describe('the client location header', () => {
  it('is ignored unless the deployment trusts it (a local run): a client cannot pick its media region', async () => {
    const home = await roomyNode('sfo');
    await roomyNode('nbo');
    const { linkId } = await configureMeeting(host.user.id);
    await joinFrom(linkId, SAN_FRANCISCO, {}, host.token);
    const joined = await SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [LOCATION_HEADER]: `${NAIROBI.latitude},${NAIROBI.longitude}` },
      body: JSON.stringify({ displayName: 'Claims Nairobi' }),
      cf: SAN_FRANCISCO,
    });
    expect(joined.status).toBe(200);
    expect(((await joined.json()) as { media: { nodeId: string } }).media.nodeId).toBe(home.nodeId);
  });

  it('reads "latitude,longitude" in degrees and refuses anything else (where it is trusted)', () => {
    expect(locationHeaderSchema.parse(' 40.7128, -74.0060 ')).toEqual({ latitude: '40.7128', longitude: '-74.0060' });
    for (const bad of ['91,0', '0,181', 'London', '1,2,3', '', `${'1'.repeat(30)},1`]) expect(locationHeaderSchema.safeParse(bad).success, bad).toBe(false);
  });
});

describe('a large meeting whose node lacks headroom', () => {
  it(`spills onto a second node of its region once it has ${SPILL_CHECK_FROM_PARTICIPANTS} participants`, async () => {
    const first = await roomyNode('sfo');
    const { linkId } = await configureMeeting(host.user.id);
    const seats = [await joinFrom(linkId, SAN_FRANCISCO, {}, host.token)];
    expect(seats[0]!.nodeId).toBe(first.nodeId);
    while (seats.length < SPILL_CHECK_FROM_PARTICIPANTS - 1) seats.push(await joinFrom(linkId, SAN_FRANCISCO, { displayName: `Guest ${seats.length}` }));
    expect(new Set(seats.map((seat) => seat.nodeId))).toEqual(new Set([first.nodeId]));

    // The meeting's node fills up (its own report), and a second node joins the region.
    first.heartbeat({ ...ROOMY, consumers: ROOMY.consumerCapacity });
    await expect.poll(async () => (await regionStubFor('sfo').fleet()).find((node) => node.nodeId === first.nodeId)?.load.consumers).toBe(ROOMY.consumerCapacity);
    const second = await roomyNode('sfo');
    const spilled = await joinFrom(linkId, SAN_FRANCISCO, { displayName: 'Spill' });
    expect(spilled.nodeId).toBe(second.nodeId);
    expect(await admittedNodes(linkId)).toEqual([second.nodeId]);
    // The next newcomer joins the node the meeting already spilled onto.
    expect((await joinFrom(linkId, SAN_FRANCISCO, { displayName: 'Spill two' })).nodeId).toBe(second.nodeId);
  });

  it('counts the newcomers it just sent to a node before the node reports them: a burst does not overfill it', async () => {
    const first = await roomyNode('sfo');
    const { linkId } = await configureMeeting(host.user.id);
    const seats = [await joinFrom(linkId, SAN_FRANCISCO, {}, host.token)];
    expect(seats[0]!.nodeId).toBe(first.nodeId);
    while (seats.length < SPILL_CHECK_FROM_PARTICIPANTS - 1) seats.push(await joinFrom(linkId, SAN_FRANCISCO, { displayName: `Guest ${seats.length}` }));

    // The node reports a load just under its limit, its own meeting's reservation included: room
    // for one more newcomer of this meeting (2 × (19 + 19) consumers), not for two.
    const policy = DEFAULT_PLACEMENT_POLICY;
    const nearlyFull = Math.floor(ROOMY.consumerCapacity * policy.maxConsumerUtilisation) - policy.consumersPerNewRoom - 100;
    first.heartbeat({ ...ROOMY, consumers: nearlyFull });
    await expect.poll(async () => (await regionStubFor('sfo').fleet()).find((node) => node.nodeId === first.nodeId)?.load.consumers).toBe(nearlyFull);
    const second = await roomyNode('sfo');
    // Both arrive before the node's next report could show the first of them.
    expect((await joinFrom(linkId, SAN_FRANCISCO, { displayName: 'Burst one' })).nodeId).toBe(first.nodeId);
    expect((await joinFrom(linkId, SAN_FRANCISCO, { displayName: 'Burst two' })).nodeId).toBe(second.nodeId);
  });
});
