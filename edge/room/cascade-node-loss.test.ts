import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegionId } from '../../schema/regions.js';
import { COMMAND_ANSWER_TIMEOUT_MS } from '../registry/command-queue.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, newLinkId, roomStub } from '../test/kits/room-kit.js';
import { waitFor } from '../test/kits/wait.js';
import type { CascadeCopy } from './cascade-graph.js';
import type { RoomDO } from './room-do.js';

/*
 * A node of a spread meeting dying (docs/cascading.md, "Node lost"): whatever waits on it is
 * released when the registry writes it off, and the cascade is repaired however the room learns
 * that the node is gone.
 */

const nodes: FakeNode[] = [];
afterEach(() => {
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
});
