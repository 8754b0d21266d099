import path from 'node:path';
import type { Consumer, ConsumerTraceEventData, PlainTransport, Producer, Router, RtpCapabilities } from 'mediasoup/types';
import type { CapturePool } from './capture-pool.js';
import { spawnCapture, type CaptureProcess } from './capture-process.js';
import type { FfmpegProcess } from './ffmpeg.js';
import type { Segment, TrackRecord } from './manifest.js';
import { containerFor, mainCodec } from './sdp.js';
import { TimelineAnchor, wallClockOf } from './timeline-anchor.js';
import { holdsUdpPorts } from './udp-ports.js';
import { LayerStart } from '../rooms/layer-start.js';
import { requestKeyFramesOnLoss, requestKeyFramesUntilFlowing } from './keyframe-on-loss.js';
import type { Log } from '../log.js';
import { typedLog, type RecorderLogger } from './log.js';

export interface TrackCaptureOptions {
  router: Router;
  producer: Producer;
  /** Manifest entry of this track; the capture appends and updates its segments in place. */
  record: TrackRecord;
  recordingDir: string;
  /** What the recording consumers accept (the router's codecs without RTX). */
  rtpCapabilities: RtpCapabilities;
  log: RecorderLogger;
  maxRestarts: number;
  restartDelayMs: number;
  /** Something in `record` changed: persist the manifest. */
  onChange: () => void;
  /** ffmpeg died: a gap starts now (toMs filled in when the next segment sees its first packet). */
  onGap: (gap: { trackId: string; fromMs: number; toMs: number | null; reason: string }) => void;
  /** The producer went away on its own (participant left, producer closed). */
  onProducerGone: () => void;
  /** Packets flow only once this resolves (the recorder holds the first captures until all listen). */
  gate?: Promise<void>;
  /** When the producer was published (Date.now()): a young simulcast one starts on its lowest layer. */
  publishedAt: number;
  /** Warm capture ffmpegs (capture-pool.ts) a segment may take now; none: it starts a cold one. */
  pool?: () => CapturePool | undefined;
  /** A segment's consumer is about to resume: from then on it forwards what arrives (a key frame first). */
  onResuming?: () => void;
}

interface LiveSegment {
  record: Segment;
  transport: PlainTransport;
  consumer: Consumer;
  ffmpeg: FfmpegProcess;
  /** Removes a pool slot's link and SDP once the segment has ended. */
  release: () => Promise<void>;
}

/** A loaded box can take seconds to start an ffmpeg; past this it is killed and restarted. */
const FFMPEG_READY_TIMEOUT_MS = 30_000;

/**
 * Captures one producer into files without transcoding: PlainTransport (rtcpMux off, connected to
 * ffmpeg's ports) → paused consumer → ffmpeg `-c copy` into WebM/Matroska. The consumer is resumed
 * only once ffmpeg holds its port, and a key frame is requested then, so the file starts with one.
 * If ffmpeg dies, the capture opens a new segment (new transport, consumer, ffmpeg, file) and the
 * gap is logged; files already written stay as they are.
 */
export class TrackCapture {
  private live: LiveSegment | null = null;
  private stopped = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Gap opened by a dying ffmpeg; closed when the next segment forwards its first packet. */
  private openGap: { trackId: string; fromMs: number; toMs: number | null; reason: string } | null = null;
  private readonly log: Log;
  private markListening!: () => void;
  /** Resolves once an ffmpeg holds its port (a restarted one, if the first died first), or the capture ended. */
  readonly listening = new Promise<void>((resolve) => (this.markListening = resolve));
  private markFlowing!: () => void;
  /** Resolves at the first packet forwarded to ffmpeg (for video: a key frame), or when the capture ends. */
  readonly flowing = new Promise<void>((resolve) => (this.markFlowing = resolve));

  constructor(private readonly options: TrackCaptureOptions) {
    this.log = typedLog(options.log).child({ trackId: options.record.trackId, producerId: options.producer.id });
  }

  get trackId(): string {
    return this.options.record.trackId;
  }
  get restartCount(): number {
    return this.restarts;
  }
  /** The producer is sending (not paused, not closed): its packets are expected. */
  get producerLive(): boolean {
    return !this.options.producer.paused && !this.options.producer.closed;
  }

  /**
   * Opens the first segment. `listening` resolves once a segment's ffmpeg holds its port: when the
   * first ffmpeg dies before that (its port taken), the one restarted in its place, since the
   * recorder holds every track's packets until all listen (a track let through early would start
   * its file before the recording's window).
   */
  async start(): Promise<void> {
    try {
      await this.openSegment();
    } catch (error) {
      this.settle();
      // Stopped (recording over, producer gone) while starting: its consumer closed under it. Not
      // trouble: what was live before is measured against the files like any other gap.
      if (this.stopped || this.options.producer.closed) return;
      this.trouble(`capture could not start (${error instanceof Error ? error.message : String(error)})`);
      throw error;
    }
  }

  /** The capture will not listen or forward (again): nothing may wait for it. */
  private settle(): void {
    this.markListening();
    this.markFlowing();
  }

  /** Capture trouble the host should hear about (only while the track was live: a paused one loses nothing). */
  private trouble(what: string): void {
    if (this.options.producer.paused) return;
    const { troubles } = this.options.record;
    if (troubles.length < 32) troubles.push(what.slice(0, 300));
    this.options.onChange();
  }

  /** Ends the capture: stops forwarding, lets ffmpeg write its trailer, releases everything. */
  async stop(reason: Segment['endReason'] = 'stopped'): Promise<void> {
    this.stopped = true;
    this.settle();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const live = this.live;
    this.live = null;
    if (live) await this.endLive(live, reason);
  }

  private async endLive(live: LiveSegment, reason: Segment['endReason']): Promise<void> {
    // Stop ffmpeg while packets still flow, so it notices the signal at once and writes its trailer.
    await live.ffmpeg.stop();
    this.log.debug('track segment ended', { file: live.record.file, ffmpeg: live.ffmpeg.stderrTail().slice(-600) });
    live.consumer.close();
    live.transport.close();
    this.endSegment(live.record, reason);
    await live.release();
  }

  private endSegment(segment: Segment, reason: Segment['endReason']): void {
    if (segment.endedAt !== null) return;
    segment.endedAt = Date.now();
    segment.endReason = reason;
    this.options.onChange();
  }

  private async openSegment(): Promise<void> {
    const { router, producer, record, recordingDir } = this.options;
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: false,
      comedia: false,
    });
    let consumer: Consumer;
    try {
      consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: this.options.rtpCapabilities, paused: true });
    } catch (error) {
      transport.close();
      throw error;
    }
    // Stopped while the consumer was being made: nothing was started, nothing to keep.
    if (this.stopped) {
      transport.close();
      return;
    }
    // A young simulcast track starts on its lowest layer: a top layer the sender drops (send
    // estimate ramping) would otherwise cost the file its first second. (An older one starts on
    // the top layer, so its file's header has the size it mostly has.) Not awaited here: the
    // worker handles requests in order, so it applies before the resume, and a track published
    // while recording loses what arrives before its capture runs.
    const lowered = new LayerStart(consumer).startLow(Date.now() - this.options.publishedAt);
    const codec = mainCodec(consumer.rtpParameters);
    const container = containerFor(codec);
    const index = record.segments.length;
    const base = `${record.trackId}-${String(index).padStart(3, '0')}`;
    const file = `${base}.${container.captureExt}`;
    const output = path.join(recordingDir, file);
    let capture: CaptureProcess;
    try {
      capture = (await this.options.pool?.()?.take(codec, output)) ?? (await spawnCapture(consumer.rtpParameters, path.join(recordingDir, `${base}.sdp`), output));
    } catch (error) {
      transport.close();
      throw error;
    }
    const { ffmpeg, rtpPort, rtcpPort } = capture;

    const segment: Segment = { file, firstRtpWallMs: null, firstRtpTimestamp: null, startedAt: Date.now(), pid: ffmpeg.pid, endedAt: null, endReason: null, ...(capture.outputArg !== output ? { ffmpegOutput: capture.outputArg } : {}) };
    record.segments.push(segment);
    record.mimeType = codec.mimeType;
    record.contentType = container.contentType;
    record.finalExt = container.finalExt;
    this.options.onChange();
    const live: LiveSegment = { record: segment, transport, consumer, ffmpeg, release: () => capture.release() };
    this.live = live;
    this.log.info('track segment started', { file, pid: ffmpeg.pid, rtpPort, codec: codec.mimeType, warm: capture.warm });
    if (this.stopped) {
      // Stopped while the capture process was being found: end it like a stop would.
      this.live = null;
      await this.endLive(live, 'stopped');
      return;
    }

    consumer.on('producerclose', () => {
      this.log.info('producer closed: finishing track');
      this.options.onProducerGone();
    });
    consumer.on('transportclose', () => {
      if (!this.stopped) this.log.warn('transport closed under the recorder (router closed?)');
    });
    void ffmpeg.exited.then((exit) => this.onFfmpegExit(live, exit));
    if (consumer.kind === 'video' && ffmpeg.child.stderr) {
      const stopWatching = requestKeyFramesOnLoss(ffmpeg.child.stderr, async () => {
        this.log.debug('capture lost video sync: key frame requested', { file });
        await consumer.requestKeyFrame();
      });
      consumer.observer.once('close', stopWatching);
    }

    const connected = Promise.all([transport.connect({ ip: '127.0.0.1', port: rtpPort, rtcpPort }), lowered]);
    connected.catch(() => undefined); // awaited below unless the segment ended first (then nothing to report)
    // A warm capture was listening when the pool handed it out: its connect goes out together with
    // the resume below (every round trip to the worker delays a new track's first frame). A cold
    // one must hold its port before anything is sent to it.
    if (!capture.warm) await connected;
    const ready = capture.warm || (await this.waitUntilListening(ffmpeg, [rtpPort, rtcpPort]));
    this.log.debug('capture ffmpeg listening', { ready, msToListen: Date.now() - segment.startedAt });
    // Not ready, or died since: its exit handler restarts it (whose listening counts), or gives up.
    if (!ready || this.live !== live) return;
    this.markListening();
    if (consumer.closed) return;
    if (this.options.gate) await this.options.gate;
    if (this.live !== live || consumer.closed) return;

    // Sent together with the resume below: the worker enables tracing before it resumes.
    const tracing = consumer.enableTraceEvent(['rtp', 'keyframe']);
    const anchor = new TimelineAnchor(codec.clockRate);
    const onTrace = (trace: ConsumerTraceEventData) => {
      const packet = (trace.info as { rtpPacket?: { timestamp?: number } } | undefined)?.rtpPacket;
      if (trace.direction !== 'out' || typeof packet?.timestamp !== 'number') return;
      const first = anchor.anchorWallMs === null;
      const moved = anchor.observe(wallClockOf(trace.timestamp), packet.timestamp);
      if (moved) {
        segment.firstRtpWallMs = anchor.anchorWallMs;
        segment.firstRtpTimestamp = anchor.firstRtpTimestamp;
      }
      if (first) {
        this.markFlowing();
        // msAfterLive: from the producer's last live span opening (sampled every 250 ms, so it may read
        // a little late, even negative) to its first packet here. For a debug line only.
        const liveFrom = this.options.record.live.at(-1)?.from;
        this.log.debug('track capture flowing', { file: segment.file, msToResume: resumedAt - segment.startedAt, msToFirstPacket: Date.now() - segment.startedAt, msAfterLive: liveFrom === undefined ? null : Date.now() - liveFrom });
        if (this.openGap && segment.firstRtpWallMs !== null) {
          this.openGap.toMs = segment.firstRtpWallMs;
          this.log.warn('track capture resumed after a gap', { gapMs: this.openGap.toMs - this.openGap.fromMs });
          this.openGap = null;
        }
        this.options.onChange();
      }
      if (anchor.settled) {
        consumer.off('trace', onTrace);
        void consumer.enableTraceEvent([]).catch(() => undefined);
        this.log.debug('track timeline anchored', { file: segment.file, anchor: segment.firstRtpWallMs });
        this.options.onChange();
      }
    };
    consumer.on('trace', onTrace);
    let resumedAt = Date.now();
    this.options.onResuming?.();
    await Promise.all([connected, tracing, consumer.resume(), ...(consumer.kind === 'video' ? [consumer.requestKeyFrame()] : [])]);
    resumedAt = Date.now();
    if (consumer.kind === 'video' && this.live === live) {
      const stopAsking = requestKeyFramesUntilFlowing(() => consumer.requestKeyFrame(), this.flowing);
      consumer.observer.once('close', stopAsking);
    }
  }

  /** ffmpeg binds its RTP and RTCP ports after reading the SDP; only then may packets flow. */
  private async waitUntilListening(ffmpeg: FfmpegProcess, ports: readonly number[]): Promise<boolean> {
    const deadline = Date.now() + FFMPEG_READY_TIMEOUT_MS;
    let exited = false;
    void ffmpeg.exited.then(() => (exited = true));
    while (Date.now() < deadline && !exited) {
      if (await holdsUdpPorts(ffmpeg.pid, ports)) return true;
      await new Promise((r) => setTimeout(r, 15));
    }
    if (!exited) {
      this.log.warn('ffmpeg did not open its port in time: restarting it', { port: ports[0]! });
      ffmpeg.child.kill('SIGKILL'); // its exit handler opens a new segment
    }
    return false;
  }

  private onFfmpegExit(live: LiveSegment, exit: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.live !== live || this.stopped) return; // a stop we asked for
    this.live = null;
    live.consumer.close();
    live.transport.close();
    // The participant's track ended and its stream's end reached ffmpeg before the recorder's own
    // stop did (on a busy box ffmpeg may exit on it, code 1): the track is over, nothing died.
    const trackEnded = this.options.producer.closed;
    this.endSegment(live.record, trackEnded ? 'producerClosed' : 'ffmpegDied');
    void live.release();
    if (trackEnded) return this.settle();
    const reason = `ffmpeg exited (code ${exit.code}, signal ${exit.signal}): ${live.ffmpeg.stderrTail().trim().split('\n').slice(-2).join(' | ')}`.slice(0, 500);
    this.openGap = { trackId: this.trackId, fromMs: Date.now(), toMs: null, reason };
    this.options.onGap(this.openGap);
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    if (this.restarts >= this.options.maxRestarts) {
      this.settle();
      this.log.error('ffmpeg keeps dying: giving up on this track', { reason });
      this.trouble(`capture gave up after ${this.restarts} restarts (ffmpeg exited with ${how}); the rest of this track is missing`);
      return;
    }
    // Died before it forwarded anything (e.g. its port was taken before it could bind): nothing
    // was lost that the coverage check would not see, so it is no trouble to report.
    if (live.record.firstRtpWallMs !== null) this.trouble(`capture interrupted (ffmpeg exited with ${how}) and restarted in a new file`);
    this.restarts++;
    this.log.warn('ffmpeg died: restarting with a new segment', { reason, restart: this.restarts });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped || this.options.producer.closed) return this.settle();
      this.openSegment().catch((error: unknown) => {
        this.settle();
        this.log.error('could not restart the track capture', { err: String(error) });
        this.trouble(`capture could not be restarted (${error instanceof Error ? error.message : String(error)}); the rest of this track is missing`);
      });
    }, this.options.restartDelayMs);
  }

  /** The ffmpeg of the current segment (tests kill it to prove restarts). */
  currentFfmpegPid(): number | null {
    return this.live?.ffmpeg.pid ?? null;
  }
}
