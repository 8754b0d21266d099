import { errorCodeOfClose, roomServerMessageSchema, type ErrorCode, type RoomClientMessage, type RoomServerMessage } from '../wire.js';

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Errors (read from the close code with the shared table) after which reconnecting cannot help: the session is over. */
const FINAL_ERRORS = new Set<ErrorCode>(['TOKEN_INVALID', 'TOKEN_EXPIRED', 'REMOVED_BY_HOST', 'MEETING_ENDED', 'CONFLICT', 'FORBIDDEN']);
const PING_EVERY_MS = 5_000;
/** No message for this long → the socket is presumed dead (e.g. a silent network drop). */
const SILENCE_LIMIT_MS = 12_000;
/** A socket stuck closing (the peer never completes the close handshake) is abandoned after this. */
const CLOSING_LIMIT_MS = 1_500;
/** A socket still connecting after this long (e.g. opened on a network that is gone) is abandoned. */
const CONNECTING_LIMIT_MS = 10_000;

/** Messages kept while the socket is down or the server asked us to wait; more are refused (send answers false). */
const PENDING_LIMIT = 50;

/**
 * The room WebSocket (RoomDO). Every server message is parsed with its schema; the socket
 * reconnects by itself with backoff until the server says the session is over. When the server
 * answers RATE_LIMITED with `retryAfterMs`, messages wait that long (in order) instead of being
 * sent into the limit; pings go on.
 */
export class RoomSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private timers: number[] = [];
  /** The one reconnect waiting for its backoff (never two: each would open a socket, and the room keeps only the newest). */
  private reconnectTimer: number | undefined;
  private lastMessageAt = 0;
  private lastPingAt = 0;
  private closingSince: number | null = null;
  private connectingSince = 0;
  private pending: RoomClientMessage[] = [];
  /** Until when (epoch ms) the server asked us not to send (RATE_LIMITED's retryAfterMs). */
  private holdUntil = 0;
  private holdTimer: number | undefined;
  status: SocketStatus = 'connecting';

  constructor(
    private readonly url: string,
    private readonly handlers: {
      message: (message: RoomServerMessage) => void;
      status: (status: SocketStatus) => void;
      /** The server ended the session (the close code's error), no reconnect. */
      final: (code: ErrorCode, reason: string) => void;
    },
    /** Subprotocols to offer: the room session travels here, never in the URL. */
    private readonly protocols: string[] = [],
  ) {
    this.connect();
    this.timers.push(window.setInterval(() => this.watchdog(), 500));
  }

  /**
   * Sends now, or keeps the message until the socket is back; answers false when it was refused
   * (too many waiting). One media.refresh waiting is enough: asks repeated during an outage join it.
   */
  send(message: RoomClientMessage): boolean {
    if (this.socket?.readyState === WebSocket.OPEN && !this.holding() && this.pending.length === 0) this.socket.send(JSON.stringify(message));
    else if (message.type === 'media.refresh' && this.pending.some((waiting) => waiting.type === 'media.refresh')) return true;
    else if (this.pending.length < PENDING_LIMIT) this.pending.push(message);
    else return false;
    return true;
  }

  private holding(): boolean {
    return Date.now() < this.holdUntil;
  }

  /** The server said when it will take messages again: hold until then, then send what waited. */
  private holdFor(retryAfterMs: number): void {
    this.holdUntil = Math.max(this.holdUntil, Date.now() + retryAfterMs);
    window.clearTimeout(this.holdTimer);
    this.holdTimer = window.setTimeout(() => this.flush(), this.holdUntil - Date.now());
  }

  private flush(): void {
    const socket = this.socket;
    if (this.stopped || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (this.holding()) return this.holdFor(0);
    for (const message of this.pending.splice(0)) socket.send(JSON.stringify(message));
  }

  /**
   * Force a reconnect now (e.g. after the page comes back online): one waiting for its backoff goes
   * now instead, and a socket still connecting is already the fresh attempt.
   */
  kick(): void {
    if (this.stopped || this.socket?.readyState === WebSocket.CONNECTING) return;
    if (this.reconnectTimer === undefined) return this.abandon();
    this.attempt = 0;
    this.connect();
  }

  close(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    window.clearTimeout(this.holdTimer);
    window.clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'leaving');
    this.setStatus('closed');
  }

  /** Opens the socket that becomes the only current one: what an older one still says or does is ignored. */
  private connect(): void {
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const previous = this.socket;
    if (previous && previous.readyState <= WebSocket.OPEN) previous.close(4000, 'client reconnect');
    const socket = new WebSocket(this.url, this.protocols);
    this.socket = socket;
    this.closingSince = null;
    this.connectingSince = Date.now();
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.lastMessageAt = Date.now();
      this.setStatus('open');
      this.flush();
    });
    socket.addEventListener('message', (event) => {
      // A socket given up on (replaced, abandoned) may still deliver, e.g. the room's CONFLICT for it.
      if (this.socket !== socket || this.stopped || typeof event.data !== 'string') return;
      this.lastMessageAt = Date.now();
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
      const message = parsed.data;
      if (message.type === 'error' && message.code === 'RATE_LIMITED' && message.retryAfterMs) this.holdFor(message.retryAfterMs);
      this.handlers.message(message);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket || this.stopped) return;
      const error = errorCodeOfClose(event.code);
      if (error && FINAL_ERRORS.has(error)) {
        this.stopped = true;
        this.setStatus('closed');
        this.handlers.final(error, event.reason);
        return;
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    this.setStatus('reconnecting');
    const delay = Math.min(5_000, 300 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  /** Pings while open; gives up on sockets that went silent or are stuck closing. */
  private watchdog(): void {
    const socket = this.socket;
    if (this.stopped || !socket) return;
    const now = Date.now();
    if (socket.readyState === WebSocket.CLOSING) {
      this.closingSince ??= now;
      if (now - this.closingSince > CLOSING_LIMIT_MS) this.abandon();
      return;
    }
    if (socket.readyState === WebSocket.CONNECTING && now - this.connectingSince > CONNECTING_LIMIT_MS) return this.abandon();
    if (socket.readyState !== WebSocket.OPEN) return;
    if (now - this.lastMessageAt > SILENCE_LIMIT_MS) {
      this.abandon();
      return;
    }
    if (now - this.lastPingAt >= PING_EVERY_MS) {
      this.lastPingAt = now;
      socket.send(JSON.stringify({ type: 'ping' } satisfies RoomClientMessage));
    }
  }

  /** Drop the current socket without waiting for its close event, and reconnect. */
  private abandon(): void {
    const socket = this.socket;
    this.socket = null;
    this.closingSince = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(4000, 'client reconnect');
    this.scheduleReconnect();
  }

  private setStatus(status: SocketStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.handlers.status(status);
  }
}
