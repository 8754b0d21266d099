import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import type { RegionDO } from './region-do.js';
import { paceNotice } from './room-moves.js';
import { MOVES_PER_SHARD_PER_SECOND } from './shards.js';

const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

describe('paced notices after a node is written off', () => {
  it('tells the first second’s worth at once, then one every 1/pace s, carrying over between calls', () => {
    let queuedUntil = 0;
    const at: number[] = [];
    for (let i = 0; i < 3 * MOVES_PER_SHARD_PER_SECOND; i++) {
      const paced = paceNotice(queuedUntil, 1_000);
      at.push(paced.notifyAt);
      queuedUntil = paced.queuedUntil;
    }
    expect(at.slice(0, MOVES_PER_SHARD_PER_SECOND).every((t) => t === 1_000)).toBe(true);
    expect(at[MOVES_PER_SHARD_PER_SECOND]).toBe(2_000);
    expect(at.at(-1)).toBeCloseTo(1_000 + 3_000 - 1_000 / MOVES_PER_SHARD_PER_SECOND);
    // A later loss queues behind the earlier one; an idle queue starts afresh.
    expect(paceNotice(queuedUntil, 1_500).notifyAt).toBeCloseTo(queuedUntil);
    expect(paceNotice(queuedUntil, 10_000)).toEqual({ notifyAt: 10_000, queuedUntil: 10_000 + 1_000 / MOVES_PER_SHARD_PER_SECOND });
  });

  it('the RegionDO queues a written-off node’s rooms behind an earlier loss still being told, and its alarm tells them', async () => {
    const region = regionStubFor('nbo');
    const dying = await connectFakeNode({ region: 'nbo', load: { consumers: 0 } });
    nodes.push(dying);
    const meetings = Array.from({ length: 3 }, (_, i) => `mpace${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}${i}`);
    for (const meeting of meetings) expect((await region.place(meeting))?.nodeId).toBe(dying.nodeId);
    dying.stall();
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, dying.nodeId);
      state.storage.sql.exec('UPDATE liveness_alarm SET deferred_until = 0');
      // Rooms of an earlier loss are still being told for the next minute.
      state.storage.sql.exec('INSERT INTO notice_pace (id, queued_until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET queued_until = excluded.queued_until', Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(region)).toBe(true);
    const queued = () =>
      runInDurableObject(region, (_instance: RegionDO, state) => state.storage.sql.exec<{ meeting_link_id: string; due_at: number }>('SELECT meeting_link_id, due_at FROM move_notices').toArray());
    const waiting = await queued();
    expect(waiting.map((row) => row.meeting_link_id).sort()).toEqual([...meetings].sort());
    expect(Math.min(...waiting.map((row) => row.due_at))).toBeGreaterThan(Date.now() + 50_000);
    // Their time comes: the alarm tells them and forgets the notices.
    await runInDurableObject(region, (_instance: RegionDO, state) => {
      state.storage.sql.exec('UPDATE move_notices SET due_at = 0');
    });
    expect(await runDurableObjectAlarm(region)).toBe(true);
    expect(await queued()).toEqual([]);
  });
});
