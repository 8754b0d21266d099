import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { edgeConfig } from '../config.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetResponseSchema } from '../../schema/wire/http.js';
import { api } from '../test/helpers.js';
import { deriveNodeCredential, mintNodeCredential, verifyNodeIdentity } from './credentials.js';
import { connectFakeNode, nodeLoad, openNodeSocket, regionStubFor, uniqueNodeId, type FakeNode } from '../test/kits/fake-node.js';
import type { RegionDO } from './region-do.js';

const ADMIN = { Authorization: `Bearer ${'test-admin-token-0123456789'}` };
const nodes: FakeNode[] = [];
async function node(options: Parameters<typeof connectFakeNode>[0] = {}) {
  const fake = await connectFakeNode(options);
  nodes.push(fake);
  return fake;
}
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

/** The deferred verdict is due now: the alarm re-checks the silent nodes. */
async function recheckNow(region: ReturnType<typeof regionStubFor>) {
  await runInDurableObject(region, (_instance: RegionDO, state) => {
    state.storage.sql.exec('UPDATE liveness_alarm SET deferred_until = 0 WHERE deferred_until IS NOT NULL');
  });
  expect(await runDurableObjectAlarm(region)).toBe(true);
}

async function fleetNode(region: 'lon' | 'fra' | 'sin' | 'syd', nodeId: string) {
  return (await regionStubFor(region).fleet()).find((n) => n.nodeId === nodeId) ?? null;
}

describe('node credentials', () => {
  it('verifies only the HMAC of node id and region under the secret; the node-id-only form is refused', async () => {
    const good = await mintNodeCredential('secret', { nodeId: 'media-1', region: 'lon' });
    expect(await verifyNodeIdentity('secret', good)).toEqual({ nodeId: 'media-1', region: 'lon' });
    expect(await verifyNodeIdentity('other-secret', good)).toBeNull();
    expect(await verifyNodeIdentity('secret', good.replace('media-1', 'media-2'))).toBeNull();
    expect(await verifyNodeIdentity('secret', 'media-1.')).toBeNull();
    expect(await verifyNodeIdentity('secret', 'no-dot')).toBeNull();
    // The older `<nodeId>.<HMAC(nodeId)>` is not region-bound: it no longer verifies, nor opens a socket.
    const old = await deriveNodeCredential('secret', 'media-1');
    expect(await verifyNodeIdentity('secret', old)).toBeNull();
    const nodeId = uniqueNodeId();
    const refused = await openNodeSocket(nodeId, 'lon', await deriveNodeCredential(edgeConfig(env).nodeCredentialSecret, nodeId));
    expect(refused.status).toBe(401);
    expect(await fleetNode('lon', nodeId)).toBeNull();
  });

  it('refuses a node without a valid credential before any socket exists', async () => {
    const nodeId = uniqueNodeId();
    const forged = await openNodeSocket(nodeId, 'lon', `${nodeId}.${'A'.repeat(43)}`);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as any).error.code).toBe('INVALID_CREDENTIALS');
    const missing = await openNodeSocket(nodeId, 'lon', 'x');
    expect(missing.status).toBe(401);
    const badRegion = await openNodeSocket(nodeId, 'mci' as 'lon');
    expect(badRegion.status).toBe(400);
    expect(await fleetNode('lon', nodeId)).toBeNull();
  });

  it('registers a node on hello and records its heartbeats', async () => {
    const fake = await node({ region: 'fra' });
    expect((await fleetNode('fra', fake.nodeId))?.state).toBe('serving');
    fake.heartbeat({ consumers: 321 });
    await expect.poll(async () => (await fleetNode('fra', fake.nodeId))?.load.consumers).toBe(321);
  });

  it('refuses a hello that names another node or region than the credential', async () => {
    const fake = await node({ hello: false });
    fake.send({ type: 'hello', node: { nodeId: 'someone-else', region: 'lon', signalingUrl: 'ws://x.test', announcedAddress: '1.2.3.4', rtcPorts: [], version: 't' }, state: 'serving', load: nodeLoad() });
    expect(await fake.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
    fake.send({ type: 'hello', node: { nodeId: fake.nodeId, region: 'fra', signalingUrl: 'ws://x.test', announcedAddress: '1.2.3.4', rtcPorts: [], version: 't' }, state: 'serving', load: nodeLoad() });
    await expect.poll(() => fake.inbox.received.filter((m) => m.type === 'error').length).toBe(2);
    expect(await fleetNode('lon', 'someone-else')).toBeNull();
    expect(await fleetNode('lon', fake.nodeId)).toBeNull();
  });
});

describe('malformed node messages', () => {
  const cases: { name: string; frame: unknown; code: string }[] = [
    { name: 'not JSON', frame: '{nope', code: 'BAD_REQUEST' },
    { name: 'unknown type', frame: { type: 'selfDestruct' }, code: 'UNKNOWN_MESSAGE' },
    { name: 'hello without identity', frame: { type: 'hello', state: 'serving', load: {} }, code: 'VALIDATION_FAILED' },
    { name: 'heartbeat with negative load', frame: { type: 'heartbeat', nodeId: 'x-1', state: 'serving', load: { consumers: -5 }, sentAt: 1 }, code: 'VALIDATION_FAILED' },
    { name: 'heartbeat with unknown state', frame: { type: 'heartbeat', nodeId: 'x-1', state: 'exploding', load: nodeLoad(), sentAt: 1 }, code: 'VALIDATION_FAILED' },
    { name: 'commandResult without id', frame: { type: 'commandResult', ok: true }, code: 'VALIDATION_FAILED' },
    { name: 'event of unknown kind', frame: { type: 'event', event: { event: 'meteor' } }, code: 'VALIDATION_FAILED' },
    { name: 'recording event with a bad meeting id', frame: { type: 'event', event: { event: 'recordingStatus', meetingId: '../etc', recordingId: crypto.randomUUID(), status: 'ready' } }, code: 'VALIDATION_FAILED' },
  ];

  it('answers every malformed message with an error code, keeps the socket and changes nothing', async () => {
    const fake = await node({ region: 'syd', load: { consumers: 10 } });
    const before = await fleetNode('syd', fake.nodeId);
    for (const [index, testCase] of cases.entries()) {
      fake.send(typeof testCase.frame === 'string' ? testCase.frame : (testCase.frame as Record<string, unknown>));
      await expect.poll(() => fake.inbox.received.filter((m) => m.type === 'error').length).toBe(index + 1);
      const errors = fake.inbox.received.filter((m) => m.type === 'error');
      expect(errors[index], testCase.name).toMatchObject({ code: testCase.code });
    }
    const after = await fleetNode('syd', fake.nodeId);
    expect(after?.load).toEqual(before?.load);
    expect(after?.state).toBe('serving');
    // The socket is still usable.
    fake.heartbeat({ consumers: 11 });
    await expect.poll(async () => (await fleetNode('syd', fake.nodeId))?.load.consumers).toBe(11);
  });

  it('refuses heartbeats before hello without registering the node', async () => {
    const fake = await node({ hello: false, region: 'sin' });
    fake.heartbeat();
    expect(await fake.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await fleetNode('sin', fake.nodeId)).toBeNull();
  });
});

describe('liveness and placement', () => {
  it('marks a node whose heartbeats stopped as down (alarm) and moves its rooms on the next placement', async () => {
    const region = regionStubFor('lon');
    const dying = await node({ load: { consumers: 0 } });
    const meeting = `m${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`;
    // Nodes of earlier tests are retired (draining), so the dying node is the only candidate.
    const first = await region.place(meeting);
    expect(first?.nodeId).toBe(dying.nodeId);
    // Heartbeats stop: move the clock of its last heartbeat back past the timeout.
    dying.stall();
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, first!.nodeId);
    });
    expect(await runDurableObjectAlarm(region)).toBe(true);
    expect((await fleetNode('lon', first!.nodeId))?.state).toBe('down');
    expect((await fleetNode('lon', first!.nodeId))?.rooms).toBe(0);
    const healthy = await node({ load: { consumers: 0 } });
    const second = await region.place(meeting);
    expect(second?.nodeId).toBe(healthy.nodeId);
    expect((await fleetNode('lon', healthy.nodeId))?.rooms).toBe(1);
    // The down node's control socket was closed by the edge.
    await expect.poll(() => dying.ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('a late alarm (the loop was starved) writes nobody off; a node still silent one interval later is', async () => {
    const region = regionStubFor('syd');
    const [held, dead] = [await node({ region: 'syd' }), await node({ region: 'syd' })];
    // The box was starved: the alarm fires 10 s after it was due, both heartbeats look 10 s old,
    // and the live node's are still unread in its socket.
    held.stall();
    dead.stall();
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id IN (?, ?)', Date.now() - 10_000, held.nodeId, dead.nodeId);
      state.storage.sql.exec('UPDATE liveness_alarm SET scheduled_at = ?', Date.now() - 10_000);
    });
    expect(await runDurableObjectAlarm(region)).toBe(true);
    expect((await fleetNode('syd', held.nodeId))?.state).toBe('serving');
    expect((await fleetNode('syd', dead.nodeId))?.state).toBe('serving');
    expect(dead.ws.readyState).toBe(WebSocket.OPEN);
    // The held-up heartbeats are read; one interval on, only the node that stayed silent goes.
    const before = (await fleetNode('syd', held.nodeId))!.lastHeartbeatAt;
    held.startHeartbeats();
    await expect.poll(async () => (await fleetNode('syd', held.nodeId))?.lastHeartbeatAt).toBeGreaterThan(before);
    await recheckNow(region);
    expect((await fleetNode('syd', held.nodeId))?.state).toBe('serving');
    expect((await fleetNode('syd', dead.nodeId))?.state).toBe('down');
    await expect.poll(() => dead.ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('no node heard from lately (all went quiet together) on an on-time alarm: one more interval, then only the still-silent ones go', async () => {
    const region = regionStubFor('syd');
    const [slow, gone] = [await node({ region: 'syd' }), await node({ region: 'syd' })];
    slow.stall();
    gone.stall();
    // The registry restarted: nobody was heard for 3 s — not yet past the timeout for one node, long past it for the other.
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 3_000, slow.nodeId);
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 10_000, gone.nodeId);
    });
    expect(await runDurableObjectAlarm(region)).toBe(true);
    expect((await fleetNode('syd', slow.nodeId))?.state).toBe('serving');
    expect((await fleetNode('syd', gone.nodeId))?.state).toBe('serving');
    // An alarm for something else (a make-before-break close) before the re-check judges nobody.
    expect(await runDurableObjectAlarm(region)).toBe(true);
    expect((await fleetNode('syd', gone.nodeId))?.state).toBe('serving');
    const before = (await fleetNode('syd', slow.nodeId))!.lastHeartbeatAt;
    slow.heartbeat();
    await expect.poll(async () => (await fleetNode('syd', slow.nodeId))?.lastHeartbeatAt).toBeGreaterThan(before);
    await recheckNow(region);
    expect((await fleetNode('syd', slow.nodeId))?.state).toBe('serving');
    expect((await fleetNode('syd', gone.nodeId))?.state).toBe('down');
  });

  it('places on the least-loaded serving node and keeps a meeting on its node', async () => {
    const busy = await node({ region: 'fra', load: { consumers: 600 } });
    const idle = await node({ region: 'fra', load: { consumers: 50 } });
    const draining = await node({ region: 'fra', load: { consumers: 0 }, state: 'draining' });
    const region = regionStubFor('fra');
    const meeting = `p${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`;
    const placed = await region.place(meeting);
    expect(placed?.nodeId).toBe(idle.nodeId);
    expect(placed?.nodeId).not.toBe(draining.nodeId);
    expect(placed?.nodeId).not.toBe(busy.nodeId);
    // Even if another node becomes emptier, the meeting stays where it is.
    idle.heartbeat({ consumers: 400 });
    await expect.poll(async () => (await fleetNode('fra', idle.nodeId))?.load.consumers).toBe(400);
    expect((await region.place(meeting))?.nodeId).toBe(idle.nodeId);
    expect((await fleetNode('fra', idle.nodeId))?.rooms).toBe(1);
  });
});

describe('fleet API', () => {
  it('needs the admin token', async () => {
    expect((await api('GET', '/api/fleet/regions')).status).toBe(401);
    expect((await api('GET', '/api/fleet/regions', { token: 'wrong-token' })).body.error.code).toBe('UNAUTHENTICATED');
  });

  it('lists every region with its nodes, load and plan counts', async () => {
    const fake = await node({ region: 'sin', load: { consumers: 77 } });
    const response = await api('GET', '/api/fleet/regions', { headers: ADMIN });
    expect(response.status).toBe(200);
    const fleet = fleetResponseSchema.parse(response.body);
    expect(fleet.regions.map((r) => r.id)).toHaveLength(12);
    const sin = fleet.regions.find((r) => r.id === 'sin')!;
    expect(sin.baselineNodes).toBeGreaterThan(0);
    expect(sin.reserveNodes).toBe(2);
    expect(sin.nodes.find((n) => n.nodeId === fake.nodeId)).toMatchObject({ state: 'serving', load: { consumers: 77 } });
    expect(fleet.regions.find((r) => r.id === 'mci')!.nodes).toEqual([]);
  });

  it('drains a node: state draining, drain command sent, no new rooms placed on it', async () => {
    const fake = await node({ region: 'syd', load: { consumers: 0 } });
    const response = await api('POST', `/api/fleet/regions/syd/nodes/${fake.nodeId}/drain`, { headers: ADMIN, json: {} });
    expect(response.status).toBe(200);
    expect(response.body.node).toMatchObject({ nodeId: fake.nodeId, state: 'draining' });
    expect(await fake.command('drain')).toEqual({ command: 'drain' });
    // The node's own "serving" heartbeat does not undo an operator's drain.
    fake.heartbeat({}, 'serving');
    await expect.poll(async () => (await fleetNode('syd', fake.nodeId))?.lastHeartbeatAt).toBeGreaterThan(0);
    expect((await fleetNode('syd', fake.nodeId))?.state).toBe('draining');
    const placed = await regionStubFor('syd').place(`d${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`);
    expect(placed?.nodeId ?? null).not.toBe(fake.nodeId);
    expect((await api('POST', '/api/fleet/regions/syd/nodes/no-such-node/drain', { headers: ADMIN })).body.error.code).toBe('NODE_NOT_FOUND');
    expect((await api('POST', '/api/fleet/regions/atlantis/nodes/x-1/drain', { headers: ADMIN })).status).toBe(400);
  });

  it('keeps a command for a node whose new socket has not said hello yet and sends it after the hello, until the node answers', async () => {
    const first = await node({ region: 'sin' });
    const meetingId = `c${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`;
    // The node reconnects: its new socket replaces the old one, which closing does not write it off.
    const second = await node({ region: 'sin', nodeId: first.nodeId, hello: false });
    await expect.poll(() => first.ws.readyState).toBe(WebSocket.CLOSED);
    expect((await fleetNode('sin', first.nodeId))?.state).toBe('serving');
    const sent = await regionStubFor('sin').sendCommand(first.nodeId, { command: 'closeParticipant', meetingId, participantId: 'removed-person', reason: 'removed by host' });
    expect(sent).toMatchObject({ ok: true, value: { delivered: false } });

    // Its hello on the new socket: the command arrives right after the welcome.
    await second.hello();
    const replayed = await second.inbox.next((m) => m.type === 'command');
    expect(replayed).toMatchObject({ type: 'command', command: { command: 'closeParticipant', meetingId, participantId: 'removed-person' } });
    const commandId = (replayed as { commandId: string }).commandId;
    expect(commandId).toBe(sent.ok ? sent.value.commandId : null);

    // Not answered yet → sent again on the next reconnect; answered → never again.
    const again = await node({ region: 'sin', nodeId: first.nodeId });
    await again.inbox.next((m) => m.type === 'command' && m.commandId === commandId);
    again.send({ type: 'commandResult', commandId, ok: true });
    await expect.poll(async () => (await runInDurableObject(regionStubFor('sin'), (_instance: RegionDO, state) => state.storage.sql.exec('SELECT count(*) AS n FROM node_commands WHERE node_id = ?', first.nodeId).one().n))).toBe(0);
    const last = await node({ region: 'sin', nodeId: first.nodeId });
    last.heartbeat();
    await expect.poll(async () => (await fleetNode('sin', first.nodeId))?.lastHeartbeatAt).toBeGreaterThan(0);
    expect(last.inbox.received.filter((m) => m.type === 'command')).toEqual([]);
    expect((await fleetNode('sin', first.nodeId))?.state).toBe('serving');

    // An unknown node gets nothing queued.
    expect(await regionStubFor('sin').sendCommand('no-such-node', { command: 'drain' })).toMatchObject({ ok: false, code: 'NODE_NOT_FOUND' });
  });
});
