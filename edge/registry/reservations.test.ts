import { afterEach, describe, expect, it } from 'vitest';
import { consumersPerRoom } from '../../schema/regions.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';

const nodes: FakeNode[] = [];
async function node(consumers: number) {
  const fake = await connectFakeNode({ region: 'bom', load: { consumers } });
  nodes.push(fake);
  return fake;
}
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

const meeting = () => `m${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`;
const fleetNode = async (nodeId: string) => (await regionStubFor('bom').fleet()).find((n) => n.nodeId === nodeId)!;

describe('RegionDO reservations for rooms still filling', () => {
  it('keeps reserving a new room after its node reported it with its first person, so the next room goes elsewhere', async () => {
    const region = regionStubFor('bom');
    const [emptiest, fuller] = [await node(0), await node(100)];
    expect((await region.place(meeting()))?.nodeId).toBe(emptiest.nodeId);
    // The host is in: the node reports the room with 2 consumers (its next heartbeat).
    emptiest.heartbeat({ rooms: 1, participants: 1, consumers: 2 });
    await expect.poll(async () => (await fleetNode(emptiest.nodeId)).load.consumers).toBe(2);
    // Reported 2 + reserved 180 for the room still filling > 100 on the other node.
    expect((await region.place(meeting()))?.nodeId).toBe(fuller.nodeId);
  });

  it('reserves a moved room at its size: one arriving with 20 people fits nowhere a new room would', async () => {
    const region = regionStubFor('bom');
    const spare = await node(300);
    // 300 + 760 consumers is past 85% of the fake node's 1,000.
    expect(consumersPerRoom(20)).toBe(760);
    expect(await region.place(meeting(), 20)).toBeNull();
    expect((await region.place(meeting(), 3))?.nodeId).toBe(spare.nodeId);
    expect((await fleetNode(spare.nodeId)).rooms).toBe(1);
  });

  it('drops the reservation of a room everyone left: it keeps its node through the grace, but not a new room\'s worth of it', async () => {
    const region = regionStubFor('bom');
    const only = await node(0);
    // 0 reported + four rooms' 180 reserved = 720; a fifth would make 900, past 85% of 1,000.
    const abandoned = meeting();
    for (const id of [abandoned, meeting(), meeting(), meeting()]) expect((await region.place(id))?.nodeId).toBe(only.nodeId);
    expect(await region.place(meeting())).toBeNull();
    // Its next heartbeat: no room there yet (nobody reached the node), or no more (everyone left).
    const before = (await fleetNode(only.nodeId)).lastHeartbeatAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    only.heartbeat({ rooms: 0, participants: 0, consumers: 0 });
    await expect.poll(async () => (await fleetNode(only.nodeId)).lastHeartbeatAt).toBeGreaterThan(before);
    expect(await region.place(meeting())).toBeNull();
    // The fleet shows why a node with nothing reported counts as full: 720 consumers reserved.
    expect((await fleetNode(only.nodeId)).reservedConsumers).toBe(720);
    await region.emptied(abandoned, only.nodeId);
    expect((await fleetNode(only.nodeId)).reservedConsumers).toBe(540);
    expect((await region.place(meeting()))?.nodeId).toBe(only.nodeId);
    // Its node is still its own: whoever comes back lands there.
    expect((await region.place(abandoned))?.nodeId).toBe(only.nodeId);
    expect((await fleetNode(only.nodeId)).rooms).toBe(5);
  });
});
