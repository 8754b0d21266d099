export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

interface Totals {
  received: number;
  lost: number;
}

/**
 * Connection quality from the receive transport's WebRTC stats: round-trip time of the selected
 * candidate pair and packet loss since the previous sample.
 */
export class QualityMeter {
  private previous: Totals | null = null;
  rttMs: number | null = null;
  lossPercent: number | null = null;

  sample(report: RTCStatsReport): Quality {
    let rtt: number | null = null;
    const totals: Totals = { received: 0, lost: 0 };
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.type === 'candidate-pair' && stat.state === 'succeeded' && (stat.nominated === true || rtt === null)) {
        if (typeof stat.currentRoundTripTime === 'number') rtt = stat.currentRoundTripTime * 1000;
      }
      if (stat.type === 'inbound-rtp') {
        totals.received += typeof stat.packetsReceived === 'number' ? stat.packetsReceived : 0;
        totals.lost += typeof stat.packetsLost === 'number' ? Math.max(0, stat.packetsLost) : 0;
      }
    });
    const previous = this.previous;
    this.previous = totals;
    this.rttMs = rtt;
    if (previous) {
      const received = totals.received - previous.received;
      const lost = totals.lost - previous.lost;
      this.lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
    }
    return classify(this.rttMs, this.lossPercent);
  }
}

export function classify(rttMs: number | null, lossPercent: number | null): Quality {
  if (rttMs === null && lossPercent === null) return 'unknown';
  const rtt = rttMs ?? 0;
  const loss = lossPercent ?? 0;
  if (rtt < 200 && loss < 2) return 'good';
  if (rtt < 450 && loss < 8) return 'fair';
  return 'poor';
}
