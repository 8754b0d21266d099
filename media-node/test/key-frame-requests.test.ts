import dgram from 'node:dgram';
import { once } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEY_FRAME_REQUEST_SPACING_MS, keyFrameRequestDelay } from '../rooms/key-frame-requests.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { RAW_SIMULCAST_RTP_PARAMETERS, rawSimulcastSender, type RawSimulcastSender } from './peers/raw-simulcast-sender.js';

/**
 * A second consumer of a camera that asks for its first key frame just after a first consumer was
 * served (a recording and a viewer of a guest who just published) must not wait for mediasoup's
 * 1 s re-send: Chrome drops a key frame request that comes within 300 ms of the last one it acted
 * on. Reproduced with a real worker and an RTP-level sender that drops requests as Chrome does;
 * the producer options the node uses (keyFrameRequestDelay) space the requests so none is dropped.
 * Then through a real node: a camera published over WebRTC (Participant.produce) has its requests
 * spaced, read from the worker's own PLI trace.
 */

let worker: types.Worker;
beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
});
afterAll(() => worker?.close());

/** libwebrtc's kMinKeyframeSendIntervalMs. */
const CHROME_KEY_FRAME_INTERVAL_MS = 300;

interface Camera {
  sender: RawSimulcastSender;
  router: types.Router;
  producer: types.Producer;
  close: () => Promise<void>;
}
let camera: Camera | null = null;
afterEach(async () => {
  await camera?.close();
  camera = null;
});

async function chromeLikeCamera(delayMs: number): Promise<Camera> {
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90_000 }] });
  const inbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const producer = await inbound.produce({
    kind: 'video',
    rtpParameters: RAW_SIMULCAST_RTP_PARAMETERS,
    keyFrameRequestDelay: delayMs,
  });
  const sender = await rawSimulcastSender({ chromeKeyFrameIntervalMs: CHROME_KEY_FRAME_INTERVAL_MS });
  sender.start({ ip: '127.0.0.1', port: inbound.tuple.localPort });
  await eventually(async () => (await producer.getStats()).length === 3, 15_000, 'three layers received');
  return { sender, router, producer, close: async () => void (await sender.close(), router.close()) };
}

/** A paused consumer on its own socket; `start()` resumes it and asks for its key frame. */
async function viewer(router: types.Router, producerId: string): Promise<{ start: () => Promise<void>; firstPacket: Promise<void>; close: () => void }> {
  const sink = dgram.createSocket('udp4');
  sink.bind(0, '127.0.0.1');
  await once(sink, 'listening');
  const outbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await outbound.connect({ ip: '127.0.0.1', port: sink.address().port });
  const consumer = await outbound.consume({ producerId, rtpCapabilities: router.rtpCapabilities, paused: true });
  const mediaPayloadType = consumer.rtpParameters.codecs[0]!.payloadType;
  const firstPacket = new Promise<void>((resolve) => sink.on('message', (packet: Buffer) => (packet[1]! & 0x7f) === mediaPayloadType && resolve()));
  return {
    start: async () => void (await Promise.all([consumer.resume(), consumer.requestKeyFrame()])),
    firstPacket,
    close: () => {
      outbound.close();
      sink.close();
    },
  };
}

/** A first viewer gets its key frame, and a second (made ready meanwhile) asks at once after. */
async function secondRightAfterFirst(router: types.Router, producerId: string): Promise<void> {
  const [first, second] = await Promise.all([viewer(router, producerId), viewer(router, producerId)]);
  await first.start();
  await first.firstPacket;
  await second.start();
  await second.firstPacket;
  first.close();
  second.close();
}

/** The PLIs the Chrome-like sender saw from the first viewer on. */
async function plisForSecondViewerRightAfterFirst(delayMs: number) {
  camera = await chromeLikeCamera(delayMs);
  const from = camera.sender.pliLog.length;
  await secondRightAfterFirst(camera.router, camera.producer.id);
  return camera.sender.pliLog.slice(from);
}

describe('key frame requests to a Chrome-like sender', () => {
  it('reproduction: without spacing, the second request arrives inside the sender window and is dropped', async () => {
    const plis = await plisForSecondViewerRightAfterFirst(0);
    expect(plis.filter((pli) => !pli.honoured).length).toBeGreaterThan(0);
    // The second viewer's frame came from mediasoup's re-send, after the dropped request.
    const dropped = plis.findIndex((pli) => !pli.honoured);
    expect(plis.slice(dropped + 1).some((pli) => pli.honoured)).toBe(true);
  });

  it('with the node’s video producer options, every request reaches the sender outside its window', async () => {
    expect(keyFrameRequestDelay('video')).toBeGreaterThan(CHROME_KEY_FRAME_INTERVAL_MS);
    expect(keyFrameRequestDelay('audio')).toBe(0);
    const plis = await plisForSecondViewerRightAfterFirst(keyFrameRequestDelay('video'));
    expect(plis.length).toBeGreaterThanOrEqual(2);
    expect(plis.filter((pli) => !pli.honoured)).toEqual([]);
  });
});

describe('a camera published through the node', () => {
  let node: TestNode | null = null;
  afterEach(async () => {
    await node?.stop();
    node = null;
  });

  it('asks its sender for key frames no closer together than the spacing', async () => {
    node = await startTestNode();
    const meetingId = newMeetingId();
    // The test peer sends every frame as a key frame: each request is served at once, so the next
    // one is never swallowed by mediasoup's pending request and shows in the trace.
    const publisher = await node.peer(meetingId, newParticipantId('cam'));
    await publisher.publish({ audio: false, video: true });
    const room = node.node.rooms.rooms.get(meetingId)!;
    const [camera] = [...room.producers()].filter((held) => held.kind === 'video');
    expect(camera).toBeDefined();
    const plis: number[] = [];
    camera!.producer.on('trace', (trace) => {
      if (trace.type === 'pli' && trace.direction === 'out') plis.push(trace.timestamp);
    });
    await camera!.producer.enableTraceEvent(['pli']);
    await secondRightAfterFirst(room.router, camera!.producer.id);
    // A request held for the spacing is sent when it ends: wait for it.
    await new Promise((resolve) => setTimeout(resolve, KEY_FRAME_REQUEST_SPACING_MS + 300));
    expect(plis.length).toBeGreaterThanOrEqual(2);
    const gaps = plis.slice(1).map((at, i) => at - plis[i]!);
    // The worker's timer may fire a millisecond early by its own clock's rounding.
    expect(gaps.filter((gap) => gap < KEY_FRAME_REQUEST_SPACING_MS - 2)).toEqual([]);
  });
});
