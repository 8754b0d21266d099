/** How the header describes the connection. 'lost': remote media should arrive and none does. */
export type Quality = 'good' | 'fair' | 'poor' | 'lost' | 'unknown';

/** Packet counters of one inbound RTP stream, as getStats reports them (totals since it began). */
export interface StreamCounters {
  received: number;
  lost: number;
}

/** One reading of the receive transport's stats. */
export interface QualitySample {
  /** Round trip of the selected candidate pair, ms (null: not known yet). */
  rttMs: number | null;
  /** Counters per inbound-rtp stat id, of the remote tracks we consume only. */
  streams: ReadonlyMap<string, StreamCounters>;
  /** Remote tracks (track ids) whose sender is not paused: their packets should be arriving. */
  sendingRemotes: ReadonlySet<string>;
}

export interface QualityReading {
  quality: Quality;
  rttMs: number | null;
  /** Loss over the window between two samples, % (null: no window yet). */
  lossPercent: number | null;
}

/**
 * The connection rule, from two samples a window apart. No packets is not "no loss" when someone
 * was sending over the whole window: that is a stalled or dead link and reads as 'lost'.
 */
export function assessQuality(previous: QualitySample | null, current: QualitySample): QualityReading {
  if (!previous) return { quality: classify(current.rttMs, null), rttMs: current.rttMs, lossPercent: null };
  const { received, lost } = packetsBetween(previous, current);
  const expectingMedia = [...current.sendingRemotes].some((id) => previous.sendingRemotes.has(id));
  if (expectingMedia && received === 0) return { quality: 'lost', rttMs: current.rttMs, lossPercent: 100 };
  // Nobody was sending and nothing came: nothing was lost.
  const lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  return { quality: classify(current.rttMs, lossPercent), rttMs: current.rttMs, lossPercent };
}

/** Packets received and lost between two samples; a stream that began in the window counts whole. */
export function packetsBetween(previous: QualitySample, current: QualitySample): StreamCounters {
  const sum: StreamCounters = { received: 0, lost: 0 };
  for (const [id, now] of current.streams) {
    const before = previous.streams.get(id) ?? { received: 0, lost: 0 };
    sum.received += Math.max(0, now.received - before.received);
    sum.lost += Math.max(0, now.lost - before.lost);
  }
  return sum;
}

export function classify(rttMs: number | null, lossPercent: number | null): Quality {
  if (rttMs === null && lossPercent === null) return 'unknown';
  const rtt = rttMs ?? 0;
  const loss = lossPercent ?? 0;
  if (rtt < 200 && loss < 2) return 'good';
  if (rtt < 450 && loss < 8) return 'fair';
  return 'poor';
}

/** The part of an RTCStatsReport read here (a Map of stats in tests). */
export interface StatsLike {
  forEach(callback: (stat: Record<string, unknown>) => void): void;
}

/** A remote track we consume, as the quality rule sees it. */
export interface RemoteTrackState {
  trackId: string;
  /** Its sender has not paused it. */
  sending: boolean;
}

/**
 * Reads a receive transport's stats report into a sample. Only the streams of our remote tracks
 * count: the node's bandwidth probes (padding on a stream of their own) are not anyone's media.
 */
export function sampleOf(report: StatsLike, remotes: Iterable<RemoteTrackState>): QualitySample {
  let rttMs: number | null = null;
  const streams = new Map<string, StreamCounters>();
  const trackIds = new Set<string>();
  const sendingRemotes = new Set<string>();
  for (const remote of remotes) {
    trackIds.add(remote.trackId);
    if (remote.sending) sendingRemotes.add(remote.trackId);
  }
  report.forEach((stat) => {
    if (stat.type === 'candidate-pair' && stat.state === 'succeeded' && (stat.nominated === true || rttMs === null)) {
      if (typeof stat.currentRoundTripTime === 'number') rttMs = stat.currentRoundTripTime * 1000;
    }
    if (stat.type === 'inbound-rtp' && typeof stat.id === 'string' && typeof stat.trackIdentifier === 'string' && trackIds.has(stat.trackIdentifier)) {
      streams.set(stat.id, {
        received: typeof stat.packetsReceived === 'number' ? stat.packetsReceived : 0,
        lost: typeof stat.packetsLost === 'number' ? Math.max(0, stat.packetsLost) : 0,
      });
    }
  });
  return { rttMs, streams, sendingRemotes };
}

/** Keeps the previous sample so each new one is judged over the window since. */
export class QualityMeter {
  private previous: QualitySample | null = null;
  rttMs: number | null = null;
  lossPercent: number | null = null;

  sample(current: QualitySample): Quality {
    const reading = assessQuality(this.previous, current);
    this.previous = current;
    this.rttMs = reading.rttMs;
    this.lossPercent = reading.lossPercent;
    return reading.quality;
  }

  /** A new receive transport: its counters start over, so the old sample is no baseline. */
  reset(): void {
    this.previous = null;
  }
}

/** After a reconnect with nobody sending to us, how long to wait for a sender before calling it back. */
export const NOTHING_TO_AWAIT_MS = 2_000;

/**
 * After a reconnect: the connection is back once remote packets arrive on the new session, not
 * when our own media is re-sent. With nobody sending (all muted, or alone) there is nothing to
 * wait for once the node has had a moment to offer what exists.
 */
export function remoteMediaBack(sample: QualitySample, msSinceConnected: number): boolean {
  for (const counters of sample.streams.values()) if (counters.received > 0) return true;
  return sample.sendingRemotes.size === 0 && msSinceConnected >= NOTHING_TO_AWAIT_MS;
}
