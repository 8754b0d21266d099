import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { api } from '../test/helpers.js';
import { connectFakeNode, nodeLoad, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { NodeCommandQueue } from './command-queue.js';
import { NodeStore } from './node-store.js';
import type { RegionDO } from './region-do.js';
import { liftDrain } from './undrain.js';

// Rio de Janeiro: no other test file places nodes there, so this file's node is the region's only one.
const REGION = 'rio';
const ADMIN = { Authorization: `Bearer ${'test-admin-token-0123456789'}` };

const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});
async function node(): Promise<FakeNode> {
  const fake = await connectFakeNode({ region: REGION });
  nodes.push(fake);
  return fake;
}
const meetingLinkId = () => crypto.randomUUID().replaceAll('-', '').slice(0, 22);
const nodePath = (nodeId: string, action: 'drain' | 'undrain', region = REGION) => `/api/fleet/regions/${region}/nodes/${nodeId}/${action}`;

describe('POST /api/fleet/regions/:region/nodes/:nodeId/undrain', () => {
  it('puts a drained node back into placement', async () => {
    const fake = await node();
    expect((await api('POST', nodePath(fake.nodeId, 'drain'), { headers: ADMIN, json: {} })).body.node).toMatchObject({ state: 'draining' });
    expect(await regionStubFor(REGION).place(meetingLinkId())).toBeNull();

    const undrained = await api('POST', nodePath(fake.nodeId, 'undrain'), { headers: ADMIN, json: {} });
    expect(undrained.status).toBe(200);
    expect(undrained.body.node).toMatchObject({ nodeId: fake.nodeId, region: REGION, state: 'serving', excludedBecause: [] });
    expect((await regionStubFor(REGION).place(meetingLinkId()))?.nodeId).toBe(fake.nodeId);
    // The node's own serving heartbeats keep it serving: the drain is gone from the registry.
    fake.heartbeat({ rooms: 1 });
    await expect.poll(async () => (await regionStubFor(REGION).fleet()).find((n) => n.nodeId === fake.nodeId)?.state).toBe('serving');
  });

  it('leaves a node that drains itself (SIGTERM) draining: only the operator drain is lifted', async () => {
    const fake = await node();
    fake.heartbeat({}, 'draining');
    await expect.poll(async () => (await regionStubFor(REGION).fleet()).find((n) => n.nodeId === fake.nodeId)?.state).toBe('draining');
    const answer = await api('POST', nodePath(fake.nodeId, 'undrain'), { headers: ADMIN });
    expect(answer.status).toBe(200);
    expect(answer.body.node).toMatchObject({ state: 'draining', excludedBecause: ['draining'] });
  });

  it('answers NODE_NOT_FOUND for an unknown node, refuses without the admin token, and validates the path', async () => {
    const unknown = await api('POST', nodePath('no-such-node', 'undrain'), { headers: ADMIN });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NODE_NOT_FOUND');
    expect((await api('POST', nodePath('no-such-node', 'undrain'))).status).toBe(401);
    expect((await api('POST', nodePath('x-1', 'undrain', 'atlantis'), { headers: ADMIN })).status).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api('GET', '/api/openapi.json')).body;
    expect(doc.paths['/api/fleet/regions/{region}/nodes/{nodeId}/undrain'].post).toBeDefined();
  });
});

describe('liftDrain (the RegionDO side of undrain)', () => {
  it('clears the operator drain and withdraws a drain command the node has not confirmed; other commands stay', async () => {
    await runInDurableObject(regionStubFor(REGION), (_instance: RegionDO, state) => {
      const store = new NodeStore(state.storage.sql);
      const commands = new NodeCommandQueue(state.storage.sql);
      const nodeId = `lift-${crypto.randomUUID().slice(0, 8)}`;
      const now = Date.now();
      store.upsertHello({ nodeId, region: REGION, signalingUrl: 'ws://lift.media.test', announcedAddress: '127.0.0.1', rtcPorts: [], version: 'test' }, 'serving', nodeLoad(), now);
      store.markDraining(nodeId, now + 60_000);
      const meetingId = meetingLinkId();
      commands.add(nodeId, { command: 'closeMeeting', meetingId, reason: 'test' }, now);
      commands.add(nodeId, { command: 'drain', deadline: now + 60_000 }, now);

      expect(liftDrain(store, commands, nodeId, now)).toBe(true);
      expect(store.get(nodeId)).toMatchObject({ state: 'serving', drainDeadline: null });
      expect(commands.pending(nodeId, now).map(({ command }) => command)).toEqual([{ command: 'closeMeeting', meetingId, reason: 'test' }]);
      expect(liftDrain(store, commands, 'no-such-node', now)).toBe(false);
    });
  });
});
