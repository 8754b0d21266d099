import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RtpCodecCapability, RtpCodecParameters } from 'mediasoup/types';
import { captureFfmpegArgs, type CaptureProcess } from './capture-process.js';
import { spawnFfmpeg } from './ffmpeg.js';
import { containerFor, sdpForConsumer } from './sdp.js';
import { freeUdpPortPair, holdsUdpPorts } from './udp-ports.js';
import type { Log } from '../log.js';
import { typedLog, type RecorderLogger } from './log.js';

/**
 * Capture ffmpegs started before they are needed. A cold ffmpeg takes 0.1 s on an idle box and
 * seconds on a loaded one, and every packet before it listens is lost: a track published while
 * recording would miss its first seconds. A warm one already listens, so its track is captured
 * from its first packet. It was started writing to `slot-N.<ext>`, a path that does not exist
 * yet: ffmpeg opens its output only after probing the first packets, so the slot is linked to the
 * real track file when it is handed out and ffmpeg creates that file through the link.
 *
 * Only codecs whose depacketizer needs nothing from the SDP's fmtp (Opus, VP8, VP9) are pooled,
 * keyed by what the SDP does say (mime type, clock rate, channels, payload type).
 */
const POOLABLE = /^(audio\/opus|video\/vp8|video\/vp9)$/i;
const LISTEN_TIMEOUT_MS = 30_000;

const keyOf = (codec: Pick<RtpCodecParameters, 'mimeType' | 'clockRate' | 'channels' | 'payloadType'>) =>
  `${codec.mimeType.toLowerCase()}|${codec.clockRate}|${codec.channels ?? 1}|${codec.payloadType}`;

interface Slot {
  process: CaptureProcess;
  link: string;
  sdp: string;
}

export class CapturePool {
  private readonly idle = new Map<string, Slot[]>();
  private readonly codecs = new Map<string, RtpCodecParameters>();
  private readonly starting = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private counter = 0;
  private closed = false;
  private readonly prepared: Promise<void>;
  private readonly log: Log;

  constructor(
    private readonly dir: string,
    logger: RecorderLogger,
    private readonly perCodec = 2,
  ) {
    const log = (this.log = typedLog(logger));
    this.prepared = this.clearLeftovers().catch((error: unknown) => log.warn('capture pool: could not clear leftovers', { err: String(error) }));
  }

  /**
   * Keeps `perCodec` captures listening for the router's preferred audio and video codec (the
   * first poolable one of each kind: what browsers send unless they cannot).
   */
  prime(capabilities: readonly RtpCodecCapability[]): void {
    if (this.perCodec <= 0) return;
    const poolable = capabilities.filter((c) => POOLABLE.test(c.mimeType) && c.preferredPayloadType !== undefined);
    for (const capability of [poolable.find((c) => c.kind === 'audio'), poolable.find((c) => c.kind === 'video')]) {
      if (!capability || capability.preferredPayloadType === undefined) continue;
      const codec: RtpCodecParameters = {
        mimeType: capability.mimeType,
        payloadType: capability.preferredPayloadType,
        clockRate: capability.clockRate,
        ...(capability.channels !== undefined ? { channels: capability.channels } : {}),
        parameters: {},
      };
      const key = keyOf(codec);
      if (!this.codecs.has(key)) this.codecs.set(key, codec);
      this.refill(key);
    }
  }

  /** A listening capture for this codec, now writing to `target` (null: none ready, start a cold one). */
  async take(codec: RtpCodecParameters, target: string): Promise<CaptureProcess | null> {
    const key = keyOf(codec);
    const slots = this.idle.get(key) ?? [];
    let slot: Slot | undefined;
    while ((slot = slots.shift()) && (slot.process.ffmpeg.child.exitCode !== null || slot.process.ffmpeg.child.signalCode !== null));
    this.refill(key);
    if (!slot) return null;
    try {
      await fs.symlink(target, slot.link);
    } catch (error) {
      // The slot's ffmpeg opened its output already (it must not): retire it, start a cold one.
      this.log.warn('capture pool: a warm capture could not be handed out', { err: String(error) });
      slot.process.ffmpeg.child.kill('SIGKILL');
      void slot.process.ffmpeg.exited.then(() => slot.process.release());
      return null;
    }
    return slot.process;
  }

  /** Warm captures listening now (tests, metrics). */
  get idleCount(): number {
    return [...this.idle.values()].reduce((n, slots) => n + slots.length, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(slots.map(async (slot) => {
      slot.process.ffmpeg.child.kill('SIGKILL');
      await slot.process.ffmpeg.exited;
      await slot.process.release();
    }));
  }

  private refill(key: string): void {
    const codec = this.codecs.get(key);
    if (!codec || this.closed) return;
    const have = (this.idle.get(key)?.length ?? 0) + (this.starting.get(key) ?? 0);
    for (let i = have; i < this.perCodec; i++) {
      this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
      void this.startSlot(key, codec)
        .then((slot) => {
          this.failures.set(key, 0);
          if (this.closed) return void slot.process.ffmpeg.child.kill('SIGKILL');
          const slots = this.idle.get(key) ?? [];
          slots.push(slot);
          this.idle.set(key, slots);
          // A warm ffmpeg that dies while idle is replaced (after a pause, so a broken one cannot spin).
          void slot.process.ffmpeg.exited.then(() => {
            const index = slots.indexOf(slot);
            if (index < 0) return;
            slots.splice(index, 1);
            void slot.process.release();
            setTimeout(() => this.refill(key), 1000).unref();
          });
        })
        .catch((error: unknown) => {
          const failures = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, failures);
          this.log.warn('capture pool: a warm capture did not start', { codec: codec.mimeType, err: String(error) });
          setTimeout(() => this.refill(key), Math.min(60_000, 1000 * 2 ** failures)).unref();
        })
        .finally(() => this.starting.set(key, (this.starting.get(key) ?? 1) - 1));
    }
  }

  private async startSlot(key: string, codec: RtpCodecParameters): Promise<Slot> {
    await this.prepared;
    const n = this.counter++;
    const container = containerFor(codec);
    const link = path.join(this.dir, `slot-${n}.${container.captureExt}`);
    const sdp = path.join(this.dir, `slot-${n}.sdp`);
    const { rtpPort, rtcpPort } = await freeUdpPortPair();
    await fs.writeFile(sdp, sdpForConsumer({ codecs: [codec], encodings: [], headerExtensions: [], rtcp: {} }, rtpPort));
    const ffmpeg = spawnFfmpeg(captureFfmpegArgs(sdp, link, container));
    const release = () => Promise.all([fs.rm(link, { force: true }), fs.rm(sdp, { force: true })]).then(() => undefined);
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (!(await holdsUdpPorts(ffmpeg.pid, [rtpPort, rtcpPort]))) {
      if (ffmpeg.child.exitCode !== null || ffmpeg.child.signalCode !== null || Date.now() > deadline) {
        ffmpeg.child.kill('SIGKILL');
        await release();
        throw new Error(`ffmpeg did not listen (${ffmpeg.stderrTail().trim().split('\n').pop() ?? 'no output'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    this.log.debug('capture pool: warm capture listening', { key, rtpPort, pid: ffmpeg.pid });
    return { process: { ffmpeg, rtpPort, rtcpPort, outputArg: link, warm: true, release }, link, sdp };
  }

  /** A killed node's warm ffmpegs still listen: end them (a linked one finishes its file) and start afresh. */
  private async clearLeftovers(): Promise<void> {
    const pids = await fs.readdir('/proc').catch(() => []);
    for (const entry of pids) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes('ffmpeg') || !cmdline.includes(`${this.dir}${path.sep}slot-`)) continue;
      this.log.warn('capture pool: stopping a warm capture left by a previous run', { pid: Number(entry) });
      for (const signal of ['SIGINT', 'SIGINT', 'SIGKILL'] as const) {
        try {
          process.kill(Number(entry), signal);
        } catch {
          break; // gone
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    await fs.rm(this.dir, { recursive: true, force: true });
    await fs.mkdir(this.dir, { recursive: true });
  }
}
