import type { NodeLoad } from '../../schema/wire/index.js';
import type { Metrics } from '../metrics.js';
import type { RoomManager } from '../rooms/room-manager.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * Samples the node's load every interval (bitrates and loss from mediasoup stats, counts from
 * observers) for heartbeats and metrics.
 */
export class LoadSampler {
  private latest = { bitrateInBps: 0, bitrateOutBps: 0, packetLoss: 0 };
  private lastPackets = new Map<string, { received: number; lost: number }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly rooms: RoomManager,
    private readonly metrics: Metrics,
    private readonly recordings: () => number,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sample(), intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      let bitrateIn = 0;
      let bitrateOut = 0;
      let received = 0;
      let lost = 0;
      const seen = new Map<string, { received: number; lost: number }>();
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
            for (const stat of stats) {
              const key = `${producer.id}:${stat.ssrc}`;
              const now = { received: stat.packetCount, lost: stat.packetsLost };
              const before = this.lastPackets.get(key) ?? { received: 0, lost: 0 };
              received += Math.max(0, now.received - before.received);
              lost += Math.max(0, now.lost - before.lost);
              seen.set(key, now);
            }
          }
        }
      }
      this.lastPackets = seen;
      this.latest = { bitrateInBps: bitrateIn, bitrateOutBps: bitrateOut, packetLoss: received + lost > 0 ? lost / (received + lost) : 0 };
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
    };
  }
}
