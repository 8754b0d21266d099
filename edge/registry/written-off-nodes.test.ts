import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { NodeStore, WRITTEN_OFF_RETENTION_MS } from './node-store.js';
import type { RegionDO } from './region-do.js';

/**
 * Nodes come and go (an operator replaces VMs, an autoscaler adds and retires them, each with a new
 * id). The registry keeps a written-off node in the fleet for a while, then forgets it: it must not
 * hold every node the region ever had, and placement (on every room's first join) reads only
 * the nodes it can choose.
 */
const REGION = 'syd';
const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});
async function node(options: Parameters<typeof connectFakeNode>[0] = {}): Promise<FakeNode> {
  const fake = await connectFakeNode({ region: REGION, ...options });
  nodes.push(fake);
  return fake;
}
const region = () => regionStubFor(REGION);
const fleetIds = async () => (await region().fleet()).map((n) => n.nodeId);
const storeDo = <T>(run: (store: NodeStore, sql: SqlStorage) => T) => runInDurableObject(region(), (_instance: RegionDO, state) => run(new NodeStore(state.storage.sql), state.storage.sql));

describe('written-off nodes', () => {
  it('are forgotten a retention after they were last heard from; recent ones and live ones stay', async () => {
    const live = await node();
    const longGone = await node();
    const recentlyGone = await node();
    longGone.crash();
    recentlyGone.crash();
    const mine = [longGone.nodeId, recentlyGone.nodeId];
    await expect.poll(async () => (await region().fleet()).filter((n) => n.state === 'down' && mine.includes(n.nodeId)).length).toBe(2);

    // One of them was last heard from longer ago than the fleet keeps written-off nodes.
    await storeDo((_store, sql) => sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - WRITTEN_OFF_RETENTION_MS - 1_000, longGone.nodeId));
    // Placement never reads a written-off node, even before it is forgotten.
    expect((await storeDo((store) => store.live())).map((n) => n.nodeId)).not.toContain(recentlyGone.nodeId);

    live.heartbeat();
    expect(await runDurableObjectAlarm(region())).toBe(true);
    const after = await fleetIds();
    expect(after).not.toContain(longGone.nodeId);
    expect(after).toEqual(expect.arrayContaining([live.nodeId, recentlyGone.nodeId]));

    // Should it come back after all, it registers afresh with its hello and serves again.
    const back = await node({ nodeId: longGone.nodeId });
    expect((await region().fleet()).find((n) => n.nodeId === back.nodeId)?.state).toBe('serving');
  });

  it('a written-off node still named as serving part of a meeting is kept', async () => {
    const live = await node();
    const gone = await node();
    gone.crash();
    await expect.poll(async () => (await region().fleet()).find((n) => n.nodeId === gone.nodeId)?.state).toBe('down');
    await storeDo((store, sql) => {
      sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - WRITTEN_OFF_RETENTION_MS - 1_000, gone.nodeId);
      store.addPart(crypto.randomUUID().replaceAll('-', '').slice(0, 22), gone.nodeId, Date.now());
    });
    live.heartbeat();
    expect(await runDurableObjectAlarm(region())).toBe(true);
    expect(await fleetIds()).toContain(gone.nodeId);
  });
});
