import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import { connectFakeNode, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, roomStub } from '../test/kits/room-kit.js';
import { waitFor } from '../test/kits/wait.js';
import type { CascadeCopy } from './cascade-graph.js';
import type { NodeRef } from './cascade.js';
import type { RoomDO } from './room-do.js';

/*
 * A node's cascade events reach the meeting's room in the order the node sent them (the RegionDO
 * forwards them one after the other): the room reads a roomClosed as "that node's part is gone",
 * so one arriving after the node's next participantJoined would take a new room for gone.
 */

const nodes: FakeNode[] = [];
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
  for (const fake of nodes.splice(0)) fake.retire();
});

async function answeringNode(): Promise<FakeNode> {
  const fake = await connectFakeNode({ region: 'lon' });
  fake.answerCommands();
  nodes.push(fake);
  return fake;
}

async function settledCopies(linkId: string, producerId: string): Promise<CascadeCopy[]> {
  return runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    await instance.cascade.settled();
    return instance.cascade.graph.copiesOf(producerId);
  });
}

/** The room takes `slowEvent` from a node in `delayMs` (a busy room, a slow hop): what follows must wait for it. */
async function slowToTake(linkId: string, slowEvent: NodeEvent['event'], delayMs: number): Promise<void> {
  const restore = await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
    const proto = Object.getPrototypeOf(instance) as { onNodeEvent: (this: RoomDO, event: NodeEvent, from?: NodeRef) => Promise<void> };
    const original = proto.onNodeEvent;
    proto.onNodeEvent = async function (this: RoomDO, event: NodeEvent, from?: NodeRef) {
      if (this.room.linkId() === linkId && event.event === slowEvent) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return original.call(this, event, from);
    };
    return () => {
      proto.onNodeEvent = original;
    };
  });
  cleanup.push(restore);
}

describe("a node's cascade events", () => {
  it("reach the room in the order the node sent them: a new room's participantJoined never overtakes the old room's roomClosed", async () => {
    const { linkId } = await configureMeeting(crypto.randomUUID());
    const a = await answeringNode();
    const b = await answeringNode();
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      for (const node of [a, b]) await instance.cascade.admit({ nodeId: node.nodeId, region: node.region });
    });
    a.participantJoined(linkId, 'participant-on-a');
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    b.participantJoined(linkId, 'participant-on-b-1');
    await waitFor('the mic relayed to B', () => settledCopies(linkId, mic), (now) => now.length === 1, { timeoutMs: 10_000, intervalMs: 50 });
    // B's room closed (its participant left) and a new one opened at once (someone joined B).
    await slowToTake(linkId, 'roomClosed', 300);
    b.roomClosed(linkId);
    b.participantJoined(linkId, 'participant-on-b-2');
    // B's new room holds a participant: it gets A's mic again.
    await waitFor('the mic relayed to B again', async () => b.commands('cascadeReceiveProducer').length, (count) => count >= 2, { timeoutMs: 5_000, intervalMs: 50 }).catch(() => undefined);
    expect(await settledCopies(linkId, mic)).toEqual([{ producerId: mic, nodeId: b.nodeId, viaNodeId: a.nodeId }]);
    expect(await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.node(b.nodeId)?.roomOpen)).toBe(true);
  });
});
