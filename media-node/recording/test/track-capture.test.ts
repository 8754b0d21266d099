import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import dgram from 'node:dgram';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { mediaDurationSeconds } from '../ffmpeg.js';
import { keyFramesOf } from '../live-spans.js';
import { traceProducer } from '../producer-trace.js';
import type { TrackRecord } from '../manifest.js';
import { recorderCapabilities } from '../recorder.js';
import { TrackCapture } from '../track-capture.js';
import { udpSocketsOf } from '../udp-ports.js';
import { log, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

/** Port pairs a capture's next cold ffmpeg is given before the free ones (to hand it a taken one). */
const forcedPairs = vi.hoisted(() => [] as Array<{ rtpPort: number; rtcpPort: number }>);
vi.mock(import('../udp-ports.js'), async (importOriginal) => {
  const real = await importOriginal();
  return { ...real, freeUdpPortPair: async () => forcedPairs.shift() ?? real.freeUdpPortPair() };
});

/** A fresh manifest record for the synthetic participant's camera. */
const cameraRecord = (sender: SyntheticParticipant): TrackRecord => ({
  trackId: `${sender.participantId}-camera-video`, producerId: sender.video.id, participantId: sender.participantId, source: 'camera', kind: 'video',
  mimeType: '', contentType: '', finalExt: 'webm', segments: [], live: [], paused: [], troubles: [],
});

/** One track's capture against a real mediasoup worker and ffmpeg. */
describe('a track capture', () => {
  let worker: Worker;
  let router: Router;
  let dir: string;
  const people: SyntheticParticipant[] = [];

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    dir = await tempDir('edgemeet-track-capture-');
  });
  afterAll(async () => {
    await Promise.allSettled(people.map((p) => p.leave()));
    worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('whose producer closes while it is starting ends quietly: no trouble for the host, no failed start', async () => {
    const sender = await startSyntheticParticipant(router, { participantId: 'gone-000001', pattern: 'testsrc' });
    people.push(sender);
    const record = cameraRecord(sender);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const capture = new TrackCapture({
      router, producer: sender.video, record, recordingDir: dir, rtpCapabilities: recorderCapabilities(router), log,
      maxRestarts: 0, restartDelayMs: 0, onChange: () => undefined, onGap: () => undefined, onProducerGone: () => undefined, publishedAt: Date.now(), gate,
    });
    const started = capture.start();
    await capture.listening;
    // The participant leaves at the moment packets are let through: the capture's next requests
    // meet a consumer the worker already closed with the producer.
    void gate.then(() => sender.video.close());
    openGate();
    await expect(started).resolves.toBeUndefined();
    await capture.stop('producerClosed');
    expect(record.troubles).toEqual([]);
  });

  it('whose ffmpeg ends after the producer closed, before the recorder stops it, ends quietly: the track is over, not a capture that died', async () => {
    const sender = await startSyntheticParticipant(router, { participantId: 'ended-00001', pattern: 'testsrc' });
    people.push(sender);
    const record = cameraRecord(sender);
    const gaps: unknown[] = [];
    const capture = new TrackCapture({
      router, producer: sender.video, record, recordingDir: dir, rtpCapabilities: recorderCapabilities(router), log,
      maxRestarts: 2, restartDelayMs: 0, onChange: () => undefined, onGap: (gap) => gaps.push(gap), onProducerGone: () => undefined, publishedAt: Date.now(),
    });
    await capture.start();
    await capture.flowing;
    // The participant leaves; their stream's end reaches ffmpeg (which may exit on it, code 1 on a
    // busy box) before the recorder's own stop: here it is killed, deterministically.
    sender.video.close();
    const pid = capture.currentFfmpegPid()!;
    process.kill(pid, 'SIGKILL');
    for (let waited = 0; capture.currentFfmpegPid() === pid && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100)); // a restart would start here
    expect(capture.currentFfmpegPid()).toBeNull();
    await capture.stop('producerClosed');
    expect(record.troubles).toEqual([]);
    expect(gaps).toEqual([]);
    expect(record.segments.map((segment) => segment.endReason)).toEqual(['producerClosed']);
  });

  it('whose first ffmpeg finds its port taken listens only once the one restarted in its place does: the recording holds every track until then', async () => {
    const sender = await startSyntheticParticipant(router, { participantId: 'taken-00001', pattern: 'testsrc' });
    people.push(sender);
    const record = cameraRecord(sender);
    // Another process binds the pair's RTCP port between the check and ffmpeg's bind (its RTP
    // port stays free, so nothing looks like ffmpeg listening).
    const { freeUdpPortPair } = await import('../udp-ports.js');
    const taken = await freeUdpPortPair();
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(taken.rtcpPort, '127.0.0.1', () => resolve()));
    forcedPairs.push(taken);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const capture = new TrackCapture({
      router, producer: sender.video, record, recordingDir: dir, rtpCapabilities: recorderCapabilities(router), log,
      maxRestarts: 2, restartDelayMs: 300, onChange: () => undefined, onGap: () => undefined, onProducerGone: () => undefined, publishedAt: Date.now(), gate,
    });
    try {
      const started = capture.start();
      await capture.listening;
      expect(record.segments.map((segment) => segment.endReason)).toEqual(['ffmpegDied', null]);
      openGate();
      await started;
      await capture.flowing;
      expect(record.segments[1]!.firstRtpWallMs).not.toBeNull();
      await capture.stop();
      expect(record.troubles).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it("reads a real producer's key frames as they arrive, on the wall clock (what a video's live span starts at)", async () => {
    const sender = await startSyntheticParticipant(router, { participantId: 'keys-000001', pattern: 'testsrc' });
    people.push(sender);
    const seen: Array<{ at: number; heardAt: number }> = [];
    // Another subscriber to the producer's traces, done before the key frames are: the key frames keep coming.
    let packets = 0;
    const unsubscribePackets = traceProducer(sender.video, ['rtp'], () => packets++);
    const unsubscribe = keyFramesOf(sender.video)((at) => seen.push({ at, heardAt: Date.now() }));
    for (let waited = 0; packets === 0 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    unsubscribePackets();
    seen.length = 0;
    for (let waited = 0; seen.length < 3 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    unsubscribe();
    const count = seen.length;
    expect(count).toBeGreaterThanOrEqual(3);
    for (const { at, heardAt } of seen) {
      expect(heardAt - at).toBeGreaterThanOrEqual(-5);
      expect(heardAt - at).toBeLessThan(1_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // a key frame every 0.2 s: none heard once unsubscribed
    expect(seen.length).toBe(count);
  });

  it('keeps the video of a track stopped less than a second after its first frame', async () => {
    const sender = await startSyntheticParticipant(router, { participantId: 'brief-00001', pattern: 'testsrc' });
    people.push(sender);
    const record = cameraRecord(sender);
    const capture = new TrackCapture({
      router, producer: sender.video, record, recordingDir: dir, rtpCapabilities: recorderCapabilities(router), log,
      maxRestarts: 0, restartDelayMs: 0, onChange: () => undefined, onGap: () => undefined, onProducerGone: () => undefined, publishedAt: Date.now(),
    });
    await capture.start();
    await capture.flowing;
    // Its ffmpeg listens on loopback only (it used to bind every interface: RTP from anywhere).
    expect((await udpSocketsOf(capture.currentFfmpegPid()!))?.map((socket) => socket.address)).toEqual(['127.0.0.1', '127.0.0.1']);
    // ffmpeg used to hold everything while it counted ~20 frames to guess a frame rate.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await capture.stop();
    const file = path.join(dir, record.segments[0]!.file);
    const { start, end } = await mediaDurationSeconds(file);
    expect(end - start).toBeGreaterThan(0.1);
  });
});
