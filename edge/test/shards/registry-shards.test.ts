import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fleetResponseSchema } from '../../../schema/wire/http.js';
import type { RegionId } from '../../../schema/regions.js';
import { regionStub } from '../../durable-objects.js';
import { regionsByDistance } from '../../registry/region-choice.js';
import { shardOfNode, shardsToAsk } from '../../registry/shards.js';
import { api, registerUser } from '../helpers.js';
import { connectFakeNode, uniqueNodeId, type FakeNode } from '../kits/fake-node.js';
import { configureMeeting, joinMeeting, newLinkId, openRoomSocket, roomStub, type RoomClient } from '../kits/room-kit.js';
import { waitFor } from '../kits/wait.js';
import type { RoomDO } from '../../room/room-do.js';

// edge/vitest.shards.config.ts sets REGISTRY_SHARDS=nbo=2,syd=3; every other region has one RegionDO.
const NBO_SHARDS = 2;
const SYD_SHARDS = 3;
const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };
const SYDNEY = { latitude: '-33.8688', longitude: '151.2093' };
const ADMIN = { Authorization: `Bearer ${'test-admin-token-0123456789'}` };
/** Consumers a fake node reports as its capacity: all in use leaves no headroom for a meeting. */
const FULL = { consumers: 1_000, consumerCapacity: 1_000 };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Sharded Shiro');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

/** A node numbered so that it reports to `shard` (nodes are provisioned numbered per region). */
async function nodeOn(region: RegionId, shards: number, shard: number, options: Parameters<typeof connectFakeNode>[0] = {}): Promise<FakeNode> {
  const serial = Number(/(\d+)$/.exec(uniqueNodeId())![1]);
  const nodeId = `${region}-${crypto.randomUUID().slice(0, 6)}-${String(serial * shards + shard).padStart(4, '0')}`;
  expect(shardOfNode(nodeId, shards)).toBe(shard);
  const fake = await connectFakeNode({ region, nodeId, ...options });
  cleanup.push(() => fake.retire());
  return fake;
}

/** A meeting whose link id hashes to `shard` of a region with `shards`. */
async function meetingOnShard(shards: number, shard: number) {
  let linkId = newLinkId();
  while (shardsToAsk(linkId, shards)[0] !== shard) linkId = newLinkId();
  return configureMeeting(host.user.id, { linkId });
}

async function shardFleet(region: RegionId, shard: number) {
  return regionStub(env, region, shard).fleet();
}

async function joinAndConnect(linkId: string, cf: typeof NAIROBI): Promise<{ nodeId: string; socket: RoomClient }> {
  const joined = await joinMeeting(linkId, {}, { cf, token: host.token });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  const socket = await openRoomSocket(linkId, joined.body.roomSession);
  cleanup.push(() => socket.close());
  await socket.next('welcome');
  return { nodeId: joined.body.media.nodeId, socket };
}

describe('nodes and the fleet over registry shards', () => {
  it('connects each node to the shard of its number, and the fleet route lists every shard', async () => {
    const zero = await nodeOn('nbo', NBO_SHARDS, 0);
    const one = await nodeOn('nbo', NBO_SHARDS, 1);
    const onZero = (await shardFleet('nbo', 0)).map((n) => n.nodeId);
    const onOne = (await shardFleet('nbo', 1)).map((n) => n.nodeId);
    expect(onZero).toContain(zero.nodeId);
    expect(onZero).not.toContain(one.nodeId);
    expect(onOne).toContain(one.nodeId);
    expect(onOne).not.toContain(zero.nodeId);

    const fleet = fleetResponseSchema.parse((await api('GET', '/api/fleet/regions', { headers: ADMIN })).body);
    const nbo = fleet.regions.find((region) => region.id === 'nbo')!;
    expect(nbo.nodes.filter((n) => n.state === 'serving').map((n) => n.nodeId)).toEqual(expect.arrayContaining([zero.nodeId, one.nodeId]));
    expect(nbo.nodes.map((n) => n.nodeId)).toEqual([...nbo.nodes.map((n) => n.nodeId)].sort());
  });

  it('drains and undrains, through the fleet route, a node on a non-zero shard; its meeting moves to the other shard', async () => {
    const meeting = await meetingOnShard(NBO_SHARDS, 1);
    const drained = await nodeOn('nbo', NBO_SHARDS, 1);
    const spare = await nodeOn('nbo', NBO_SHARDS, 0);
    const seat = await joinAndConnect(meeting.linkId, NAIROBI);
    expect(seat.nodeId).toBe(drained.nodeId);

    const response = await api('POST', `/api/fleet/regions/nbo/nodes/${drained.nodeId}/drain`, { headers: ADMIN, json: {} });
    expect(response.status).toBe(200);
    expect(response.body.node).toMatchObject({ nodeId: drained.nodeId, state: 'draining' });
    expect(await drained.command('drain')).toEqual({ command: 'drain' });
    // Its own shard has no other node: the room asks the next shard.
    expect((await seat.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId)).media.nodeId).toBe(spare.nodeId);
    await expect.poll(async () => (await shardFleet('nbo', 0)).find((n) => n.nodeId === spare.nodeId)?.rooms).toBe(1);

    const lifted = await api('POST', `/api/fleet/regions/nbo/nodes/${drained.nodeId}/undrain`, { headers: ADMIN });
    expect(lifted.status).toBe(200);
    expect(lifted.body.node).toMatchObject({ nodeId: drained.nodeId, state: 'serving' });
    const unknown = await api('POST', `/api/fleet/regions/nbo/nodes/nbo-none-0001/drain`, { headers: ADMIN, json: {} });
    expect(unknown.body.error.code).toBe('NODE_NOT_FOUND');
  });
});

describe('placement over registry shards', () => {
  it("places a meeting on its own shard's node while the next shard has one too", async () => {
    const meeting = await meetingOnShard(NBO_SHARDS, 1);
    const own = await nodeOn('nbo', NBO_SHARDS, 1);
    await nodeOn('nbo', NBO_SHARDS, 0);
    expect((await joinAndConnect(meeting.linkId, NAIROBI)).nodeId).toBe(own.nodeId);
    expect((await shardFleet('nbo', 1)).find((n) => n.nodeId === own.nodeId)?.rooms).toBe(1);
  });

  it('spills to the next shard when its own has no node, or only a full one', async () => {
    const empty = await meetingOnShard(NBO_SHARDS, 0);
    const next = await nodeOn('nbo', NBO_SHARDS, 1);
    expect((await joinAndConnect(empty.linkId, NAIROBI)).nodeId).toBe(next.nodeId);

    const crowded = await meetingOnShard(NBO_SHARDS, 0);
    await nodeOn('nbo', NBO_SHARDS, 0, { load: FULL });
    expect((await joinAndConnect(crowded.linkId, NAIROBI)).nodeId).toBe(next.nodeId);
  });

  it('asks two shards of a region, then the next region (syd has three)', async () => {
    const meeting = await meetingOnShard(SYD_SHARDS, 0);
    const [own, second] = shardsToAsk(meeting.linkId, SYD_SHARDS) as [number, number];
    const third = [0, 1, 2].find((shard) => shard !== own && shard !== second)!;
    const unasked = await nodeOn('syd', SYD_SHARDS, third);
    const nextRegion = regionsByDistance(SYDNEY, 'lon').find((region) => region !== 'syd')!;
    const elsewhere = await nodeOn(nextRegion, 1, 0);
    expect((await joinAndConnect(meeting.linkId, SYDNEY)).nodeId).toBe(elsewhere.nodeId);
    expect((await shardFleet('syd', third)).find((n) => n.nodeId === unasked.nodeId)?.rooms).toBe(0);

    // With a node on its second shard, the next meeting of that shard stays in syd.
    const home = await nodeOn('syd', SYD_SHARDS, second);
    const stays = await meetingOnShard(SYD_SHARDS, own);
    expect((await joinAndConnect(stays.linkId, SYDNEY)).nodeId).toBe(home.nodeId);
  });
});

describe('a meeting on a non-zero shard', () => {
  it('moves when its node is lost, and the lost node is written off on its own shard', async () => {
    const meeting = await meetingOnShard(NBO_SHARDS, 1);
    const lost = await nodeOn('nbo', NBO_SHARDS, 1);
    const spare = await nodeOn('nbo', NBO_SHARDS, 0);
    const seat = await joinAndConnect(meeting.linkId, NAIROBI);
    expect(seat.nodeId).toBe(lost.nodeId);
    lost.crash();
    expect((await seat.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId)).media.nodeId).toBe(spare.nodeId);
    expect((await shardFleet('nbo', 1)).find((n) => n.nodeId === lost.nodeId)).toMatchObject({ state: 'down', rooms: 0 });
    expect((await shardFleet('nbo', 0)).find((n) => n.nodeId === spare.nodeId)?.rooms).toBe(1);
  });

  it("reaches its node's shard with meeting-wide commands and the release when the host ends it", async () => {
    const meeting = await meetingOnShard(NBO_SHARDS, 1);
    const node = await nodeOn('nbo', NBO_SHARDS, 1);
    const seat = await joinAndConnect(meeting.linkId, NAIROBI);
    expect(seat.nodeId).toBe(node.nodeId);
    seat.socket.send({ type: 'host.end', ref: 'end-1' });
    expect(await seat.socket.next('closed')).toMatchObject({ code: 'MEETING_ENDED' });
    expect(await node.command('closeMeeting', meeting.linkId)).toMatchObject({ meetingId: meeting.linkId });
    await expect.poll(async () => (await shardFleet('nbo', 1)).find((n) => n.nodeId === node.nodeId)?.rooms).toBe(0);
  });
});

describe('cascading over registry shards', () => {
  it("relays a producer between nodes on different shards: each node's commands reach it through its own shard", async () => {
    const { linkId } = await configureMeeting(host.user.id);
    const a = await nodeOn('nbo', NBO_SHARDS, 0);
    const b = await nodeOn('nbo', NBO_SHARDS, 1);
    a.answerCommands();
    b.answerCommands();
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      for (const node of [a, b]) await instance.cascade.admit({ nodeId: node.nodeId, region: node.region });
    });
    a.participantJoined(linkId, 'participant-on-a');
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    b.participantJoined(linkId, 'participant-on-b');
    const copies = await waitFor(
      'the relayed copy on b',
      () => runInDurableObject(roomStub(linkId), async (instance: RoomDO) => (await instance.cascade.settled(), instance.cascade.graph.copiesOf(mic))),
      (seen) => seen.length === 1,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(copies).toEqual([{ producerId: mic, nodeId: b.nodeId, viaNodeId: a.nodeId }]);
    expect(a.commands('cascadeSendProducer')).toHaveLength(1);
    expect(b.commands('cascadeReceiveProducer')).toHaveLength(1);
  });
});
