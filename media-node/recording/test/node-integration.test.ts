import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeCommand, NodeEvent } from '../../../schema/wire/index.js';
import { executeCommand } from '../../control/commands.js';
import { FakeEdge, nodeCredential } from '../../test/fake-edge.js';
import { eventually, newMeetingId, startTestNode, TEST_NODE_ID, type TestNode } from '../../test/harness.js';
import { recordingControllerFactory, type NodeRecordingController } from '../controller.js';
import { EdgeUploader } from '../uploader.js';
import { startEdgeUploadTarget, type EdgeUploadTarget } from './edge-upload-target.js';
import { tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

type RecordingEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;

/**
 * The recorder inside a real media node: start/stop arrive as control commands (as the RoomDO
 * sends them through the RegionDO), participants join over WebRTC, status goes back up as
 * recordingStatus events, files go to R2 through the edge route.
 */
describe('recording through the media node command channel', () => {
  let target: EdgeUploadTarget;
  let edge: FakeEdge;
  let node: TestNode;
  const senders: SyntheticParticipant[] = [];
  let controller: NodeRecordingController;

  beforeAll(async () => {
    target = await startEdgeUploadTarget();
    const credential = nodeCredential('control-secret', TEST_NODE_ID);
    edge = await FakeEdge.start({ credential });
    node = await startTestNode(
      { EDGE_URL: edge.url, NODE_CREDENTIAL: credential, RECORDINGS_DIR: await tempDir('edgemeet-node-recordings-') },
      {
        recording: (context) => {
          controller = recordingControllerFactory({ uploader: new EdgeUploader(target.url, target.nodeCredential), minFreeBytes: 0 })(context);
          return controller;
        },
      },
    );
    await edge.waitFor(() => edge.hellos().length > 0, 20_000, 'hello');
  });
  afterAll(async () => {
    await Promise.allSettled(senders.map((sender) => sender.leave()));
    await node?.stop();
    await edge?.stop();
    await target?.close();
  });

  const statusesOf = (recordingId: string) =>
    edge
      .events()
      .filter((event): event is RecordingEvent => event.event === 'recordingStatus' && event.recordingId === recordingId)
      .map((event) => event.status);

  /**
   * Real media from a participant: werift's own RTP is synthetic filler that no decoder reads, so
   * a synthetic sender (ffmpeg, real VP8 + Opus) publishes into the node's room on its behalf,
   * through Room.publish as the signaling's produce does.
   */
  const publishRealMedia = async (meetingId: string, participantId: string, on: TestNode = node) => {
    const room = on.node.rooms.rooms.get(meetingId)!;
    const participant = room.participants.get(participantId)!;
    const sender = await startSyntheticParticipant(room.router, { participantId, pattern: 'testsrc' });
    senders.push(sender);
    await room.publish(participant, sender.audio, 'mic');
    await room.publish(participant, sender.video, 'camera');
    return sender;
  };

  it('startRecording → capture of a late publisher too → stopRecording → ready with files in R2', async () => {
    const meetingId = newMeetingId();
    await node.peer(meetingId, 'host-0000001', { receive: false });
    await publishRealMedia(meetingId, 'host-0000001');
    const recordingId = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
    await target.grant(recordingId);

    expect(await edge.command({ command: 'startRecording', meetingId, recordingId })).toMatchObject({ ok: true });
    expect((await edge.command({ command: 'startRecording', meetingId, recordingId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e' })).error?.code).toBe('ALREADY_RECORDING');
    await eventually(() => statusesOf(recordingId).includes('recording'), 10_000, 'recording status');
    await eventually(() => edge.heartbeats().some((h) => h.load.recordings === 1), 10_000, 'heartbeat counting the recording');

    // Warm captures are ready for a late publisher (a loaded box may take a while to start them).
    for (let waited = 0; controller.warmCaptures() < 4 && waited < 60_000; waited += 250) await new Promise((r) => setTimeout(r, 250));
    // In order: when a capture's consumer of a producer resumed, and when a viewer got a consumer of it.
    const order: string[] = [];
    for (const { router } of node.node.rooms.rooms.get(meetingId)!.routers) {
      router.observer.on('newtransport', (transport) =>
        transport.observer.on('newconsumer', (consumer) => {
          if (transport.type === 'plain') consumer.observer.once('resume', () => order.push(`captured ${consumer.producerId}`));
          if (transport.type === 'webrtc') order.push(`offered ${consumer.producerId}`);
        }),
      );
    }
    await node.peer(meetingId, 'view-0000001', { receive: true });
    await node.peer(meetingId, 'late-0000001', { receive: false });
    const late = await publishRealMedia(meetingId, 'late-0000001');
    // A track published while recording is captured before anyone is offered it: its first key
    // frame, asked for by the first consumer, opens its live span, and the capture must have it.
    await eventually(() => [late.audio.id, late.video.id].every((id) => order.includes(`offered ${id}`)), 10_000, 'the viewer offered the late tracks');
    for (const id of [late.audio.id, late.video.id]) {
      expect(order.filter((entry) => entry.endsWith(id)), JSON.stringify(order)).toEqual([`captured ${id}`, `offered ${id}`]);
    }
    // Its media flows (a loaded box starts the sender's ffmpeg seconds late), then 4 s of it.
    await late.mediaZeroAt;
    await new Promise((r) => setTimeout(r, 4000));

    expect(await edge.command({ command: 'stopRecording', meetingId, recordingId })).toMatchObject({ ok: true });
    expect((await edge.command({ command: 'stopRecording', meetingId, recordingId })).error?.code).toBe('NOT_RECORDING');
    await eventually(() => ['ready', 'failed'].some((s) => statusesOf(recordingId).includes(s as RecordingEvent['status'])), 180_000, 'final status');

    const last = edge.events().filter((e): e is RecordingEvent => e.event === 'recordingStatus' && e.recordingId === recordingId).at(-1);
    expect(statusesOf(recordingId), JSON.stringify(last)).toEqual(['recording', 'processing', 'uploading', 'ready']);
    const final = edge.events().find((e): e is RecordingEvent => e.event === 'recordingStatus' && e.recordingId === recordingId && e.status === 'ready')!;
    expect(final.durationMs).toBeGreaterThan(3000);
    const names = final.files!.map((f) => path.basename(f.key));
    // Every track of both publishers, the late one included.
    expect(names.sort()).toEqual(
      ['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm', 'late-0000001-camera-video-000.webm', 'late-0000001-mic-audio-000.webm'].sort(),
    );
    for (const file of final.files!) {
      const stored = await target.stored(file.key);
      expect(stored?.length, file.key).toBe(file.bytes);
    }
  });

  it('nobody of the meeting on this node (a cascade): startRecording opens its room, records what another node relays, and the room closes after the stop', async () => {
    const far = await startTestNode({ NODE_ID: 'recording-far-node' });
    try {
      const meetingId = newMeetingId();
      await far.peer(meetingId, 'far-00000001', { receive: false });
      await publishRealMedia(meetingId, 'far-00000001', far);
      const recordingId = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c60';
      await target.grant(recordingId);

      // The meeting's placed node has nobody of it: the recording opens the room and waits for
      // relays. The RoomDO's first cascade command follows at once, and waits for the room opening.
      expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
      const meetingCommand = { meetingId };
      const started = edge.command({ command: 'startRecording', meetingId, recordingId });
      const hereOpened = await edge.command({ command: 'cascadeOpenPipe', ...meetingCommand, peerNodeId: 'recording-far-node' });
      expect(await started).toMatchObject({ ok: true });
      const room = node.node.rooms.rooms.get(meetingId)!;
      expect([room.closed, room.participants.size]).toEqual([false, 0]);
      await eventually(() => statusesOf(recordingId).includes('recording'), 10_000, 'recording status');

      // The RoomDO relays the far participant's media into it (cascade commands, as in cascade.test.ts).
      const on = (at: TestNode, command: NodeCommand) => executeCommand(command, { rooms: at.node.rooms, recording: undefined, drain: () => undefined, emitEvent: () => undefined });
      const farEnd = await on(far, { command: 'cascadeOpenPipe', ...meetingCommand, peerNodeId: TEST_NODE_ID });
      const hereEnd = hereOpened.data;
      expect(hereOpened).toMatchObject({ ok: true });
      if (farEnd?.kind !== 'pipeEnd' || hereEnd?.kind !== 'pipeEnd') throw new Error('pipe ends expected');
      await on(far, { command: 'cascadeConnectPipe', ...meetingCommand, peerNodeId: TEST_NODE_ID, remote: hereEnd.pipe });
      await on(node, { command: 'cascadeConnectPipe', ...meetingCommand, peerNodeId: 'recording-far-node', remote: farEnd.pipe });
      for (const producer of far.node.rooms.rooms.get(meetingId)!.producers()) {
        const sent = await on(far, { command: 'cascadeSendProducer', ...meetingCommand, peerNodeId: TEST_NODE_ID, producerId: producer.id });
        if (sent?.kind !== 'relayedProducer') throw new Error('relayed producer expected');
        await on(node, { command: 'cascadeReceiveProducer', ...meetingCommand, peerNodeId: 'recording-far-node', producer: sent.producer });
      }
      await new Promise((r) => setTimeout(r, 4000));

      expect(await edge.command({ command: 'stopRecording', meetingId, recordingId })).toMatchObject({ ok: true });
      await eventually(() => ['ready', 'failed'].some((s) => statusesOf(recordingId).includes(s as RecordingEvent['status'])), 180_000, 'final status');
      const final = edge.events().filter((e): e is RecordingEvent => e.event === 'recordingStatus' && e.recordingId === recordingId).at(-1)!;
      expect(final.status, JSON.stringify(final)).toBe('ready');
      expect(final.files!.map((f) => path.basename(f.key)).sort()).toEqual(['composite.mp4', 'far-00000001-camera-video-000.webm', 'far-00000001-mic-audio-000.webm']);
      // Released by the finished recording, the room (nobody here) closes and says so.
      await eventually(() => room.closed && !node.node.rooms.rooms.has(meetingId), 10_000, 'room closed');
      await eventually(() => edge.events().some((e) => e.event === 'roomClosed' && e.meetingId === meetingId), 10_000, 'roomClosed event');
    } finally {
      await far.stop();
    }
  });

  it('a meeting the edge ended here is not reopened by a late startRecording', async () => {
    const meetingId = newMeetingId();
    await node.peer(meetingId, 'gone-0000001', { receive: false });
    expect(await edge.command({ command: 'closeMeeting', meetingId, reason: 'ended' })).toMatchObject({ ok: true });
    const recordingId = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c61';
    expect((await edge.command({ command: 'startRecording', meetingId, recordingId })).error?.code).toBe('MEETING_ENDED');
    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
    // The edge, which did not wait for the answer, hears that it failed and why (the host sees it).
    await eventually(() => statusesOf(recordingId).includes('failed'), 10_000, 'failed status');
    const failed = edge.events().find((e): e is RecordingEvent => e.event === 'recordingStatus' && e.recordingId === recordingId)!;
    expect(failed).toMatchObject({ meetingId, status: 'failed', error: { code: 'MEETING_ENDED' } });
    expect(failed.notes?.[0]).toMatch(/^The recording could not start: /);
  });

  it('media no decoder reads (werift filler) is not a recording: failed with the reason, nothing uploaded', async () => {
    const meetingId = newMeetingId();
    const peer = await node.peer(meetingId, 'junk-0000001', { receive: false });
    await peer.publish({ audio: true, video: false });
    const recordingId = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5f';
    await target.grant(recordingId);
    expect(await edge.command({ command: 'startRecording', meetingId, recordingId })).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await edge.command({ command: 'stopRecording', meetingId, recordingId })).toMatchObject({ ok: true });
    await eventually(() => ['ready', 'failed'].some((s) => statusesOf(recordingId).includes(s as RecordingEvent['status'])), 120_000, 'final status');
    const final = edge.events().filter((e): e is RecordingEvent => e.event === 'recordingStatus' && e.recordingId === recordingId).at(-1)!;
    expect(final).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: 'no media: 1 tracks were live but nothing was captured' }, files: [] });
  });
});
