import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegionId } from '../../schema/regions.js';
import { COMMAND_ANSWER_TIMEOUT_MS } from '../registry/command-queue.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, joinMeeting, newLinkId, openRoomSocket, roomStub, type RoomClient } from '../test/kits/room-kit.js';
import { waitFor } from '../test/kits/wait.js';
import type { CascadeCopy } from './cascade-graph.js';
import type { RoomDO } from './room-do.js';

/*
 * A node of a spread meeting dying (docs/cascading.md, "Node lost"): whatever waits on it is
 * released when the registry writes it off, and the cascade is repaired however the room learns
 * that the node is gone.
 */

const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };

const nodes: FakeNode[] = [];
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
  for (const fake of nodes.splice(0)) fake.retire();
});

async function answeringNode(region: RegionId = 'lon'): Promise<FakeNode> {
  const fake = await connectFakeNode({ region });
  fake.answerCommands();
  nodes.push(fake);
  return fake;
}

/** A node that takes commands and never answers them (it is about to die). */
async function silentNode(region: RegionId = 'lon'): Promise<FakeNode> {
  const fake = await connectFakeNode({ region });
  nodes.push(fake);
  return fake;
}

async function meeting(): Promise<string> {
  return (await configureMeeting(crypto.randomUUID())).linkId;
}

async function admit(linkId: string, ...admitted: FakeNode[]): Promise<void> {
  await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    for (const node of admitted) await instance.cascade.admit({ nodeId: node.nodeId, region: node.region });
  });
}

async function settledCopies(linkId: string, producerId: string): Promise<CascadeCopy[]> {
  return runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    await instance.cascade.settled();
    return instance.cascade.graph.copiesOf(producerId);
  });
}

async function untilNodes(linkId: string, count: number): Promise<void> {
  await waitFor(`${count} nodes in the meeting`, () => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.nodes().length), (seen) => seen === count, { timeoutMs: 10_000, intervalMs: 50 });
}

/** Joins (from `cf` when given) and connects; answers who joined, on which node, with their room socket. */
async function joinAndConnect(linkId: string, displayName: string, cf?: typeof NAIROBI) {
  const joined = await joinMeeting(linkId, { displayName }, cf ? { cf } : {});
  if (joined.status !== 200) throw new Error(`join failed: ${JSON.stringify(joined.body)}`);
  const socket: RoomClient = await openRoomSocket(linkId, joined.body.roomSession);
  cleanup.push(() => socket.close());
  await socket.next('welcome');
  return { participantId: joined.body.participantId as string, nodeId: joined.body.media.nodeId as string, socket };
}

/** The registry's notices that a node was lost (RoomDO.onNodeLost) go astray for this meeting's room. */
async function loseNodeNotices(linkId: string): Promise<{ count: () => number }> {
  let lost = 0;
  const restore = await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
    const proto = Object.getPrototypeOf(instance) as { onNodeLost: (this: RoomDO, nodeId: string, leaving?: boolean) => Promise<void> };
    const original = proto.onNodeLost;
    proto.onNodeLost = async function (this: RoomDO, nodeId: string, leaving?: boolean) {
      if (this.room.linkId() !== linkId) return original.call(this, nodeId, leaving);
      lost += 1;
    };
    return () => {
      proto.onNodeLost = original;
    };
  });
  cleanup.push(restore);
  return { count: () => lost };
}

async function graphHas(linkId: string, nodeId: string, producerId: string) {
  return runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    await instance.cascade.settled();
    return { node: instance.cascade.graph.nodes().some((node) => node.nodeId === nodeId), copies: instance.cascade.graph.copiesOf(producerId).length };
  });
}

describe('a node of the meeting dying', () => {
  it('answers a caller waiting for its answer as soon as the registry writes it off, not at the wait timeout', async () => {
    const dying = await silentNode();
    const waiting = regionStubFor('lon').sendCommandAndWait(dying.nodeId, { command: 'cascadeOpenPipe', meetingId: newLinkId(), peerNodeId: 'peer-1' }, 10 * 60_000);
    await waitFor('the command on the node', async () => dying.commands('cascadeOpenPipe').length, (seen) => seen === 1, { timeoutMs: 5_000, intervalMs: 20 });
    dying.crash();
    expect(await waiting).toMatchObject({ ok: false, code: 'NODE_NOT_FOUND' });
  });

  it("does not hold up the meeting's other nodes while a cascade step to it is in flight", async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await silentNode();
    const c = await answeringNode();
    await admit(linkId, a, b, c);
    b.participantJoined(linkId, 'participant-on-b');
    await untilNodes(linkId, 1);
    a.participantJoined(linkId, 'participant-on-a');
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    // The relay to B is under way: B got its cascadeOpenPipe, and dies before answering.
    await waitFor('cascadeOpenPipe to B', async () => b.commands('cascadeOpenPipe').length, (seen) => seen === 1, { timeoutMs: 10_000, intervalMs: 20 });
    b.crash();
    // Someone joins C: C gets A's mic long before B's step would have timed out.
    c.participantJoined(linkId, 'participant-on-c');
    const copies = await waitFor('the mic relayed to C', () => settledCopies(linkId, mic), (now) => now.some((copy) => copy.nodeId === c.nodeId), { timeoutMs: COMMAND_ANSWER_TIMEOUT_MS / 2, intervalMs: 100 });
    expect(copies).toEqual([{ producerId: mic, nodeId: c.nodeId, viaNodeId: a.nodeId }]);
  });

  it("the meeting's node found gone through a client's media.refresh (the registry's notice went astray) is repaired in the cascade too", async () => {
    const placed = await answeringNode('lon');
    const linkId = await meeting();
    const pia = await joinAndConnect(linkId, 'Pia');
    expect(pia.nodeId).toBe(placed.nodeId);
    // Someone far away is on a part of the meeting (fra) and hears Pia's mic from the meeting's node.
    const part = await answeringNode('fra');
    await admit(linkId, part);
    part.participantJoined(linkId, 'participant-on-part');
    placed.participantJoined(linkId, pia.participantId);
    const mic = placed.openProducer(linkId, { participantId: pia.participantId, kind: 'audio' });
    await waitFor('the mic relayed to the part', () => settledCopies(linkId, mic), (now) => now.length === 1, { timeoutMs: 10_000, intervalMs: 50 });
    await answeringNode('lon');
    const notices = await loseNodeNotices(linkId);
    placed.crash();
    await waitFor('the lost notice', async () => notices.count(), (count) => count >= 1, { timeoutMs: 5_000, intervalMs: 20 });
    // Pia's page lost its media node and asks the room again: the room moves the meeting.
    expect(await pia.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    await pia.socket.next('media.assignment', (message) => message.media.nodeId !== placed.nodeId);
    // The dead node's part of the cascade is gone as on any loss: the part closes its pipe to it.
    await waitFor('the part to close its pipe to the dead node', async () => part.commands('cascadeClosePipe').length, (count) => count >= 1, { timeoutMs: 5_000, intervalMs: 50 }).catch(() => undefined);
    expect(part.commands('cascadeClosePipe').map((command) => (command as { peerNodeId: string }).peerNodeId)).toEqual([placed.nodeId]);
    expect(await graphHas(linkId, placed.nodeId, mic)).toEqual({ node: false, copies: 0 });
  });

  it("a part's node found gone through its participant's media.refresh (the registry's notice went astray) is repaired in the cascade too", async () => {
    const placed = await answeringNode('lon');
    const far = await answeringNode('nbo');
    const linkId = await meeting();
    const pia = await joinAndConnect(linkId, 'Pia');
    expect(pia.nodeId).toBe(placed.nodeId);
    // Nia joins from Nairobi onto a node of her region (its part of the meeting); each hears the other.
    const nia = await joinAndConnect(linkId, 'Nia', NAIROBI);
    expect(nia.nodeId).toBe(far.nodeId);
    placed.participantJoined(linkId, pia.participantId);
    far.participantJoined(linkId, nia.participantId);
    const niaMic = far.openProducer(linkId, { participantId: nia.participantId, kind: 'audio' });
    await waitFor("Nia's mic relayed to the meeting's node", () => settledCopies(linkId, niaMic), (now) => now.length === 1, { timeoutMs: 10_000, intervalMs: 50 });
    const notices = await loseNodeNotices(linkId);
    far.crash();
    await waitFor('the lost notice', async () => notices.count(), (count) => count >= 1, { timeoutMs: 5_000, intervalMs: 20 });
    // Nia's page lost its media node and asks the room again: she is placed again.
    expect(await nia.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    await nia.socket.next('media.assignment', (message) => message.media.nodeId !== far.nodeId);
    // The meeting's node lets go of the dead part: the copy of her old mic closes, and the pipe.
    await waitFor("the meeting's node to close its pipe to the dead part", async () => placed.commands('cascadeClosePipe').length, (count) => count >= 1, { timeoutMs: 5_000, intervalMs: 50 }).catch(() => undefined);
    expect(placed.commands('cascadeClosePipe').map((command) => (command as { peerNodeId: string }).peerNodeId)).toEqual([far.nodeId]);
    expect(await graphHas(linkId, far.nodeId, niaMic)).toEqual({ node: false, copies: 0 });
  });
});
