import { WebSocket } from 'ws';
import { nodeDownMessageSchema, type NodeDownMessage, type NodeUpMessage } from '../../schema/wire/index.js';
import type { Log } from '../log.js';

export interface EdgeLinkOptions {
  edgeUrl: string;
  region: string;
  credential: string;
  /** Builds the hello sent first on every (re)connection. */
  hello: () => NodeUpMessage;
  onMessage: (message: NodeDownMessage) => void;
  log: Log;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * The node's outbound control socket to its region's registry on the edge. Reconnects with
 * jittered exponential backoff; meetings keep running while it is down. Events raised while
 * disconnected wait in a bounded outbox; heartbeats are simply skipped.
 */
export class EdgeLink {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly outbox: NodeUpMessage[] = [];
  private static readonly OUTBOX_LIMIT = 1_000;

  constructor(private readonly options: EdgeLinkOptions) {}

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
      for (const message of this.outbox.splice(0)) socket.send(JSON.stringify(message));
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
      this.options.onMessage(parsed.data);
    });
    socket.on('unexpected-response', (_request, response) => {
      this.options.log.warn('control link refused', { status: response.statusCode });
      socket.terminate();
    });
    socket.on('error', (error) => this.options.log.debug('control link error', { err: error.message }));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
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

  /** Sends now, or (for anything but heartbeats) queues until the link is back. */
  send(message: NodeUpMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return;
    }
    if (message.type === 'heartbeat') return;
    if (this.outbox.length >= EdgeLink.OUTBOX_LIMIT) {
      // The oldest event goes, but not a recording's status: a final one is the node's only word
      // on the recording's files (their folder is gone by then), and there are few of them.
      const expendable = this.outbox.findIndex((queued) => !isRecordingStatus(queued));
      this.outbox.splice(expendable === -1 ? 0 : expendable, 1);
    }
    this.outbox.push(message);
  }

  /** Resolves once everything written so far has left the process (or after timeoutMs). */
  async flush(timeoutMs: number): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const deadline = Date.now() + timeoutMs;
    while (socket.bufferedAmount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'node stopping');
  }
}

function isRecordingStatus(message: NodeUpMessage): boolean {
  return message.type === 'event' && message.event.event === 'recordingStatus';
}
