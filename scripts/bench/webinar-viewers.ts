/**
 * The webinar bench's viewers (scripts/bench-webinar.ts): viewer processes of receive-only werift
 * peers, and the handle the bench's main process keeps on each. A viewer process is this module
 * run with `--viewer-host`; it takes its orders (join, check, window, collect, close) over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ConsumerInfo } from '../../schema/wire/index.js';
import { WeriftPeer } from '../../media-node/test/peers/werift-peer.js';
import { median, sleep } from './stats.js';

/** A viewer joins again when its media has not started this long after it joined. */
export const MEDIA_WITHIN_MS = 10_000;
/** After the window, packets of it still on their way count as received, not lost: a host waits until none arrived for QUIET_MS, at most MAX_GRACE_MS. */
const QUIET_MS = 2_000;
const MAX_GRACE_MS = 20_000;

/** Epoch ms with sub-ms precision: comparable across this process and the viewer hosts. */
export const epochNow = () => performance.timeOrigin + performance.now();

/** A viewer to join: its node, a token per attempt (each a new participant), and whether it is on the presenter's node. */
export interface ViewerSpec {
  url: string;
  tokens: string[];
  reference: boolean;
}
type ToHost =
  | { type: 'join'; viewers: ViewerSpec[]; batch: number; awaitMedia: boolean }
  | { type: 'window'; from: number; to: number }
  | { type: 'check' }
  | { type: 'collect'; packets: number[] }
  | { type: 'close' };
type FromHost =
  | { type: 'joined'; count: number }
  | { type: 'status'; receiving: number; rejoined: number; gaveUp: number }
  | { type: 'result'; received: number; receivedByKind: { audio: number; video: number }; silentViewers: number; added: number[]; reference: number[]; loopDelayP95Ms: number }
  | { type: 'failed'; error: string };

/** A packet's key: its RTP timestamp (unique per packet of a kind from the presenter; relays keep it) and its kind. */
export const packetKey = (kind: 'audio' | 'video', rtpTimestamp: number) => rtpTimestamp * 2 + (kind === 'video' ? 1 : 0);
/**
 * The packets every viewer decrypts to read their send time: one in eight, chosen by a hash of the
 * RTP timestamp so that every viewer samples the same packets (the relay hop's cost is one packet's
 * delay at a relayed viewer minus its median at the presenter's node). Decrypting every packet in
 * werift's JavaScript is what held a 1,000-viewer run back (loss 91 %, event loops 2 s late).
 */
const SAMPLE_BITS = 3;
const sampled = (rtpTimestamp: number) => Math.imul(rtpTimestamp, 0x9e3779b1) >>> (32 - SAMPLE_BITS) === 0;

/**
 * A viewer host (a child process: the receivers are the bench's heaviest work, and the presenter
 * must not wait behind them). Its viewers complete ICE and DTLS and receive SRTP (werift), but
 * count each packet from its clear RTP header as it arrives and decrypt only the sampled ones;
 * they send no NACK, transport-cc feedback or receiver reports for media they never parse, so a
 * packet lost on the way to a viewer stays lost. Deliveries are counted per packet (RTP timestamp) from the window's start;
 * once the window is over the main process names its packets. Per sampled packet sent inside the
 * window, it compares each relayed viewer's delay with the median delay of this host's viewers on
 * the presenter's node for that same packet: both read the same clock, so the presenter's clock
 * and this one need not agree.
 */
async function viewerHost(): Promise<void> {
  const viewers: WeriftPeer[] = [];
  let window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
  let counting = false;
  const arrivals = new Map<number, number>();
  let windowPackets: number[] = [];
  const reference = new Map<number, number[]>();
  const relayed: [number, number][] = [];
  const send = (message: FromHost) => process.send?.(message);
  const received = (kind?: 0 | 1) => windowPackets.reduce((sum, key) => sum + (kind === undefined || key % 2 === kind ? (arrivals.get(key) ?? 0) : 0), 0);
  // Viewers that received nothing from the window's start to its collection: a stalled viewer, not a lossy path.
  const packetsOf = (viewer: WeriftPeer) => [...viewer.received.values()].reduce((sum, track) => sum + track.packets, 0);
  const packetsAtWindow = new Map<WeriftPeer, number>();
  const record = (consumer: ConsumerInfo, packet: Buffer, decrypt: () => Buffer, onPresenterNode: boolean) => {
    if (!counting) return;
    const rtpTimestamp = packet.readUInt32BE(4);
    const key = packetKey(consumer.kind, rtpTimestamp);
    arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
    if (!sampled(rtpTimestamp)) return;
    const rtp = decrypt();
    const stamp = rtp.readDoubleBE(rtp.length - 8);
    if (!(stamp >= window.from && stamp < window.to)) return;
    const delay = epochNow() - stamp;
    if (!onPresenterNode) relayed.push([stamp, delay]);
    else if (reference.has(stamp)) reference.get(stamp)!.push(delay);
    else reference.set(stamp, [delay]);
  };
  let rejoined = 0;
  /** Viewers still without media after their last join stay in (their packets count as lost); joins whose last attempt threw leave none. */
  const gaveUpViewers = new Set<WeriftPeer>();
  let lastJoinsFailed = 0;
  const gaveUp = () => lastJoinsFailed + [...gaveUpViewers].filter((viewer) => !receivesBoth(viewer)).length;
  let joinErrorShown = false;
  const receivesBoth = (viewer: WeriftPeer) => [...viewer.received.values()].filter((track) => track.packets > 0).length >= 2;
  /**
   * Joins one viewer and resolves once it receives audio and video, so that a batch's handshakes
   * (ICE, DTLS in werift's JavaScript) finish before the next batch starts theirs. A viewer with no
   * media MEDIA_WITHIN_MS after joining closes and joins again, as the product's client does when
   * its media does not connect: on a saturated box some joins' only connectivity check (werift
   * tries five times within 1.6 s, then never again: ICE "completed" with no pair nominated) or
   * DTLS handshake did not finish.
   */
  const join = async (spec: ViewerSpec, awaitMedia: boolean, firstAttempt = 1): Promise<void> => {
    for (let attempt = firstAttempt; ; attempt++) {
      const last = attempt >= spec.tokens.length;
      let viewer: WeriftPeer;
      try {
        viewer = await WeriftPeer.join({ url: spec.url, token: spec.tokens[attempt - 1]!, receive: 'raw', browserLikeConsent: true });
      } catch (error) {
        // The first one is shown: a join that always throws is a setup error, not a slow box.
        if (!joinErrorShown) {
          joinErrorShown = true;
          console.error(`webinar viewer: a join failed: ${String(error)}`);
        }
        if (last) return void lastJoinsFailed++;
        rejoined++;
        continue;
      }
      viewer.onSrtp = (consumer, packet, decrypt) => record(consumer, packet, decrypt, spec.reference);
      viewers.push(viewer);
      if (!awaitMedia) {
        unchecked.push({ viewer, spec, attempt });
        return;
      }
      if (await mediaWithin(viewer)) return;
      // Out of tokens: it stays, a viewer who never got media, and its packets count as lost.
      if (last) return void gaveUpViewers.add(viewer);
      await retire(viewer);
    }
  };
  const mediaWithin = async (viewer: WeriftPeer) => {
    const deadline = Date.now() + MEDIA_WITHIN_MS;
    while (!receivesBoth(viewer) && Date.now() < deadline) await sleep(100);
    return receivesBoth(viewer);
  };
  const retire = async (viewer: WeriftPeer) => {
    viewers.splice(viewers.indexOf(viewer), 1);
    rejoined++;
    await viewer.close();
  };
  /** Viewers joined before their media could flow (the first on each node, before the relays): checked, and joined again if need be, on 'check'. */
  const unchecked: { viewer: WeriftPeer; spec: ViewerSpec; attempt: number }[] = [];
  // The receivers' own lag: when it grows, they (not the nodes) limit the figures.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  setInterval(() => {
    const receiving = viewers.filter(receivesBoth).length;
    send({ type: 'status', receiving, rejoined, gaveUp: gaveUp() });
  }, 500);
  // The bench gone without a 'close' (killed): nothing is left to measure for.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToHost) => {
    void (async () => {
      if (message.type === 'join') {
        // `batch` joins in flight at a time, each taking the next viewer as soon as it is done.
        let next = 0;
        const lane = async () => {
          while (next < message.viewers.length) await join(message.viewers[next++]!, message.awaitMedia);
        };
        await Promise.all(Array.from({ length: message.batch }, lane));
        send({ type: 'joined', count: viewers.length });
      } else if (message.type === 'check') {
        await Promise.all(
          unchecked.splice(0).map(async ({ viewer, spec, attempt }) => {
            if (await mediaWithin(viewer)) return;
            if (attempt >= spec.tokens.length) return void gaveUpViewers.add(viewer);
            await retire(viewer);
            await join(spec, true, attempt + 1);
          }),
        );
        send({ type: 'joined', count: viewers.length });
      } else if (message.type === 'window') {
        window = { from: message.from, to: message.to };
        counting = true;
        for (const viewer of viewers) packetsAtWindow.set(viewer, packetsOf(viewer));
        setTimeout(() => loopDelay.enable(), Math.max(0, message.from - epochNow()));
      } else if (message.type === 'collect') {
        windowPackets = message.packets;
        // Late packets of the window still count (loss is what never arrives): wait, on this
        // process's own clock, until none arrived for a while.
        const deadline = Date.now() + MAX_GRACE_MS;
        for (let last = -1, quietSince = Date.now(); Date.now() < deadline; await sleep(250)) {
          const now = received();
          if (now !== last) [last, quietSince] = [now, Date.now()];
          else if (Date.now() - quietSince >= QUIET_MS) break;
        }
        const medians = new Map([...reference].map(([stamp, delays]) => [stamp, median(delays)]));
        const added = relayed.flatMap(([stamp, delay]) => (medians.has(stamp) ? [delay - medians.get(stamp)!] : []));
        loopDelay.disable();
        const silentViewers = viewers.filter((viewer) => packetsOf(viewer) === (packetsAtWindow.get(viewer) ?? 0)).length;
        send({ type: 'result', received: received(), receivedByKind: { audio: received(0), video: received(1) }, silentViewers, added, reference: [...medians.values()], loopDelayP95Ms: loopDelay.percentile(95) / 1e6 });
      } else {
        await Promise.allSettled(viewers.map((viewer) => viewer.close()));
        process.exit(0);
      }
    })().catch((error: unknown) => send({ type: 'failed', error: String(error) }));
  });
}

/** A viewer host as the main process sees it: the latest of each message kind it sent. */
export class Host {
  readonly child: ChildProcess;
  receiving = 0;
  /** Viewers that joined again because their media did not start (see viewerHost). */
  rejoined = 0;
  /** Viewers still without media after their last join: they stay in, their packets lost. */
  gaveUp = 0;
  private readonly waiters: ((message: FromHost) => void)[] = [];
  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--viewer-host'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromHost) => {
      if (message.type === 'status') {
        this.receiving = message.receiving;
        this.rejoined = message.rejoined;
        this.gaveUp = message.gaveUp;
      } else for (const waiter of this.waiters.splice(0)) waiter(message);
    });
  }
  send(message: ToHost): void {
    this.child.send(message);
  }
  /** The host's next answer (joined after join or check, result), or its failure. */
  async next<T extends FromHost['type']>(type: T): Promise<Extract<FromHost, { type: T }>> {
    const message = await new Promise<FromHost>((resolve, reject) => {
      this.waiters.push(resolve);
      this.child.once('exit', (code) => reject(new Error(`viewer host exited (${code})`)));
    });
    if (message.type === 'failed') throw new Error(`viewer host failed: ${message.error}`);
    if (message.type !== type) throw new Error(`viewer host answered ${message.type}, expected ${type}`);
    return message as Extract<FromHost, { type: T }>;
  }
}

if (process.argv.includes('--viewer-host')) await viewerHost();
