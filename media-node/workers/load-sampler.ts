import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { NodeLoad } from '../../schema/wire/index.js';
import type { Metrics } from '../metrics.js';
import type { RoomManager } from '../rooms/room-manager.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * How often transport and producer stats are read: each read is a round trip to every worker per
 * object, so it runs at its own, slower cadence than heartbeats (which send the latest sample).
 */
export const STATS_SAMPLE_INTERVAL_MS = 3_000;
/** The event-loop delay probe's timer period. */
const LOOP_DELAY_RESOLUTION_MS = 20;

/** One inbound RTP stream's cumulative counters at a sample (jitterMs null: clock rate unknown). */
export interface InboundStream {
  key: string;
  received: number;
  lost: number;
  jitterMs: number | null;
}

type StreamCounters = Map<string, { received: number; lost: number }>;

/**
 * Loss and jitter over the interval since `before`: loss from the counters' growth, jitter averaged
 * over the streams that received packets in it. A stream that stopped (a muted mic, a simulcast
 * layer the sender dropped, a page gone without a goodbye) keeps its last jitter in mediasoup's
 * stats for as long as it exists; counted, it would hold the node's jitter, and its placement,
 * hostage to a sender that is no longer sending.
 */
export function inboundQuality(streams: readonly InboundStream[], before: StreamCounters): { packetLoss: number; jitterMs: number; counters: StreamCounters } {
  let received = 0;
  let lost = 0;
  let jitterSumMs = 0;
  let jitterStreams = 0;
  const counters: StreamCounters = new Map();
  for (const stream of streams) {
    const previous = before.get(stream.key) ?? { received: 0, lost: 0 };
    const newPackets = Math.max(0, stream.received - previous.received);
    received += newPackets;
    lost += Math.max(0, stream.lost - previous.lost);
    if (newPackets > 0 && stream.jitterMs !== null) {
      jitterSumMs += stream.jitterMs;
      jitterStreams += 1;
    }
    counters.set(stream.key, { received: stream.received, lost: stream.lost });
  }
  return { packetLoss: received + lost > 0 ? lost / (received + lost) : 0, jitterMs: jitterStreams > 0 ? jitterSumMs / jitterStreams : 0, counters };
}

/**
 * Samples the node's load (bitrates, loss and jitter from mediasoup stats, counts from observers,
 * worker CPU from the pool, the node's own event-loop lag) for heartbeats and metrics.
 */
export class LoadSampler {
  private latest = { bitrateInBps: 0, bitrateOutBps: 0, packetLoss: 0, jitterMs: 0, eventLoopLagMs: 0 };
  private lastPackets: StreamCounters = new Map();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  /** How late timers ran since the last sample: a saturated node answers late, whatever its CPU says. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

  constructor(
    private readonly pool: WorkerPool,
    private readonly rooms: RoomManager,
    private readonly metrics: Metrics,
    private readonly recordings: () => number,
  ) {}

  start(intervalMs = STATS_SAMPLE_INTERVAL_MS): void {
    this.loopDelay.enable();
    this.timer = setInterval(() => void this.sample(), intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.loopDelay.disable();
  }

  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      let bitrateIn = 0;
      let bitrateOut = 0;
      const streams: InboundStream[] = [];
      for (const room of this.rooms.rooms.values()) {
        for (const participant of room.participants.values()) {
          for (const { transport } of participant.transports.values()) {
            const stats = await transport.getStats().catch(() => []);
            for (const stat of stats) {
              bitrateIn += stat.recvBitrate;
              bitrateOut += stat.sendBitrate;
            }
          }
          for (const { producer } of participant.producers.values()) {
            const stats = await producer.getStats().catch(() => []);
            const clockRate = producer.rtpParameters.codecs[0]?.clockRate ?? 0;
            for (const stat of stats) {
              // mediasoup reports interarrival jitter in RTP timestamp units (RFC 3550).
              streams.push({ key: `${producer.id}:${stat.ssrc}`, received: stat.packetCount, lost: stat.packetsLost, jitterMs: clockRate > 0 ? (stat.jitter / clockRate) * 1000 : null });
            }
          }
        }
      }
      const quality = inboundQuality(streams, this.lastPackets);
      this.lastPackets = quality.counters;
      this.latest = {
        bitrateInBps: bitrateIn,
        bitrateOutBps: bitrateOut,
        packetLoss: quality.packetLoss,
        jitterMs: quality.jitterMs,
        // p99 since the last sample, less the timer's own period (the histogram counts nanoseconds):
        // sustained lateness, not a single garbage-collection pause.
        eventLoopLagMs: this.loopDelay.count > 0 ? Math.max(0, this.loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0,
      };
      this.loopDelay.reset();
      this.updateMetrics();
    } finally {
      this.sampling = false;
    }
  }

  /** Refreshes the count gauges (called on every scrape as well as every sample). */
  updateMetrics(): void {
    const totals = this.rooms.totals();
    this.metrics.rooms.set(totals.rooms);
    this.metrics.participants.set(totals.participants);
    this.metrics.workersAlive.set(this.pool.aliveCount);
    for (const slot of this.pool.slots) {
      const worker = String(slot.index);
      this.metrics.transports.set({ worker }, slot.counts.transports);
      this.metrics.producers.set({ worker }, slot.counts.producers);
      this.metrics.consumers.set({ worker }, slot.counts.consumers);
      this.metrics.workerCpu.set({ worker }, slot.cpu);
    }
    this.metrics.bitrateIn.set(this.latest.bitrateInBps);
    this.metrics.bitrateOut.set(this.latest.bitrateOutBps);
    this.metrics.packetLoss.set(this.latest.packetLoss);
  }

  load(): NodeLoad {
    const totals = this.rooms.totals();
    let transports = 0;
    let producers = 0;
    let consumers = 0;
    for (const slot of this.pool.slots) {
      transports += slot.counts.transports;
      producers += slot.counts.producers;
      consumers += slot.counts.consumers;
    }
    return {
      workersAlive: this.pool.aliveCount,
      workersTotal: this.pool.slots.length,
      rooms: totals.rooms,
      participants: totals.participants,
      transports,
      producers,
      consumers,
      consumerCapacity: this.pool.consumerCapacity,
      cpuPerWorker: this.pool.slots.map((slot) => Math.round(slot.cpu * 1000) / 1000),
      bitrateInKbps: Math.round(this.latest.bitrateInBps / 1000),
      bitrateOutKbps: Math.round(this.latest.bitrateOutBps / 1000),
      packetLoss: Math.min(1, Math.max(0, this.latest.packetLoss)),
      recordings: this.recordings(),
      jitterMs: Math.round(this.latest.jitterMs * 10) / 10,
      eventLoopLagMs: Math.round(this.latest.eventLoopLagMs),
    };
  }
}
