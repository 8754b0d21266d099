import { WebSocket } from 'ws';
import { nodeDownMessageSchema, type NodeDownMessage, type NodeUpMessage } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import { isRecordingStatus, StatusJournal, type RecordingStatusMessage } from './status-journal.js';

/** What the link hands on (it answers the edge's confirmations itself). */
export type EdgeCommandMessage = Exclude<NodeDownMessage, { type: 'recordingStatusReceived' }>;

export interface EdgeLinkOptions {
  edgeUrl: string;
  region: string;
  credential: string;
  /** Builds the hello sent first on every (re)connection. */
  hello: () => NodeUpMessage;
  onMessage: (message: EdgeCommandMessage) => void;
  log: Log;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Where unconfirmed recording statuses survive a restart (default: memory only). */
  journal?: StatusJournal;
  /** A ping this often; a link that answers nothing for `silentAfterMs` is dropped and redialled. */
  pingIntervalMs?: number;
  silentAfterMs?: number;
  /** A status not confirmed this long after it went out is sent again on the same link. */
  resendAfterMs?: number;
}

/**
 * The node's outbound control socket to its region's registry on the edge. Reconnects with
 * jittered exponential backoff; meetings keep running while it is down. Events raised while
 * disconnected wait in a bounded outbox; heartbeats are simply skipped. Recording statuses wait in
 * the journal until the edge confirms them, and are sent again on every connection until then.
 *
 * A link that only looks open (the edge's host vanished, a middlebox dropped the flow) would
 * swallow everything written into it until TCP gives up, many minutes later: the link pings the
 * edge (workerd answers pings itself) and redials when nothing has come back for a while.
 */
export class EdgeLink {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly outbox: NodeUpMessage[] = [];
  private static readonly OUTBOX_LIMIT = 1_000;
  private readonly journal: StatusJournal;
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EdgeLinkOptions) {
    this.journal = options.journal ?? new StatusJournal();
  }

  /** Recording statuses the edge has not confirmed yet. */
  get unconfirmed(): number {
    return this.journal.size;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL('/api/nodes/connect', this.options.edgeUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('region', this.options.region);
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.credential}` }, handshakeTimeout: 10_000 });
    this.socket = socket;
    socket.on('open', () => {
      this.attempt = 0;
      this.options.log.info('control link up', { url: url.origin });
      socket.send(JSON.stringify(this.options.hello()));
      for (const message of this.journal.pending()) this.sendStatus(socket, message);
      for (const message of this.outbox.splice(0)) socket.send(JSON.stringify(message));
      this.watchLiveness(socket);
    });
    socket.on('message', (raw) => {
      let json: unknown;
      try {
        json = JSON.parse(raw.toString());
      } catch {
        json = undefined;
      }
      const parsed = nodeDownMessageSchema.safeParse(json);
      if (!parsed.success) {
        this.options.log.warn('control link: unreadable message from edge');
        return;
      }
      if (parsed.data.type === 'recordingStatusReceived') this.journal.confirm(parsed.data.recordingId, parsed.data.status, parsed.data.statusId);
      else this.options.onMessage(parsed.data);
    });
    socket.on('unexpected-response', (_request, response) => {
      this.options.log.warn('control link refused', { status: response.statusCode });
      socket.terminate();
    });
    socket.on('error', (error) => this.options.log.debug('control link error', { err: error.message }));
    socket.on('close', () => {
      if (this.socket === socket) {
        this.socket = undefined;
        clearInterval(this.livenessTimer);
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    this.options.log.info('control link down; reconnecting', { delayMs: Math.round(delay), attempt: this.attempt });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** Redials when the edge has answered nothing (no message, no pong) for `silentAfterMs`. */
  private watchLiveness(socket: WebSocket): void {
    const interval = this.options.pingIntervalMs ?? 5_000;
    const silentAfter = this.options.silentAfterMs ?? 15_000;
    let lastHeard = Date.now();
    const heard = () => (lastHeard = Date.now());
    socket.on('pong', heard);
    socket.on('message', heard);
    clearInterval(this.livenessTimer);
    this.livenessTimer = setInterval(() => {
      if (Date.now() - lastHeard >= silentAfter) {
        this.options.log.warn('control link silent; redialling', { silentMs: Date.now() - lastHeard });
        return socket.terminate();
      }
      socket.ping();
      // A status the edge did not take (its room call failed) goes again; the link is fine.
      for (const message of this.journal.unconfirmedSince(Date.now(), this.options.resendAfterMs ?? 30_000)) this.sendStatus(socket, message);
    }, interval);
  }

  private sendStatus(socket: WebSocket, message: RecordingStatusMessage): void {
    socket.send(JSON.stringify(message));
    this.journal.sent(message.event.recordingId, Date.now());
  }

  /** Sends now, or (for anything but heartbeats) queues until the link is back. */
  send(message: NodeUpMessage): void {
    if (isRecordingStatus(message)) {
      // Kept until confirmed, whether it can leave now or not.
      const named = this.journal.add(message);
      if (this.socket?.readyState === WebSocket.OPEN) this.sendStatus(this.socket, named);
      return;
    }
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return;
    }
    if (message.type === 'heartbeat') return;
    // The oldest event goes (recording statuses are in the journal, not here).
    if (this.outbox.length >= EdgeLink.OUTBOX_LIMIT) this.outbox.shift();
    this.outbox.push(message);
  }

  /** Resolves once everything written so far has left the process (or after timeoutMs). */
  async flush(timeoutMs: number): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const deadline = Date.now() + timeoutMs;
    while (socket.bufferedAmount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Resolves once the edge confirmed every recording status (or after timeoutMs). */
  async confirmed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.journal.size > 0 && this.connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    clearInterval(this.livenessTimer);
    this.socket?.close(1000, 'node stopping');
  }
}
