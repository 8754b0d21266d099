import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { EventEmitter } from 'node:events';
import type { Log } from '../log.js';
import { lowKernelUdpLimits } from './kernel-udp-limits.js';
import { ObjectCounts } from './object-counts.js';

export interface WorkerPoolOptions {
  numWorkers: number;
  /** Port of worker 0's WebRtcServer (UDP and TCP); worker i uses rtcMinPort + i. 0 = any free port. */
  rtcMinPort: number;
  listenIp: string;
  announcedAddress: string;
  consumersPerWorker: number;
  /**
   * Receive and send buffer of each UDP socket the workers open (the WebRtcServer's, which every
   * participant on the worker shares, and cascade pipes'), in bytes; 0 keeps the OS default. The
   * kernel caps it at net.core.rmem_max / wmem_max.
   */
  udpSocketBufferBytes: number;
}

/** One mediasoup worker process (one core) with its WebRtcServer and live object counts. */
export interface WorkerSlot {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  counts: ObjectCounts;
  /** The ports its WebRtcServer actually listens on. */
  ports: { protocol: 'udp' | 'tcp'; port: number }[];
  /** CPU use over the last sample, 0..1 of one core. */
  cpu: number;
}

interface PoolEvents {
  workerDied: [slot: WorkerSlot, error: Error];
}

/** Starts and watches the node's workers. A dead worker is reported, never replaced (crash-only). */
export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly slots: WorkerSlot[] = [];
  private cpuTimer: NodeJS.Timeout | undefined;
  private lastCpuSample = new Map<number, { at: number; usedMs: number }>();

  private constructor(
    readonly options: WorkerPoolOptions,
    private readonly log: Log,
  ) {
    super();
  }

  static async start(options: WorkerPoolOptions, log: Log): Promise<WorkerPool> {
    const pool = new WorkerPool(options, log);
    // bytes null: the cap could not be read (a container), and the host's may be lower.
    for (const limit of await lowKernelUdpLimits(options.udpSocketBufferBytes)) {
      log.warn('kernel caps UDP socket buffers below RTC_UDP_BUFFER_BYTES (docs/operations.md)', { sysctl: limit.name, bytes: limit.bytes, wanted: options.udpSocketBufferBytes });
    }
    try {
      for (let index = 0; index < options.numWorkers; index++) pool.slots.push(await pool.startSlot(index));
    } catch (error) {
      pool.close();
      throw error;
    }
    pool.cpuTimer = setInterval(() => void pool.sampleCpu(), 2_000).unref();
    return pool;
  }

  private async startSlot(index: number): Promise<WorkerSlot> {
    const worker = await mediasoup.createWorker({ logLevel: 'warn', disableLiburing: false });
    const counts = new ObjectCounts();
    counts.watch(worker);
    const port = this.options.rtcMinPort > 0 ? this.options.rtcMinPort + index : undefined;
    const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
      protocol,
      ip: this.options.listenIp,
      announcedAddress: this.options.announcedAddress,
      ...(port !== undefined ? { port } : {}),
      // TCP sockets are one per participant: only the shared UDP socket needs the room.
      ...(protocol === 'udp' ? udpBuffers(this.options.udpSocketBufferBytes) : {}),
    });
    const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
    const dump = await webRtcServer.dump();
    const slot: WorkerSlot = {
      index,
      worker,
      webRtcServer,
      counts,
      ports: [
        ...dump.udpSockets.map((socket) => ({ protocol: 'udp' as const, port: socket.port })),
        ...dump.tcpServers.map((server) => ({ protocol: 'tcp' as const, port: server.port })),
      ],
      cpu: 0,
    };
    worker.on('died', (error) => {
      this.log.error('mediasoup worker died', { workerPid: worker.pid, err: error.message });
      this.emit('workerDied', slot, error);
    });
    this.log.info('mediasoup worker started', { workerPid: worker.pid, index, ports: slot.ports });
    return slot;
  }

  get aliveCount(): number {
    return this.slots.filter((slot) => !slot.worker.died && !slot.worker.closed).length;
  }

  get consumerCapacity(): number {
    return this.slots.length * this.options.consumersPerWorker;
  }

  /** Least-loaded live worker (by consumers, then routers), optionally excluding some. */
  leastLoaded(exclude: ReadonlySet<WorkerSlot> = new Set()): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const slot of this.slots) {
      if (slot.worker.died || slot.worker.closed || exclude.has(slot)) continue;
      if (!best || load(slot) < load(best)) best = slot;
    }
    return best;
  }

  hasHeadroom(slot: WorkerSlot, extraConsumers: number): boolean {
    return slot.counts.consumers + extraConsumers <= this.options.consumersPerWorker;
  }

  private async sampleCpu(): Promise<void> {
    for (const slot of this.slots) {
      if (slot.worker.died || slot.worker.closed) continue;
      try {
        const usage = await slot.worker.getResourceUsage();
        // mediasoup reports ru_utime/ru_stime in milliseconds.
        const usedMs = usage.ru_utime + usage.ru_stime;
        const at = Date.now();
        const last = this.lastCpuSample.get(slot.index);
        if (last && at > last.at) slot.cpu = Math.max(0, (usedMs - last.usedMs) / (at - last.at));
        this.lastCpuSample.set(slot.index, { at, usedMs });
      } catch {
        // The worker is closing; its death is reported through 'died'.
      }
    }
  }

  close(): void {
    if (this.cpuTimer) clearInterval(this.cpuTimer);
    for (const slot of this.slots) if (!slot.worker.closed) slot.worker.close();
  }
}

function load(slot: WorkerSlot): number {
  return slot.counts.consumers * 1_000 + slot.counts.routers;
}

/** The listen info fields that size a UDP socket's buffers (none: the OS default). */
export function udpBuffers(bytes: number): Pick<types.TransportListenInfo, 'recvBufferSize' | 'sendBufferSize'> {
  return bytes > 0 ? { recvBufferSize: bytes, sendBufferSize: bytes } : {};
}
