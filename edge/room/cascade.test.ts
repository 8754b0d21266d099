import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeCommand, PipeEnd } from '../../schema/wire/node-control.js';
import type { RegionId } from '../../schema/regions.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, newLinkId, roomStub } from '../test/kits/room-kit.js';
import { watchLogs } from '../test/kits/log-watch.js';
import { waitFor } from '../test/kits/wait.js';
import type { CommandOutcome } from '../registry/command-queue.js';
import type { CascadeCopy } from './cascade-graph.js';
import { SUPERSEDED_GRACE_MS } from './cascade.js';
import { startRecording } from './recording.js';
import type { RoomDO } from './room-do.js';

/*
 * Cascade orchestration in the RoomDO (docs/cascading.md), driven by node events from fake nodes
 * that answer commands like real ones (pipe ends, relayed producers). The nodes a meeting spans
 * are given explicitly here: a participant "on node B" is B's participantJoined event.
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

async function meeting(): Promise<string> {
  return (await configureMeeting(crypto.randomUUID())).linkId;
}

/** The room sends participants to these nodes (the explicit multi-node assignment of these tests). */
async function admit(linkId: string, ...admitted: FakeNode[]): Promise<void> {
  await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    for (const node of admitted) await instance.cascade.admit({ nodeId: node.nodeId, region: node.region });
  });
}

/** The cascade commands a node received, without the meeting id (always this test's meeting). */
function cascadeCommands(node: FakeNode): Record<string, unknown>[] {
  return node.commands().flatMap((command) => (command.command.startsWith('cascade') ? [withoutMeeting(command)] : []));
}

function withoutMeeting(command: NodeCommand): Record<string, unknown> {
  const { meetingId: _, ...rest } = command as NodeCommand & { meetingId: string };
  return rest;
}

/** Copies of the producer the room has recorded, once its queued work is done. */
async function settledCopies(linkId: string, producerId: string): Promise<CascadeCopy[]> {
  return runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
    await instance.cascade.settled();
    return instance.cascade.graph.copiesOf(producerId);
  });
}

async function untilNodes(linkId: string, count: number): Promise<void> {
  await waitFor(`${count} nodes in the meeting`, () => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.nodes().length), (seen) => seen === count, { timeoutMs: 10_000, intervalMs: 50 });
}

async function untilCopies(linkId: string, producerId: string, count: number): Promise<CascadeCopy[]> {
  return waitFor(`${count} copies of ${producerId}`, () => settledCopies(linkId, producerId), (copies) => copies.length === count, { timeoutMs: 10_000, intervalMs: 50 });
}

/** Waits until the node received `count` commands of that kind (and the room's work settled). */
async function untilCommands(linkId: string, node: FakeNode, kind: NodeCommand['command'], count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(`${count} ${kind} to ${node.nodeId}`, async () => node.commands(kind).length, (seen) => seen >= count, { timeoutMs, intervalMs: 50 });
  await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.settled());
}

function pipeEndOf(node: FakeNode, peer: FakeNode): Promise<PipeEnd> {
  return regionStubFor(node.region)
    .sendCommandAndWait(node.nodeId, { command: 'cascadeOpenPipe', meetingId: newLinkId(), peerNodeId: peer.nodeId })
    .then((outcome: CommandOutcome) => {
      if (!outcome.ok || outcome.value.data?.kind !== 'pipeEnd') throw new Error(`no pipe end: ${JSON.stringify(outcome)}`);
      return outcome.value.data.pipe;
    });
}

describe('RegionDO.sendCommandAndWait', () => {
  it("answers the node's commandResult with its data, or its refusal", async () => {
    const node = await connectFakeNode({ region: 'lon' });
    nodes.push(node);
    node.answerCommands((command) => (command.command === 'stopRecording' ? { ok: false, code: 'NOT_RECORDING', message: 'nothing to stop' } : undefined));
    const region = regionStubFor('lon');
    const waitMeeting = newLinkId();
    const opened = await region.sendCommandAndWait(node.nodeId, { command: 'cascadeOpenPipe', meetingId: waitMeeting, peerNodeId: 'peer-1' });
    expect(opened).toMatchObject({ ok: true, value: { data: { kind: 'pipeEnd', pipe: { ip: '127.0.0.1' } } } });
    const refused = await region.sendCommandAndWait(node.nodeId, { command: 'stopRecording', meetingId: waitMeeting, recordingId: crypto.randomUUID() });
    expect(refused).toMatchObject({ ok: false, code: 'NOT_RECORDING', message: 'nothing to stop' });
    const plain = await region.sendCommandAndWait(node.nodeId, { command: 'setUnmutePolicy', meetingId: waitMeeting, participantsMayUnmute: true });
    expect(plain).toEqual({ ok: true, value: {} });
  });

  it('answers an error when the node stays silent, and NODE_NOT_FOUND for an unknown node', async () => {
    const silent = await connectFakeNode({ region: 'lon' });
    nodes.push(silent);
    const region = regionStubFor('lon');
    const waitMeeting = newLinkId();
    const outcome = await region.sendCommandAndWait(silent.nodeId, { command: 'cascadeClosePipe', meetingId: waitMeeting, peerNodeId: 'peer-2' }, 200);
    expect(outcome).toMatchObject({ ok: false, code: 'MEDIA_ERROR' });
    expect(await region.sendCommandAndWait('no-such-node', { command: 'cascadeClosePipe', meetingId: waitMeeting, peerNodeId: 'peer-2' })).toMatchObject({ ok: false, code: 'NODE_NOT_FOUND' });
  });
});

describe('cascade orchestration', () => {
  it('relays a producer of node A to node B once, however many consume it there, then mirrors its close and B leaving', async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await answeringNode();
    await admit(linkId, a, b);
    a.participantJoined(linkId, 'participant-on-a');
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'audio' });
    b.participantJoined(linkId, 'participant-on-b-1');
    b.participantJoined(linkId, 'participant-on-b-2');
    expect(await untilCopies(linkId, mic, 1)).toEqual([{ producerId: mic, nodeId: b.nodeId, viaNodeId: a.nodeId }]);
    // A third participant on B after the relay: nothing more crosses.
    b.participantJoined(linkId, 'participant-on-b-3');
    await untilCommands(linkId, b, 'cascadeReceiveProducer', 1);

    const [endA, endB] = await Promise.all([pipeEndOf(a, b), pipeEndOf(b, a)]);
    const relayedMic = { producerId: mic, participantId: 'participant-on-a', displayName: 'Someone', kind: 'audio', source: 'mic', paused: false };
    expect(cascadeCommands(a)).toEqual([
      { command: 'cascadeOpenPipe', peerNodeId: b.nodeId },
      { command: 'cascadeConnectPipe', peerNodeId: b.nodeId, remote: endB },
      { command: 'cascadeSendProducer', peerNodeId: b.nodeId, producerId: mic },
      // pipeEndOf's probe (another meeting)
      { command: 'cascadeOpenPipe', peerNodeId: b.nodeId },
    ]);
    expect(cascadeCommands(b)).toEqual([
      { command: 'cascadeOpenPipe', peerNodeId: a.nodeId },
      { command: 'cascadeConnectPipe', peerNodeId: a.nodeId, remote: endA },
      { command: 'cascadeReceiveProducer', peerNodeId: a.nodeId, producer: { ...relayedMic, rtpParameters: expect.any(Object) } },
      { command: 'cascadeOpenPipe', peerNodeId: a.nodeId },
    ]);

    // A second producer on A reuses the pipe: no open or connect again.
    const camera = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'video' });
    await untilCopies(linkId, camera, 1);
    expect(cascadeCommands(a).slice(4)).toEqual([{ command: 'cascadeSendProducer', peerNodeId: b.nodeId, producerId: camera }]);
    expect(cascadeCommands(b).slice(4).map((command) => command.command)).toEqual(['cascadeReceiveProducer']);

    // The mic closes at its origin: its relay closes on both ends of the pipe.
    a.closeProducer(linkId, mic);
    await untilCommands(linkId, a, 'cascadeCloseProducer', 1);
    expect(cascadeCommands(b).slice(5)).toEqual([{ command: 'cascadeCloseProducer', peerNodeId: a.nodeId, producerId: mic }]);
    expect(cascadeCommands(a).slice(5)).toEqual([{ command: 'cascadeCloseProducer', peerNodeId: b.nodeId, producerId: mic }]);
    expect(await settledCopies(linkId, mic)).toEqual([]);

    // B's last participant left: A closes its pipe to B; the meeting goes on.
    b.roomClosed(linkId);
    await untilCommands(linkId, a, 'cascadeClosePipe', 1);
    expect(cascadeCommands(a).slice(6)).toEqual([{ command: 'cascadeClosePipe', peerNodeId: b.nodeId }]);
    expect(cascadeCommands(b).slice(6)).toEqual([]);
    const after = await runInDurableObject(roomStub(linkId), (instance: RoomDO) => ({
      nodes: instance.cascade.graph.nodes().map((node) => node.nodeId),
      copies: instance.cascade.graph.copiesOf(camera),
      ended: instance.room.meeting.ended(),
    }));
    expect(after).toEqual({ nodes: [a.nodeId], copies: [], ended: false });
  });

  it("relays a producer to B when B's room was open first, and mirrors pause and resume", async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await answeringNode();
    await admit(linkId, a, b);
    b.participantJoined(linkId, 'participant-on-b');
    await untilNodes(linkId, 1);
    const camera = a.openProducer(linkId, { participantId: 'participant-on-a', kind: 'video', paused: true });
    await untilCopies(linkId, camera, 1);
    expect(b.commands('cascadeReceiveProducer')).toMatchObject([{ peerNodeId: a.nodeId, producer: { producerId: camera, kind: 'video', source: 'camera', paused: true } }]);
    a.event({ event: 'producerPaused', meetingId: linkId, producerId: camera, paused: false });
    await untilCommands(linkId, b, 'cascadeSetProducerPaused', 1);
    a.event({ event: 'producerPaused', meetingId: linkId, producerId: camera, paused: true });
    await untilCommands(linkId, b, 'cascadeSetProducerPaused', 2);
    expect(b.commands('cascadeSetProducerPaused').map(withoutMeeting)).toEqual([
      { command: 'cascadeSetProducerPaused', peerNodeId: a.nodeId, producerId: camera, paused: false },
      { command: 'cascadeSetProducerPaused', peerNodeId: a.nodeId, producerId: camera, paused: true },
    ]);
    // A pause reported by a node that is not the producer's origin changes nothing.
    b.event({ event: 'producerPaused', meetingId: linkId, producerId: camera, paused: false });
    await untilCommands(linkId, b, 'cascadeSetProducerPaused', 2);
    expect(b.commands('cascadeSetProducerPaused')).toHaveLength(2);
    expect(a.commands('cascadeSetProducerPaused')).toHaveLength(0);
  });

  it('crosses between regions once and fans out inside a region; a relaying node leaving is repaired from the origin', async () => {
    const linkId = await meeting();
    const origin = await answeringNode('lon');
    const fra1 = await answeringNode('fra');
    const fra2 = await answeringNode('fra');
    await admit(linkId, origin, fra1, fra2);
    const mic = origin.openProducer(linkId, { participantId: 'participant-lon', kind: 'audio' });
    await untilNodes(linkId, 1);
    fra1.participantJoined(linkId, 'participant-fra-1');
    await untilCopies(linkId, mic, 1);
    fra2.participantJoined(linkId, 'participant-fra-2');
    const copies = await untilCopies(linkId, mic, 2);
    // fra2 gets it from fra1 (already in the region), not across again from lon.
    expect(copies).toEqual([
      { producerId: mic, nodeId: fra1.nodeId, viaNodeId: origin.nodeId },
      { producerId: mic, nodeId: fra2.nodeId, viaNodeId: fra1.nodeId },
    ]);
    expect(origin.commands('cascadeSendProducer').map(withoutMeeting)).toEqual([{ command: 'cascadeSendProducer', peerNodeId: fra1.nodeId, producerId: mic }]);
    expect(fra1.commands('cascadeSendProducer').map(withoutMeeting)).toEqual([{ command: 'cascadeSendProducer', peerNodeId: fra2.nodeId, producerId: mic }]);

    // fra1's part closes: its peers close their pipes to it, and fra2 gets the mic from lon itself.
    fra1.roomClosed(linkId);
    const repaired = await waitFor('the repair', () => settledCopies(linkId, mic), (now) => now.length === 1 && now[0]!.viaNodeId === origin.nodeId, { timeoutMs: 10_000, intervalMs: 50 });
    expect(repaired).toEqual([{ producerId: mic, nodeId: fra2.nodeId, viaNodeId: origin.nodeId }]);
    expect(origin.commands('cascadeClosePipe').map(withoutMeeting)).toEqual([{ command: 'cascadeClosePipe', peerNodeId: fra1.nodeId }]);
    expect(fra2.commands('cascadeClosePipe').map(withoutMeeting)).toEqual([{ command: 'cascadeClosePipe', peerNodeId: fra1.nodeId }]);
    expect(cascadeCommands(fra2).slice(-3).map((command) => command.command)).toEqual(['cascadeOpenPipe', 'cascadeConnectPipe', 'cascadeReceiveProducer']);
    expect(origin.commands('cascadeSendProducer').map(withoutMeeting).at(-1)).toEqual({ command: 'cascadeSendProducer', peerNodeId: fra2.nodeId, producerId: mic });
  });

  it('a relay a node refused is tried again at its next join, and a lost node takes its producers and pipes along', async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await connectFakeNode({ region: 'lon' });
    nodes.push(b);
    let refuse = true;
    b.answerCommands((command) => (command.command === 'cascadeOpenPipe' && refuse ? { ok: false, code: 'MEETING_NOT_FOUND' } : undefined));
    await admit(linkId, a, b);
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a' });
    b.participantJoined(linkId, 'participant-on-b-1');
    await untilCommands(linkId, b, 'cascadeOpenPipe', 1);
    expect(await settledCopies(linkId, mic)).toEqual([]);
    refuse = false;
    b.participantJoined(linkId, 'participant-on-b-2');
    expect(await untilCopies(linkId, mic, 1)).toEqual([{ producerId: mic, nodeId: b.nodeId, viaNodeId: a.nodeId }]);

    // A is lost (failover): B's copy of A's producer closes, and B closes its pipe to A.
    await roomStub(linkId).onNodeLost(a.nodeId);
    await untilCommands(linkId, b, 'cascadeClosePipe', 1);
    expect(cascadeCommands(b).slice(-2)).toEqual([
      { command: 'cascadeCloseProducer', peerNodeId: a.nodeId, producerId: mic },
      { command: 'cascadeClosePipe', peerNodeId: a.nodeId },
    ]);
    expect(await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.producers())).toEqual([]);
  });

  /** Nia sends her mic from `leaving`, the host is on `viewer`, and `next` is where Nia will move. */
  async function niaOnALeavingNode() {
    const linkId = await meeting();
    const leaving = await answeringNode();
    const viewer = await answeringNode();
    const next = await answeringNode();
    await admit(linkId, leaving, viewer, next);
    leaving.participantJoined(linkId, 'participant-nia');
    const oldMic = leaving.openProducer(linkId, { participantId: 'participant-nia', kind: 'audio' });
    viewer.participantJoined(linkId, 'participant-host');
    return { linkId, leaving, viewer, next, oldMic };
  }

  it('a node leaving alive (drain, overload) relays on until its room closes; a producer republished elsewhere replaces its copy there', async () => {
    const { linkId, leaving, viewer, next, oldMic } = await niaOnALeavingNode();
    const hostMic = viewer.openProducer(linkId, { participantId: 'participant-host', kind: 'audio' });
    expect(await untilCopies(linkId, oldMic, 1)).toEqual([{ producerId: oldMic, nodeId: viewer.nodeId, viaNodeId: leaving.nodeId }]);
    await untilCopies(linkId, hostMic, 1);

    // The node drains: Nia's page still sends and listens there while it moves, so nothing closes.
    await roomStub(linkId).onNodeLost(leaving.nodeId, true);
    expect(await settledCopies(linkId, oldMic)).toEqual([{ producerId: oldMic, nodeId: viewer.nodeId, viaNodeId: leaving.nodeId }]);
    expect(await settledCopies(linkId, hostMic)).toEqual([{ producerId: hostMic, nodeId: leaving.nodeId, viaNodeId: viewer.nodeId }]);
    expect([...viewer.commands('cascadeCloseProducer'), ...viewer.commands('cascadeClosePipe')]).toEqual([]);

    // Her new session publishes on the next node: the host gets that one while the old one's relay
    // runs on (the host's page switches once the new one flows), then the old relay closes, so she
    // is not heard twice; nothing new is relayed to the node being left.
    next.participantJoined(linkId, 'participant-nia');
    const newMic = next.openProducer(linkId, { participantId: 'participant-nia', kind: 'audio' });
    expect(await untilCopies(linkId, newMic, 1)).toEqual([{ producerId: newMic, nodeId: viewer.nodeId, viaNodeId: next.nodeId }]);
    const newCopyAt = Date.now();
    // (Her old one reached the next node too, for whoever else is there: the same grace applies.)
    expect(await settledCopies(linkId, oldMic)).toContainEqual({ producerId: oldMic, nodeId: viewer.nodeId, viaNodeId: leaving.nodeId });
    expect(viewer.commands('cascadeCloseProducer')).toEqual([]);
    // A node that joins the meeting during the grace gets her new mic, never the old one.
    const late = await answeringNode();
    await admit(linkId, late);
    late.participantJoined(linkId, 'participant-late');
    await untilCopies(linkId, newMic, 2);
    expect(late.commands('cascadeReceiveProducer').map((command) => (command as { producer: { producerId: string } }).producer.producerId).sort()).toEqual([hostMic, newMic].sort());
    await untilCommands(linkId, viewer, 'cascadeCloseProducer', 1, SUPERSEDED_GRACE_MS + 10_000);
    expect(Date.now() - newCopyAt).toBeGreaterThanOrEqual(SUPERSEDED_GRACE_MS - 1_000);
    expect(await settledCopies(linkId, oldMic)).toEqual([]);
    expect(viewer.commands('cascadeCloseProducer').map(withoutMeeting)).toEqual([{ command: 'cascadeCloseProducer', peerNodeId: leaving.nodeId, producerId: oldMic }]);
    expect(leaving.commands('cascadeReceiveProducer').map((command) => (command as { producer: { producerId: string } }).producer.producerId)).toEqual([hostMic]);

    // Everyone has moved off it: its room closes, and so do the pipes to it.
    leaving.roomClosed(linkId);
    await untilCommands(linkId, viewer, 'cascadeClosePipe', 1);
    expect(viewer.commands('cascadeClosePipe').map(withoutMeeting)).toEqual([{ command: 'cascadeClosePipe', peerNodeId: leaving.nodeId }]);
    expect(await settledCopies(linkId, hostMic)).toContainEqual({ producerId: hostMic, nodeId: next.nodeId, viaNodeId: viewer.nodeId });
    expect((await settledCopies(linkId, hostMic)).map((copy) => copy.nodeId)).not.toContain(leaving.nodeId);
  });

  it('a move that fails during the grace (the new producer closes) keeps the old relay: the person sends from the old node again', async () => {
    const { linkId, leaving, viewer, next, oldMic } = await niaOnALeavingNode();
    await untilCopies(linkId, oldMic, 1);
    await roomStub(linkId).onNodeLost(leaving.nodeId, true);
    next.participantJoined(linkId, 'participant-nia');
    const newMic = next.openProducer(linkId, { participantId: 'participant-nia', kind: 'audio' });
    await untilCopies(linkId, newMic, 1);
    next.closeProducer(linkId, newMic);
    await untilCopies(linkId, newMic, 0);
    await new Promise((resolve) => setTimeout(resolve, SUPERSEDED_GRACE_MS + 500));
    expect(await settledCopies(linkId, oldMic)).toContainEqual({ producerId: oldMic, nodeId: viewer.nodeId, viaNodeId: leaving.nodeId });
    expect(viewer.commands('cascadeCloseProducer').map(withoutMeeting)).not.toContainEqual({ command: 'cascadeCloseProducer', peerNodeId: leaving.nodeId, producerId: oldMic });
  });

  it("a recording on the meeting's node with nobody on it: the meeting's media is relayed there until its room closes", async () => {
    const linkId = await meeting();
    const placed = await answeringNode();
    const b = await answeringNode();
    await admit(linkId, b);
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.setAssignment({ nodeId: placed.nodeId, region: placed.region, signalingUrl: 'ws://127.0.0.1:9/ws' }));
    b.participantJoined(linkId, 'participant-on-b');
    const mic = b.openProducer(linkId, { participantId: 'participant-on-b', kind: 'audio' });
    await untilNodes(linkId, 1);
    // Everyone is on B: nothing goes to the meeting's node while it has nobody.
    expect(await settledCopies(linkId, mic)).toEqual([]);

    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => startRecording(instance.room, instance.media, env.FILES, 'participant-on-b'));
    expect(await untilCopies(linkId, mic, 1)).toEqual([{ producerId: mic, nodeId: placed.nodeId, viaNodeId: b.nodeId }]);
    // Asked to record first (it opens the room then), then relayed to.
    expect(placed.commands().map((command) => command.command)).toEqual(['startRecording', 'cascadeOpenPipe', 'cascadeConnectPipe', 'cascadeReceiveProducer']);
    // What opens later follows it there.
    const camera = b.openProducer(linkId, { participantId: 'participant-on-b', kind: 'video' });
    expect(await untilCopies(linkId, camera, 1)).toEqual([{ producerId: camera, nodeId: placed.nodeId, viaNodeId: b.nodeId }]);

    // The recording let go of the room (nobody there): B closes its pipe to it, the meeting goes on.
    placed.roomClosed(linkId);
    await untilCommands(linkId, b, 'cascadeClosePipe', 1);
    expect(await untilNodes(linkId, 1).then(() => settledCopies(linkId, camera))).toEqual([]);
  });

  it('ignores a node the room did not send anyone to (a meeting moving away from it, a stray node)', async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const stray = await answeringNode();
    await admit(linkId, a);
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a' });
    await untilNodes(linkId, 1);
    const logs = watchLogs();
    try {
      stray.participantJoined(linkId, 'participant-on-stray');
      stray.openProducer(linkId, { participantId: 'participant-on-stray' });
      await waitFor('both stray events ignored', async () => logs.events('room.cascade_event_ignored').filter((line) => line.nodeId === stray.nodeId).length, (count) => count === 2, { timeoutMs: 10_000, intervalMs: 50 });
    } finally {
      logs.stop();
    }
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.settled());
    expect(await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.nodes().map((node) => node.nodeId))).toEqual([a.nodeId]);
    expect(cascadeCommands(a)).toEqual([]);
    expect(cascadeCommands(stray)).toEqual([]);
    expect(await settledCopies(linkId, mic)).toEqual([]);
  });

  it("does not relay a producer whose close overtook its opening", async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await answeringNode();
    await admit(linkId, a, b);
    b.participantJoined(linkId, 'participant-on-b');
    await untilNodes(linkId, 1);
    const gone = crypto.randomUUID();
    const logs = watchLogs();
    try {
      a.event({ event: 'producerClosed', meetingId: linkId, producerId: gone });
      await waitFor('the early close handled', async () => logs.events('room.cascade_event_ignored').filter((line) => line.nodeId === a.nodeId).length, (count) => count === 1, { timeoutMs: 10_000, intervalMs: 50 });
    } finally {
      logs.stop();
    }
    a.event({ event: 'producerOpened', meetingId: linkId, producerId: gone, participantId: 'participant-on-a', kind: 'audio', source: 'mic', paused: false });
    // A producer opened after it: once it crossed, the late opening was handled before it.
    const mic = a.openProducer(linkId, { participantId: 'participant-on-a' });
    await untilCopies(linkId, mic, 1);
    expect(a.commands('cascadeSendProducer').map(withoutMeeting)).toEqual([{ command: 'cascadeSendProducer', peerNodeId: b.nodeId, producerId: mic }]);
    expect(await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.cascade.graph.producers().map((producer) => producer.producerId))).toEqual([mic]);
  });

  it("the meeting's end reaches every node serving it", async () => {
    const linkId = await meeting();
    const a = await answeringNode();
    const b = await answeringNode('fra');
    await admit(linkId, a, b);
    a.participantJoined(linkId, 'participant-on-a');
    b.participantJoined(linkId, 'participant-on-b');
    await untilNodes(linkId, 2);
    await roomStub(linkId).end();
    await a.command('closeMeeting', linkId);
    await b.command('closeMeeting', linkId);
    expect(await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => (await instance.cascade.settled(), instance.cascade.graph.nodes()))).toEqual([]);
  });
});
