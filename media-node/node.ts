import * as mediasoup from 'mediasoup';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { AppError, NODE_HEARTBEAT_INTERVAL_MS, type NodeEvent, type NodeState, type NodeUpMessage } from '../schema/wire/index.js';
import type { MediaNodeConfig } from './config.js';
import { executeCommand } from './control/commands.js';
import { EdgeLink, type EdgeCommandMessage } from './control/edge-link.js';
import { StatusJournal } from './control/status-journal.js';
import { createHttpServer } from './http-server.js';
import { createLog, type Log } from './log.js';
import { Metrics } from './metrics.js';
import type { RecordingController, RecordingControllerFactory } from './rooms/recording-seam.js';
import { RoomManager } from './rooms/room-manager.js';
import { MediaTokenVerifier } from './signaling/media-token.js';
import { SignalingServer } from './signaling/server.js';
import { LoadSampler } from './workers/load-sampler.js';
import { WorkerPool } from './workers/worker-pool.js';

/** The longest delay setTimeout keeps (2^31−1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface MediaNodeOptions {
  /** The recorder (media-node/recording/); without it recording commands answer an error. */
  recording?: RecordingControllerFactory;
  /** What ends the process; tests pass their own. */
  exit?: (code: number) => void;
  log?: Log;
}

/** The whole media node: workers, rooms, signaling, HTTP endpoints and the control link. */
export class MediaNode {
  state: NodeState = 'serving';
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private edgeLink: EdgeLink | undefined;

  private constructor(
    readonly config: MediaNodeConfig,
    readonly log: Log,
    readonly pool: WorkerPool,
    readonly rooms: RoomManager,
    readonly metrics: Metrics,
    private readonly sampler: LoadSampler,
    readonly signaling: SignalingServer,
    private readonly server: Server,
    private readonly recording: RecordingController | undefined,
    private readonly exit: (code: number) => void,
  ) {}

  static async start(config: MediaNodeConfig, options: MediaNodeOptions = {}): Promise<MediaNode> {
    const log = options.log ?? createLog(config.logLevel, config.nodeId);
    if (config.mediaTokenPublicJwk === undefined) throw new Error('MEDIA_TOKEN_PUBLIC_JWK missing');
    const verifier = await MediaTokenVerifier.create(config.mediaTokenPublicJwk, config.nodeId);
    const metrics = new Metrics();
    const pool = await WorkerPool.start(
      {
        numWorkers: config.numWorkers,
        rtcMinPort: config.rtcMinPort,
        listenIp: config.rtcListenIp,
        announcedAddress: config.announcedAddress,
        consumersPerWorker: config.consumersPerWorker,
        udpSocketBufferBytes: config.udpSocketBufferBytes,
      },
      log,
    );
    const rooms = new RoomManager(
      pool,
      {
        initialOutgoingBitrate: config.initialOutgoingBitrate,
        maxIncomingBitrate: config.maxIncomingBitrate,
        iceDisconnectTimeoutMs: config.iceDisconnectTimeoutMs,
        audioSelection: config.audioSelection,
      },
      config.revokedTtlMs,
      metrics,
      log,
    );
    // The node object does not exist yet when the recorder is built; events go through this hop.
    let emitEvent: (event: NodeEvent) => void = () => undefined;
    const recording = options.recording?.({ emitEvent: (event) => emitEvent(event), log: log.child({ component: 'recording' }).pino, recordingsDir: config.recordingsDir });
    const sampler = new LoadSampler(pool, rooms, metrics, () => recording?.activeCount() ?? 0);
    const signaling = new SignalingServer(verifier, rooms, metrics, log, config.signalingLimits);
    let node: MediaNode | undefined;
    const server = createHttpServer({
      metrics,
      metricsToken: config.metricsToken,
      refreshMetrics: () => sampler.updateMetrics(),
      signaling,
      healthy: () => {
        const alive = pool.aliveCount;
        const ok = node?.state === 'serving' && alive === pool.slots.length;
        return { ok, state: node?.state ?? 'starting', workersAlive: alive };
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listenPort, config.listenHost, () => resolve());
    });
    node = new MediaNode(config, log, pool, rooms, metrics, sampler, signaling, server, recording, options.exit ?? ((code) => process.exit(code)));
    emitEvent = (event) => node?.sendEvent(event);
    node.wire();
    log.info('media node serving', { port: node.port, workers: pool.slots.length, rtcPorts: pool.slots.map((slot) => slot.ports) });
    return node;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get signalingUrl(): string {
    return this.config.signalingUrl ?? `ws://${this.config.listenHost}:${this.port}`;
  }

  private wire(): void {
    this.pool.on('workerDied', (slot, error) => void this.onWorkerDied(slot.worker.pid, error));
    this.rooms.on('participantLeft', (meetingId, participantId, reason) =>
      this.sendEvent({ event: 'participantLeft', meetingId, participantId, reason: reason.slice(0, 200) }),
    );
    this.rooms.on('participantUnmuted', (meetingId, participantId, kind) => this.sendEvent({ event: 'participantUnmuted', meetingId, participantId, kind }));
    this.rooms.on('participantJoined', (meetingId, participantId) => this.sendEvent({ event: 'participantJoined', meetingId, participantId }));
    this.rooms.on('producerOpened', (meetingId, producer, paused) =>
      this.sendEvent({ event: 'producerOpened', meetingId, producerId: producer.id, participantId: producer.participantId, kind: producer.kind, source: producer.source, paused }),
    );
    this.rooms.on('producerClosed', (meetingId, producerId) => this.sendEvent({ event: 'producerClosed', meetingId, producerId }));
    this.rooms.on('producerPaused', (meetingId, producerId, paused) => this.sendEvent({ event: 'producerPaused', meetingId, producerId, paused }));
    this.rooms.on('roomClosed', (meetingId) => {
      this.sendEvent({ event: 'roomClosed', meetingId });
      if (this.state === 'draining' && this.rooms.rooms.size === 0) void this.shutdown(0, 'drained');
    });
    this.sampler.start();
    if (this.config.edgeUrl && this.config.nodeCredential) {
      this.edgeLink = new EdgeLink({
        edgeUrl: this.config.edgeUrl,
        region: this.config.region,
        credential: this.config.nodeCredential,
        hello: () => ({
          type: 'hello',
          node: {
            nodeId: this.config.nodeId,
            region: this.config.region,
            signalingUrl: this.signalingUrl,
            announcedAddress: this.config.announcedAddress,
            rtcPorts: this.pool.slots.flatMap((slot) => slot.ports),
            version: `edgemeet-media/${mediasoup.version}`,
          },
          state: this.state,
          load: this.sampler.load(),
          // The edge answers closeMeeting for any of these that moved elsewhere while we were away.
          meetings: [...this.rooms.rooms.keys()],
        }),
        onMessage: (message) => void this.onControlMessage(message),
        log: this.log.child({ component: 'edge-link' }),
        // Beside the recordings it speaks of; one per node, as nodes of a test stack share folders.
        journal: new StatusJournal(path.join(this.config.recordingsDir, `.unconfirmed-statuses-${this.config.nodeId}.json`), (error) =>
          this.log.warn('control link: status journal not saved', { err: String(error) }),
        ),
      });
      this.edgeLink.start();
      this.startHeartbeat(NODE_HEARTBEAT_INTERVAL_MS);
    }
  }

  private startHeartbeat(intervalMs: number): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), intervalMs);
  }

  private sendHeartbeat(): void {
    this.edgeLink?.send({ type: 'heartbeat', nodeId: this.config.nodeId, state: this.state, load: this.sampler.load(), sentAt: Date.now() });
  }

  sendEvent(event: NodeEvent): void {
    this.edgeLink?.send({ type: 'event', event });
  }

  private async onControlMessage(message: EdgeCommandMessage): Promise<void> {
    switch (message.type) {
      case 'welcome':
        this.startHeartbeat(Math.max(500, message.heartbeatIntervalMs));
        return;
      case 'error':
        this.log.warn('edge reported an error', { code: message.code, message: message.message });
        return;
      case 'command': {
        const log = this.log.child({ commandId: message.commandId, command: message.command.command });
        let result: NodeUpMessage;
        try {
          // Cascade commands answer data (a pipe end, a relayed producer) with their result.
          const data = await executeCommand(message.command, { rooms: this.rooms, recording: this.recording, drain: (deadline) => this.drain(deadline), emitEvent: (event) => this.sendEvent(event) });
          result = { type: 'commandResult', commandId: message.commandId, ok: true, ...(data ? { data } : {}) };
          log.info('command done');
        } catch (error) {
          const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'command failed');
          if (!(error instanceof AppError)) log.error('command failed', { err: String(error) });
          result = { type: 'commandResult', commandId: message.commandId, ok: false, error: { code: appError.code, message: appError.message.slice(0, 500) } };
        }
        this.edgeLink?.send(result);
        return;
      }
      default: {
        const unknown: never = message;
        this.log.warn('unhandled control message', { message: unknown });
      }
    }
  }

  /** Takes no new meetings, keeps current ones; exits 0 once empty or at the deadline. */
  drain(deadline?: number): void {
    if (this.state === 'draining') return;
    this.state = 'draining';
    this.rooms.draining = true;
    const at = deadline ?? Date.now() + this.config.drainTimeoutMs;
    this.log.info('draining', { deadline: new Date(at).toISOString(), rooms: this.rooms.rooms.size });
    this.sendHeartbeat();
    if (this.rooms.rooms.size === 0) {
      void this.shutdown(0, 'drained');
      return;
    }
    this.armDrainDeadline(at);
  }

  /** Node's timers take at most 2^31−1 ms (24.8 days); a later deadline fired at once. */
  private armDrainDeadline(at: number): void {
    this.drainTimer = setTimeout(() => {
      if (Date.now() < at) return this.armDrainDeadline(at);
      this.rooms.closeAll('node drained');
      void this.shutdown(0, 'drain deadline');
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
  }

  private async onWorkerDied(pid: number, error: Error): Promise<void> {
    this.metrics.workersAlive.set(this.pool.aliveCount);
    this.sendEvent({ event: 'workerDied', pid, error: error.message.slice(0, 500) });
    // Crash-only: the supervisor restarts the whole node; clients reconnect elsewhere.
    this.rooms.closeAll('media worker died');
    await this.shutdown(1, 'worker died');
  }

  /** Stops everything and calls exit(code). */
  async shutdown(code: number, reason: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    // No new meeting while the recorder finishes (that can take minutes), and a hello on a
    // reconnected control link says so: the edge places nothing here.
    this.state = 'draining';
    this.rooms.draining = true;
    this.log.info('media node stopping', { code, reason });
    if (this.drainTimer) clearTimeout(this.drainTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.sampler.stop();
    await this.recording?.close().catch(() => undefined);
    this.rooms.closeAll(reason);
    // The recorder's last statuses: a restart would resend them, but a retired node never does.
    await this.edgeLink?.confirmed(2_000);
    await this.edgeLink?.flush(1_000);
    this.edgeLink?.stop();
    this.signaling.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.pool.close();
    this.exit(code);
  }
}
