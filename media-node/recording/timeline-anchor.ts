/**
 * Where a track file's time 0 sits on the wall clock.
 *
 * ffmpeg writes a track's packets at their RTP times relative to the first packet, so the file
 * is placed by one number: the wall-clock time of that first packet's RTP timestamp. A single
 * arrival is a poor estimate (it carries whatever queueing delay that packet met), so every packet
 * of the first few seconds votes: its arrival minus the RTP time elapsed since the first packet;
 * the smallest vote is the least-delayed path. Arrival times come from the mediasoup worker's own
 * trace timestamps (CLOCK_MONOTONIC ms, the clock process.hrtime reads too), so IPC delay does
 * not count either.
 */
export const ANCHOR_WINDOW_MS = 3000;

const monotonicNowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Converts a worker trace timestamp (monotonic ms) to epoch ms. */
export function wallClockOf(monotonicMs: number): number {
  return Date.now() - (monotonicNowMs() - monotonicMs);
}

export class TimelineAnchor {
  private firstTs: number | null = null;
  private best: number | null = null;
  private elapsedMs = 0;

  constructor(private readonly clockRate: number) {}

  get firstRtpTimestamp(): number | null {
    return this.firstTs;
  }
  /** Wall clock (epoch ms) of the first packet's RTP time; null before any packet. */
  get anchorWallMs(): number | null {
    return this.best === null ? null : Math.round(this.best);
  }
  /** True once the window has passed: no more packets need to be looked at. */
  get settled(): boolean {
    return this.elapsedMs >= ANCHOR_WINDOW_MS;
  }

  /** Takes one forwarded packet (arrival in epoch ms, RTP timestamp); true if the anchor moved. */
  observe(arrivalWallMs: number, rtpTimestamp: number): boolean {
    if (this.firstTs === null) this.firstTs = rtpTimestamp;
    // Unsigned 32-bit difference: RTP timestamps wrap.
    const ticks = (rtpTimestamp - this.firstTs) >>> 0;
    if (ticks > 0x7fffffff) return false; // an older (reordered) packet
    this.elapsedMs = Math.max(this.elapsedMs, (ticks / this.clockRate) * 1000);
    const vote = arrivalWallMs - (ticks / this.clockRate) * 1000;
    if (this.best !== null && vote >= this.best) return false;
    this.best = vote;
    return true;
  }
}
