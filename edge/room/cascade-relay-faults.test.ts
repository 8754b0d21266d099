import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeCommand, PipeEnd } from '../../schema/wire/node-control.js';
import type { RegionId } from '../../schema/regions.js';
import { connectFakeNode, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, roomStub } from '../test/kits/room-kit.js';
import { waitFor } from '../test/kits/wait.js';
import type { CascadeCopy } from './cascade-graph.js';
import type { RoomDO } from './room-do.js';

/*
 * Relays cut short (docs/cascading.md, "Orchestration protocol"): what a node did of a relay or a
 * pipe that did not complete is undone, and a relay never depends on a node the meeting is leaving.
 * Some fake nodes here keep the pipe state a real node keeps (media-node/cascade/meeting-cascade.ts):
 * an end is opened once per peer and answered again while it lives; an end connected to one remote
 * refuses another (CONFLICT); a closed room loses its pipes, and a room opened later answers a new end.
 */

const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

type PipeState = { end: PipeEnd; remote: PipeEnd | null };

/** A fake node answering cascade commands with a real node's pipe rules. */
async function pipeKeepingNode(region: RegionId, options: { refuseConnect: () => boolean }) {
  const fake = await connectFakeNode({ region });
  nodes.push(fake);
  const pipes = new Map<string, PipeState>();
  const key = (meetingId: string, peer: string) => `${meetingId}|${peer}`;
  fake.answerCommands((command) => {
    switch (command.command) {
      case 'cascadeOpenPipe': {
        let pipe = pipes.get(key(command.meetingId, command.peerNodeId));
        if (!pipe) {
          const bytes = crypto.getRandomValues(new Uint8Array(30));
          pipe = { end: { ip: '127.0.0.1', port: 40_000 + Math.floor(Math.random() * 10_000), srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: btoa(String.fromCharCode(...bytes)) } }, remote: null };
          pipes.set(key(command.meetingId, command.peerNodeId), pipe);
        }
        return { ok: true, data: { kind: 'pipeEnd', pipe: pipe.end } };
      }
      case 'cascadeConnectPipe': {
        if (options.refuseConnect()) return { ok: false, code: 'MEETING_NOT_FOUND', message: 'the meeting has no room on this node' };
        const pipe = pipes.get(key(command.meetingId, command.peerNodeId));
        if (!pipe) return { ok: false, code: 'NOT_FOUND', message: 'no pipe toward that node; open it first' };
        if (pipe.remote && JSON.stringify(pipe.remote) !== JSON.stringify(command.remote)) return { ok: false, code: 'CONFLICT', message: 'this pipe is connected to another end already' };
        pipe.remote = command.remote;
        return { ok: true };
      }
      case 'cascadeSendProducer':
      case 'cascadeReceiveProducer':
        return pipes.get(key(command.meetingId, command.peerNodeId))?.remote ? undefined : { ok: false, code: 'NOT_FOUND', message: 'no pipe toward that node; open it first' };
      case 'cascadeClosePipe':
        pipes.delete(key(command.meetingId, command.peerNodeId));
        return { ok: true };
      default:
        return undefined;
    }
  });
  return {
    fake,
    /** Its room for the meeting closed (last local participant left): its pipes went with it. */
    roomClosed(meetingId: string) {
      for (const pipeKey of [...pipes.keys()]) if (pipeKey.startsWith(`${meetingId}|`)) pipes.delete(pipeKey);
      fake.roomClosed(meetingId);
    },
  };
}

async function answeringNode(region: RegionId = 'lon'): Promise<FakeNode> {
  const fake = await connectFakeNode({ region });
  fake.answerCommands();
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

async function untilCommands(linkId: string, node: FakeNode, kind: NodeCommand['command'], count: number): Promise<void> {
  await waitFor(`${count} ${kind} to ${node.nodeId}`, async () => node.commands(kind).length, (seen) => seen >= count, { timeoutMs: 10_000, intervalMs: 50 });
  await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.settled());
}

function peersOf(commands: NodeCommand[]): string[] {
  return commands.map((command) => (command as { peerNodeId: string }).peerNodeId);
}

describe('cascade relays cut short', () => {
  it("a pipe half-connected when the peer's room closed mid-handshake is closed again, and the peer's next room gets its relays", async () => {
    const linkId = await meeting();
    const a = await pipeKeepingNode('lon', { refuseConnect: () => false });
    let bRoomGone = true;
    const b = await pipeKeepingNode('lon', { refuseConnect: () => bRoomGone });
    await admit(linkId, a.fake, b.fake);
    a.fake.participantJoined(linkId, 'participant-on-a');
    const mic = a.fake.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    await untilNodes(linkId, 1);
    // A's mic is on its way to B when B's only participant leaves: B opened its end, then its room
    // closed before its connect (refused), while A connected its end to B's (now dead) end.
    b.fake.participantJoined(linkId, 'participant-on-b-1');
    await untilCommands(linkId, b.fake, 'cascadeConnectPipe', 1);
    await untilCommands(linkId, a.fake, 'cascadeConnectPipe', 1);
    b.roomClosed(linkId);
    bRoomGone = false;
    await untilNodes(linkId, 1);
    // No end is left on A toward B (a pipe for a node nobody of the meeting is on).
    expect(peersOf(a.fake.commands('cascadeClosePipe'))).toContain(b.fake.nodeId);

    // Someone joins B again: B's room opens anew with a new end, which A's end accepts.
    b.fake.participantJoined(linkId, 'participant-on-b-2');
    const copies = await waitFor('the mic relayed to B', () => settledCopies(linkId, mic), (now) => now.length === 1, { timeoutMs: 8_000, intervalMs: 100 });
    expect(copies).toEqual([{ producerId: mic, nodeId: b.fake.nodeId, viaNodeId: a.fake.nodeId }]);
  });

  it('a relay whose receive the target refused does not leave the origin sending that producer down the pipe', async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await connectFakeNode({ region: 'lon' });
    nodes.push(b);
    b.answerCommands((command) => (command.command === 'cascadeReceiveProducer' ? { ok: false, code: 'MEDIA_ERROR', message: 'produce failed' } : undefined));
    await admit(linkId, a, b);
    a.participantJoined(linkId, 'participant-on-a');
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    b.participantJoined(linkId, 'participant-on-b');
    await untilCommands(linkId, b, 'cascadeReceiveProducer', 1);
    expect(await settledCopies(linkId, mic)).toEqual([]);
    // A's pipe consumer for B (made by cascadeSendProducer) would send the mic's RTP to B, where
    // nothing takes it, for as long as B's part lives: the half-done relay is undone.
    expect(a.commands('cascadeSendProducer')).toHaveLength(1);
    expect(a.commands('cascadeCloseProducer').map((command) => ({ ...command, meetingId: undefined }))).toEqual([{ command: 'cascadeCloseProducer', meetingId: undefined, peerNodeId: b.nodeId, producerId: mic }]);
  });

  it('a node joining while another node of its region drains gets its relays from a node that stays, so the draining one closing cuts nothing', async () => {
    const linkId = await meeting();
    const origin = await answeringNode('lon');
    const draining = await answeringNode('fra');
    const next = await answeringNode('fra');
    await admit(linkId, origin, draining, next);
    origin.participantJoined(linkId, 'participant-lon');
    const mic = origin.openProducer(linkId, { participantId: 'participant-lon', kind: 'audio' });
    draining.participantJoined(linkId, 'participant-fra');
    await waitFor('the mic relayed to the fra node', () => settledCopies(linkId, mic), (now) => now.length === 1, { timeoutMs: 10_000, intervalMs: 50 });
    // The fra node drains (a rolling deploy): its participant moves to the other fra node (make-before-break).
    await roomStub(linkId).onNodeLost(draining.nodeId, true);
    next.participantJoined(linkId, 'participant-fra');
    const copies = await waitFor('the mic relayed to the next node', () => settledCopies(linkId, mic), (now) => now.some((copy) => copy.nodeId === next.nodeId), { timeoutMs: 10_000, intervalMs: 50 });
    expect(copies.find((copy) => copy.nodeId === next.nodeId)?.viaNodeId).toBe(origin.nodeId);
    // Everyone left the draining node: its room closes. The next node's copy is neither cut nor relayed again.
    draining.roomClosed(linkId);
    await untilNodes(linkId, 2);
    expect(await settledCopies(linkId, mic)).toEqual([{ producerId: mic, nodeId: next.nodeId, viaNodeId: origin.nodeId }]);
    const received = next.commands('cascadeReceiveProducer').filter((command) => (command as { producer: { producerId: string } }).producer.producerId === mic);
    expect({ receivedTimes: received.length, closes: next.commands('cascadeCloseProducer').length + next.commands('cascadeClosePipe').length }).toEqual({ receivedTimes: 1, closes: 0 });
  });
});
