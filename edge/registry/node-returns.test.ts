import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { api } from '../test/helpers.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { NodeStore } from './node-store.js';
import { MIGRATION_GRACE_MS, RoomMoves } from './room-moves.js';
import type { RegionDO } from './region-do.js';

/**
 * A node coming back, and a move in progress, as operators and rooms rely on: a drain ordered while
 * the node was down reaches it; a meeting taken from a node that only paused is closed there; a
 * drained node keeps a meeting until its room has been told to move (and the grace after).
 */
const REGION = 'sfo';
const ADMIN = { Authorization: `Bearer ${'test-admin-token-0123456789'}` };

const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});
async function node(options: Parameters<typeof connectFakeNode>[0] = {}): Promise<FakeNode> {
  const fake = await connectFakeNode({ region: REGION, ...options });
  nodes.push(fake);
  return fake;
}
const meetingLinkId = () => crypto.randomUUID().replaceAll('-', '').slice(0, 22);
const region = () => regionStubFor(REGION);
async function fleetNode(nodeId: string) {
  return (await region().fleet()).find((n) => n.nodeId === nodeId) ?? null;
}
function assign(meeting: string, nodeId: string) {
  return runInDurableObject(region(), (_instance: RegionDO, state) => new NodeStore(state.storage.sql).assign(meeting, nodeId, Date.now()));
}

describe('operator drain of a node that is down', () => {
  it('answers 200, marks the node draining, and the node is told to drain when it returns', async () => {
    const fake = await node();
    fake.crash();
    await expect.poll(async () => (await fleetNode(fake.nodeId))?.state).toBe('down');

    const drained = await api('POST', `/api/fleet/regions/${REGION}/nodes/${fake.nodeId}/drain`, { headers: ADMIN, json: {} });
    expect(drained.status).toBe(200);

    const back = await node({ nodeId: fake.nodeId });
    // The registry treats it as draining from now on (no new rooms, its rooms are moved off)…
    expect((await fleetNode(back.nodeId))?.state).toBe('draining');
    // …and the node itself gets the drain the operator asked for (else it would never drain or exit).
    await expect(back.inbox.next((m) => m.type === 'command' && m.command.command === 'drain', 3_000, 'drain command')).resolves.toBeTruthy();
  });
});

describe('a meeting taken from a silent node that recovers by heartbeat', () => {
  it('is closed on the old node (never served by two nodes)', async () => {
    const silent = await node({ heartbeats: false });
    const spare = await node();
    const meeting = meetingLinkId();
    await assign(meeting, silent.nodeId);

    // The node stalls past the heartbeat timeout while the registry's verdict is deferred
    // (late alarm / quiet registry: liveness.ts judgeSilence) — it is not written off.
    await runInDurableObject(region(), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 10_000, silent.nodeId);
      state.storage.sql.exec('UPDATE liveness_alarm SET deferred_until = ?', Date.now() + 60_000);
    });
    // The room re-places itself meanwhile (confirmAssignment → serves false → place): it moves.
    const moved = await region().place(meeting, 3);
    expect(moved?.nodeId).toBeDefined();
    expect(moved?.nodeId).not.toBe(silent.nodeId);
    void spare;

    // The node was only paused: its heartbeats resume, it was never written off, it never says hello.
    silent.heartbeat();
    await expect.poll(async () => (await fleetNode(silent.nodeId))?.excludedBecause).toEqual([]);

    // "Taken from a node gone silent: it closes the meeting if it returns" (region-do.ts place).
    await expect(silent.inbox.next((m) => m.type === 'command' && m.command.command === 'closeMeeting', 3_000, 'closeMeeting for the moved meeting')).resolves.toBeTruthy();
  });
});

describe('make-before-break while notices are paced', () => {
  it('keeps a drained node’s meeting until its room was told to move, then the grace', async () => {
    const leaving = await node();
    await node();
    const meeting = meetingLinkId();
    await assign(meeting, leaving.nodeId);
    // Rooms of an earlier loss in this shard are still being told for the next minute (room-moves.ts paceNotice).
    await runInDurableObject(region(), (_instance: RegionDO, state) => {
      state.storage.sql.exec(
        'INSERT INTO notice_pace (id, queued_until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET queued_until = excluded.queued_until',
        Date.now() + 60_000,
      );
    });
    expect((await api('POST', `/api/fleet/regions/${REGION}/nodes/${leaving.nodeId}/drain`, { headers: ADMIN, json: {} })).status).toBe(200);

    // MIGRATION_GRACE_MS (20 s) passes; the room's notice is due only ~60 s from now.
    await runInDurableObject(region(), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE moved_meetings SET close_at = 0 WHERE node_id = ? AND close_at IS NOT NULL', leaving.nodeId);
    });
    await runDurableObjectAlarm(region());

    const noticePending = await runInDurableObject(
      region(),
      (_instance: RegionDO, state) => state.storage.sql.exec('SELECT 1 FROM move_notices WHERE meeting_link_id = ? AND node_id = ?', meeting, leaving.nodeId).toArray().length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const closedOnOldNode = leaving.commands('closeMeeting').some((c) => c.command === 'closeMeeting' && c.meetingId === meeting);
    // The room has not been told to move yet (its notice waits behind the earlier loss)…
    expect(noticePending).toBe(true);
    // …so make-before-break says the old node must not close the meeting yet.
    expect(closedOnOldNode, 'old node told to close the meeting before its room was told to move').toBe(false);
    // Once the notice goes out, the meeting's close waits a whole grace from then.
    const closeAt = await runInDurableObject(region(), (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE move_notices SET due_at = 0 WHERE meeting_link_id = ? AND node_id = ?', meeting, leaving.nodeId);
      return new RoomMoves(state.storage.sql).noticesDue(Date.now()).length > 0 ? state.storage.sql.exec<{ close_at: number }>('SELECT close_at FROM moved_meetings WHERE meeting_link_id = ? AND node_id = ?', meeting, leaving.nodeId).one().close_at : null;
    });
    expect(closeAt).toBeGreaterThanOrEqual(Date.now() + MIGRATION_GRACE_MS - 5_000);
  });
});
