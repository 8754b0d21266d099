import type { MediaLink } from './media-link.js';
import type { MediaSession } from './media-session.js';
import { QualityMeter, remoteMediaBack, sampleOf, type Quality } from './quality.js';
import type { RemoteTrack } from './remote-tracks.js';

/** Stats are read at most this often, and only for what the UI shows. */
const TICK_MS = 1_000;
/** The header's quality is judged over this window. */
const QUALITY_WINDOW_MS = 3_000;

export interface InboundRow {
  participantId: string;
  displayName: string;
  kind: string;
  source: string;
  spatialLayer: number | null;
  producerPaused: boolean;
  framesDecoded: number;
  frameWidth: number;
  totalAudioEnergy: number;
  bytesReceived: number;
}

/**
 * One remote camera as the browser's video pipeline counts it. The delays between rendered frames
 * are timed there, off the page's main thread, so a sampler the page answers late still learns
 * how long the longest of them was (scripts/failover/drill.ts).
 */
export interface CameraProgress {
  /** The consumer shown: after a switch or a swap it is another one, with counters from zero. */
  consumerId: string;
  framesDecoded: number;
  /** The sum of the delays between consecutive frames, ms (the stats' totalInterFrameDelay; NaN if not reported). */
  interFrameDelayMs: number;
  /** The sum of their squares, ms² (totalSquaredInterFrameDelay). */
  interFrameDelaySquaresMs2: number;
  /** When the stats were taken, and when the page began to show this track (page clock, performance.now()). */
  statsAt: number;
  shownAt: number;
}

/** How much older than its request a stats report may be (Chromium serves a cached one for a moment). */
const STATS_CACHE_MS = 100;

/**
 * `requestedAt`: when getStats was called. The delays are NaN when the browser does not report
 * them (a reader must not take their absence for "no delay").
 */
function progressOf(consumerId: string, shownAt: number, requestedAt: number, report: RTCStatsReport | null): CameraProgress {
  const now = performance.now();
  const progress: CameraProgress = { consumerId, framesDecoded: 0, interFrameDelayMs: Number.NaN, interFrameDelaySquaresMs2: Number.NaN, statsAt: now, shownAt };
  const add = (sum: number, value: number) => (Number.isNaN(sum) ? value : sum + value);
  report?.forEach((stat: Record<string, unknown>) => {
    if (stat.type !== 'inbound-rtp') return;
    // The stats' own time (ms since the epoch) on the page clock, when it lies between the request
    // and now: a report that took long to come was taken when it was. Else when it arrived (later, never earlier).
    const takenAt = typeof stat.timestamp === 'number' ? stat.timestamp - performance.timeOrigin : Number.NaN;
    if (takenAt >= requestedAt - STATS_CACHE_MS && takenAt <= now) progress.statsAt = takenAt;
    if (typeof stat.framesDecoded === 'number') progress.framesDecoded += stat.framesDecoded;
    if (typeof stat.totalInterFrameDelay === 'number') progress.interFrameDelayMs = add(progress.interFrameDelayMs, stat.totalInterFrameDelay * 1_000);
    if (typeof stat.totalSquaredInterFrameDelay === 'number') progress.interFrameDelaySquaresMs2 = add(progress.interFrameDelaySquaresMs2, stat.totalSquaredInterFrameDelay * 1_000_000);
  });
  return progress;
}

export interface OutboundRow {
  source: string;
  /** Paused here (the track is off) and at the node (nothing forwarded). */
  paused: boolean;
  pausedAtNode: boolean;
  framesEncoded: number;
  bytesSent: number;
  layers: number;
}

/**
 * The numbers the page shows about its connection: the header's quality (every 3 s) and, after a
 * reconnect, whether remote media flows again (every second until it does). Also reads per-track
 * stats on demand for the debug hook; nothing here polls for tests.
 */
export class CallStats {
  quality: Quality = 'unknown';
  readonly meter = new QualityMeter();
  private readonly timer: number;
  private lastQualityAt = performance.now();
  private sampledSession: MediaSession | null = null;

  constructor(
    private readonly link: MediaLink,
    /** The quality or the connection status changed. */
    private readonly changed: () => void,
  ) {
    this.timer = window.setInterval(() => void this.tick(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    const qualityDue = now - this.lastQualityAt >= QUALITY_WINDOW_MS - TICK_MS / 2;
    if (!qualityDue && !this.link.awaitingRemoteMedia) return;
    if (qualityDue) this.lastQualityAt = now;
    const session = this.link.session;
    if (!session || this.link.status !== 'connected') {
      if (qualityDue) this.setQuality(this.link.status === 'off' ? 'unknown' : 'poor');
      return;
    }
    if (session !== this.sampledSession) {
      this.meter.reset(); // a new receive transport: its counters start from zero
      this.sampledSession = session;
    }
    const report = await session.transportStats().catch(() => null);
    if (!report || session !== this.link.session) return;
    // A camera the page holds paused (off the grid page) sends us nothing: not a stall.
    const remotes = [...this.link.remotes.values()].map((remote) => ({ trackId: remote.consumer.track.id, sending: !remote.producerPaused && !remote.pausedByPage }));
    const sample = sampleOf(report, remotes);
    if (this.link.awaitingRemoteMedia && remoteMediaBack(sample, performance.now() - this.link.connectedAt)) this.link.remoteMediaBack();
    if (qualityDue) this.setQuality(this.meter.sample(sample));
  }

  private setQuality(quality: Quality): void {
    // Nothing arrives on the session any more (a frozen node): a move need not wait to switch.
    this.link.mediaStalled(quality === 'lost');
    if (quality === this.quality) return;
    this.quality = quality;
    this.changed();
  }

  /** Inbound stats per remote track (those `keep` keeps), for the debug hook and the e2e test. */
  inbound(keep: (remote: RemoteTrack) => boolean = () => true): Promise<InboundRow[]> {
    return Promise.all(
      [...this.link.remotes.values()].filter(keep).map(async (remote) => {
        const row: InboundRow = {
          participantId: remote.participantId,
          displayName: remote.displayName,
          kind: remote.kind,
          source: remote.source,
          spatialLayer: remote.spatialLayer,
          producerPaused: remote.producerPaused,
          framesDecoded: 0,
          frameWidth: 0,
          totalAudioEnergy: 0,
          bytesReceived: 0,
        };
        const report = await remote.consumer.getStats().catch(() => null);
        report?.forEach((stat: Record<string, unknown>) => {
          if (stat.type !== 'inbound-rtp') return;
          if (typeof stat.framesDecoded === 'number') row.framesDecoded += stat.framesDecoded;
          if (typeof stat.frameWidth === 'number') row.frameWidth = stat.frameWidth;
          if (typeof stat.totalAudioEnergy === 'number') row.totalAudioEnergy += stat.totalAudioEnergy;
          if (typeof stat.bytesReceived === 'number') row.bytesReceived += stat.bytesReceived;
        });
        return row;
      }),
    );
  }

  /**
   * Each shown remote camera's progress by sender's name — only the cameras' stats, so a failover
   * drill sampling every 100 ms loads the page it measures as little as it can.
   */
  async cameraProgress(): Promise<Record<string, CameraProgress>> {
    const cameras = [...this.link.remotes.values()].filter((remote) => remote.source === 'camera');
    const rows = await Promise.all(
      cameras.map(async (remote) => {
        const shownAt = this.link.shownAt(remote.consumer.id) ?? performance.now();
        const requestedAt = performance.now();
        return [remote.displayName, progressOf(remote.consumer.id, shownAt, requestedAt, await remote.consumer.getStats().catch(() => null))] as const;
      }),
    );
    return Object.fromEntries(rows);
  }

  /** Outbound stats per producer (simulcast layers count as one row with `layers`). */
  async outbound(): Promise<OutboundRow[]> {
    const producers = (await this.link.session?.producerStats()) ?? [];
    return producers.map(({ source, paused, pausedAtNode, report }) => {
      const row: OutboundRow = { source, paused, pausedAtNode, framesEncoded: 0, bytesSent: 0, layers: 0 };
      report.forEach((stat: Record<string, unknown>) => {
        if (stat.type !== 'outbound-rtp') return;
        row.layers += 1;
        if (typeof stat.framesEncoded === 'number') row.framesEncoded += stat.framesEncoded;
        if (typeof stat.bytesSent === 'number') row.bytesSent += stat.bytesSent;
      });
      return row;
    });
  }
}
