import { roomServerMessageSchema, WS_CLOSE, type RoomClientMessage, type RoomServerMessage } from '../wire.js';

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Close codes after which reconnecting cannot help: the session is over. */
const FINAL_CLOSE_CODES = new Set<number>([WS_CLOSE.TOKEN_INVALID, WS_CLOSE.TOKEN_EXPIRED, WS_CLOSE.REMOVED_BY_HOST, WS_CLOSE.MEETING_ENDED, WS_CLOSE.REPLACED, WS_CLOSE.FORBIDDEN]);
const PING_EVERY_MS = 10_000;
/** No message for this long → the socket is presumed dead (e.g. a silent network drop). */
const SILENCE_LIMIT_MS = 25_000;

/**
 * The room WebSocket (RoomDO). Every server message is parsed with its schema; the socket
 * reconnects by itself with backoff until the server says the session is over.
 */
export class RoomSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private timers: number[] = [];
  private lastMessageAt = 0;
  private pending: RoomClientMessage[] = [];
  status: SocketStatus = 'connecting';

  constructor(
    private readonly url: string,
    private readonly handlers: {
      message: (message: RoomServerMessage) => void;
      status: (status: SocketStatus) => void;
      /** The server ended the session (close code), no reconnect. */
      final: (code: number, reason: string) => void;
    },
  ) {
    this.connect();
    this.timers.push(window.setInterval(() => this.keepAlive(), PING_EVERY_MS));
  }

  send(message: RoomClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
    else if (this.pending.length < 50) this.pending.push(message);
  }

  /** Force a reconnect now (e.g. after the page comes back online). */
  kick(): void {
    if (this.stopped) return;
    this.socket?.close(4000, 'client reconnect');
  }

  close(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.socket?.close(1000, 'leaving');
    this.setStatus('closed');
  }

  private connect(): void {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.lastMessageAt = Date.now();
      this.setStatus('open');
      for (const message of this.pending.splice(0)) socket.send(JSON.stringify(message));
    });
    socket.addEventListener('message', (event) => {
      this.lastMessageAt = Date.now();
      if (typeof event.data !== 'string') return;
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        return;
      }
      const parsed = roomServerMessageSchema.safeParse(json);
      if (!parsed.success) {
        console.warn('room: ignoring a message that does not match the schema');
        return;
      }
      this.handlers.message(parsed.data);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket || this.stopped) return;
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.stopped = true;
        this.setStatus('closed');
        this.handlers.final(event.code, event.reason);
        return;
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    this.setStatus('reconnecting');
    const delay = Math.min(5_000, 300 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    window.setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  private keepAlive(): void {
    if (this.stopped || this.socket?.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastMessageAt > SILENCE_LIMIT_MS) {
      this.kick();
      return;
    }
    this.socket.send(JSON.stringify({ type: 'ping' } satisfies RoomClientMessage));
  }

  private setStatus(status: SocketStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.handlers.status(status);
  }
}
