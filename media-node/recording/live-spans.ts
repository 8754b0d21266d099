import type { Producer } from 'mediasoup/types';
import type { TrackRecord } from './manifest.js';
import { traceProducer } from './producer-trace.js';
import { wallClockOf } from './timeline-anchor.js';

/**
 * Keeps `record.live` in step with the producer: a span is open while the producer is not paused
 * (muted mic, camera off) and packets reach it. These spans are what the recording is measured
 * against: a track live for 8 s must have 8 s in its files; a muted one, or one whose sender has
 * not started sending yet (a fresh publication still connecting), need not.
 *
 * Packet flow is sampled from the producer's stats: often while it is idle (so a start is placed
 * within a quarter second), rarely while it flows; a producer that received nothing for a while
 * counts as idle from its last packet on.
 */
export const IDLE_SAMPLE_MS = 250;
export const FLOWING_SAMPLE_MS = 1000;
/** No packet for this long: the sender stopped (Opus DTX still sends every 400 ms; video may idle longer). */
const STALL_MS: Record<'audio' | 'video', number> = { audio: 1500, video: 3000 };

/** What is followed of a mediasoup Producer. */
export interface FollowedProducer {
  readonly paused: boolean;
  readonly closed: boolean;
  readonly observer: {
    on(event: 'pause' | 'resume' | 'close', listener: () => void): unknown;
    off(event: 'pause' | 'resume' | 'close', listener: () => void): unknown;
  };
  getStats(): Promise<ReadonlyArray<{ packetCount?: number }>>;
}

export interface LivenessOptions {
  now?: () => number;
  /** Packets the producer received so far (default: its stats' packet counts). */
  packetCount?: () => Promise<number>;
  /**
   * A video producer's key frames as they arrive (wall-clock ms; see keyFramesOf). Given, a video
   * span opens at the first key frame since the sender started or resumed: packets before it are
   * no picture to anyone, viewer or recorder. (Back from a stall it is live again at once: its
   * frames go on from the picture viewers and the recording already have.)
   */
  keyFrames?: (listener: (atMs: number) => void) => () => void;
  /**
   * Calls its listener when the first consumer of a fresh video may start forwarding: the
   * recorder's capture resuming, or the room offering it to its people, whichever comes first
   * (firstConsumerStart); its answer unsubscribes. Given with `fresh`, its span opens at the
   * first key frame after that: the key frames its producer gets before (the browser's answer to
   * the worker's own request, tens of ms after the producer exists, when a layer's first packets
   * were lost) reach no consumer, viewer or recorder, and are no picture to anyone.
   */
  consumerStarts?: (listener: () => void) => () => void;
  /**
   * Published while recording: its first packets need a key frame to count. (A producer already
   * sending when the recording starts is a picture its viewers see: live from the first look.)
   */
  fresh?: boolean;
}

/** A producer's key frames as they arrive (its 'keyframe' trace events), for LivenessOptions.keyFrames. */
export function keyFramesOf(producer: Producer): (listener: (atMs: number) => void) => () => void {
  return (listener) =>
    traceProducer(producer, ['keyframe'], (trace) => {
      if (trace.direction === 'in') listener(Math.round(wallClockOf(trace.timestamp)));
    });
}

/**
 * LivenessOptions.consumerStarts for a producer published while recording: its capture resuming
 * (`captureResumes` subscribes, its answer unsubscribes) or the room's offer deadline (`offeredBy`,
 * Date.now() ms; unknown: already offered), whichever comes first.
 */
export function firstConsumerStart(captureResumes: (listener: () => void) => () => void, offeredBy: number | undefined): (listener: () => void) => () => void {
  return (listener) => {
    const stopResumes = captureResumes(listener);
    const offered = setTimeout(listener, Math.max(0, (offeredBy ?? 0) - Date.now()));
    offered.unref?.();
    return () => {
      stopResumes();
      clearTimeout(offered);
    };
  };
}

export function followLiveness(producer: FollowedProducer, record: Pick<TrackRecord, 'kind' | 'live' | 'paused'>, onChange: () => void, options: LivenessOptions = {}): () => void {
  const now = options.now ?? Date.now;
  const count = options.packetCount ?? (async () => (await producer.getStats()).reduce((sum, stat) => sum + (stat.packetCount ?? 0), 0));
  let paused = producer.paused;
  let flowing = false;
  let lastCount = -1;
  let lastSampleAt = now();
  let lastIncreaseAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let resumedAt = 0;
  /** Video: the first key frame since the sender started or resumed; null until then. */
  let decodableFrom: number | null = null;
  /**
   * A key frame heard while still paused here: the worker traces none during a pause, so it came
   * after a resume whose answer this process has not handled yet (it opens the span at the resume).
   */
  let keyFrameBeforeResume: number | null = null;
  /** A fresh video's key frames count once a consumer may have started (see consumerStarts). */
  let consumerStarted = !(options.fresh && options.consumerStarts);

  const open = (at: number) => {
    if (record.live.at(-1)?.to === null) return;
    record.live.push({ from: at, to: null });
    onChange();
  };
  const close = (at: number) => {
    if (record.live.at(-1)?.to !== null) return;
    closeSpan(record.live, at);
    onChange();
  };
  const gated = record.kind === 'video' && options.keyFrames !== undefined;
  const openLive = (at: number) => {
    if (!gated) return open(at);
    if (decodableFrom !== null) open(Math.max(at, decodableFrom));
  };
  const onKeyFrame = (at: number) => {
    if (stopped || producer.closed) return;
    if (paused) {
      keyFrameBeforeResume ??= at;
      return;
    }
    if (!consumerStarted) return;
    decodableFrom ??= at;
    // A key frame is a packet: flowing, whatever the next sample says.
    if (!flowing && lastCount >= 0) {
      flowing = true;
      lastIncreaseAt = Math.max(lastIncreaseAt, at);
    }
    if (flowing) openLive(at);
  };

  const sample = async () => {
    timer = null;
    if (stopped || producer.closed) return;
    const packets = await count().catch(() => lastCount);
    if (stopped) return;
    const at = now();
    if (lastCount < 0) {
      // First look: a producer that has received packets is taken as flowing from now on.
      flowing = packets > 0;
      lastIncreaseAt = at;
      if (flowing && !options.fresh) decodableFrom ??= at;
      // A key frame heard before this first look was a packet: flowing from then.
      if (flowing && !paused) openLive(Math.min(at, decodableFrom ?? at));
    } else if (packets > lastCount) {
      lastIncreaseAt = at;
      if (!flowing) {
        flowing = true;
        // The first packet arrived between the last sample and this one: place it in the middle
        // (not before a resume: a paused producer still receives, it only forwards nothing).
        if (!paused) openLive(Math.max(resumedAt, Math.round((lastSampleAt + at) / 2)));
      }
    } else if (flowing && at - lastIncreaseAt >= STALL_MS[record.kind]) {
      flowing = false;
      close(lastIncreaseAt);
    }
    lastCount = packets;
    lastSampleAt = at;
    schedule();
  };
  const schedule = () => {
    if (stopped || producer.closed) return;
    timer = setTimeout(() => void sample(), flowing && !paused ? FLOWING_SAMPLE_MS : IDLE_SAMPLE_MS);
    timer.unref();
  };

  const onPause = () => {
    paused = true;
    keyFrameBeforeResume = null;
    close(now());
    record.paused.push({ from: now(), to: null });
  };
  const onResume = () => {
    paused = false;
    resumedAt = now();
    // What its consumers forward from now on starts at a key frame.
    decodableFrom = keyFrameBeforeResume;
    keyFrameBeforeResume = null;
    closeSpan(record.paused, resumedAt);
    // Still receiving while paused (the sender kept sending): live again at once (video: at its
    // next key frame). Otherwise the next samples (frequent while idle) open the span at the first packet.
    if (flowing) openLive(resumedAt);
  };
  const onClose = () => close(now());
  if (paused) record.paused.push({ from: now(), to: null });
  producer.observer.on('pause', onPause);
  producer.observer.on('resume', onResume);
  producer.observer.on('close', onClose);
  const stopKeyFrames = gated ? options.keyFrames!(onKeyFrame) : () => undefined;
  const stopConsumerStarts = gated && !consumerStarted ? options.consumerStarts!(() => (consumerStarted = true)) : () => undefined;
  void sample();
  return () => {
    stopped = true;
    stopKeyFrames();
    stopConsumerStarts();
    if (timer) clearTimeout(timer);
    producer.observer.off('pause', onPause);
    producer.observer.off('resume', onResume);
    producer.observer.off('close', onClose);
  };
}

/** Closes the record's open live and paused spans at `at` (the recording stopped). */
export function closeLiveSpans(record: Pick<TrackRecord, 'live'> & Partial<Pick<TrackRecord, 'paused'>>, at: number): void {
  closeSpan(record.live, at);
  if (record.paused) closeSpan(record.paused, at);
}

function closeSpan(spans: Array<{ from: number; to: number | null }>, at: number): void {
  const last = spans.at(-1);
  if (last && last.to === null) last.to = Math.max(last.from, at);
}
