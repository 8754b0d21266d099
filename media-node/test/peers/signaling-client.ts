import { WebSocket } from 'ws';
import type { z } from 'zod';
import {
  mediaNotificationSchema,
  mediaResponseDataSchemas,
  mediaResponseSchema,
  type ErrorCode,
  type MediaMethod,
  type MediaNotification,
  type MediaRequest,
} from '../../../schema/wire/index.js';

export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

type NotificationName = MediaNotification['notification'];
type NotificationOf<N extends NotificationName> = Extract<MediaNotification, { notification: N }>;

/**
 * A test client for the media node's signaling WebSocket: typed requests, a log of every
 * notification, and waiting helpers. Parses everything it receives with the wire schemas.
 */
export class SignalingClient {
  readonly notifications: MediaNotification[] = [];
  /** Raw answers to requests sent with sendRaw (id → answer), and id-less error answers. */
  readonly rawAnswers: unknown[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (raw) => this.onMessage(raw.toString()));
    socket.on('error', () => undefined);
    this.closed.then(() => {
      for (const { reject } of this.pending.values()) reject(new Error('socket closed'));
      this.pending.clear();
      this.wake();
    });
  }

  /**
   * Opens `<node>/ws` and authenticates with `token` in the first frame, as the browser does.
   * Requests may follow at once: the node serves them after the authenticate answer, and a
   * refused token ends the socket (`closed` notification, close code).
   */
  static async authenticate(nodeUrl: string, token: string, meeting?: string): Promise<SignalingClient> {
    const client = await SignalingClient.open(`${nodeUrl.replace(/\/+$/, '')}/ws`);
    void client.requestRaw({ method: 'authenticate', data: { token, ...(meeting ? { meeting } : {}) } });
    return client;
  }

  /**
   * `connect(<node>/ws?token=…)` is the older form many tests read in: the node refuses a token in
   * a URL, so the kit takes it out of the URL and authenticates with it in the first frame
   * (same as `authenticate`). A URL without `token` opens a bare socket (`open`).
   */
  static async connect(url: string): Promise<SignalingClient> {
    const parsed = new URL(url);
    const token = parsed.searchParams.get('token');
    if (token === null) return SignalingClient.open(url);
    const meeting = parsed.searchParams.get('meeting') ?? undefined;
    return SignalingClient.authenticate(`${parsed.protocol}//${parsed.host}`, token, meeting);
  }

  /** A bare socket to `url`, exactly as given (tests of refusals and of the first frame). */
  static async open(url: string): Promise<SignalingClient> {
    const socket = new WebSocket(url);
    // Listen before 'open' resolves: the node may speak (or refuse) right after the upgrade.
    const client = new SignalingClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  private onMessage(text: string): void {
    const json: unknown = JSON.parse(text);
    const notification = mediaNotificationSchema.safeParse(json);
    if (notification.success) {
      this.notifications.push(notification.data);
      this.wake();
      return;
    }
    const response = mediaResponseSchema.parse(json);
    const pending = response.id === null ? undefined : this.pending.get(response.id);
    if (!pending) {
      this.rawAnswers.push(response);
      this.wake();
      return;
    }
    this.pending.delete(response.id as number);
    if (response.ok) pending.resolve(response.data);
    else pending.reject(new SignalingError(response.error.code, response.error.message));
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  async request<M extends MediaMethod>(
    method: M,
    data: Extract<MediaRequest, { method: M }>['data'],
  ): Promise<z.infer<(typeof mediaResponseDataSchemas)[M]>> {
    const id = this.nextId++;
    const answer = await new Promise<unknown>((resolve, reject) => {
      // ws drops a send on a closed socket without a word: the answer would never come.
      if (this.socket.readyState !== this.socket.OPEN) return reject(new Error('socket closed'));
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, data }));
    });
    return mediaResponseDataSchemas[method].parse(answer) as z.infer<(typeof mediaResponseDataSchemas)[M]>;
  }

  /** Sends anything (malformed messages in tests); answers land in rawAnswers or the returned promise. */
  sendRaw(payload: string): void {
    this.socket.send(payload);
  }

  /** Sends a request by hand with a chosen id and waits for the answer with that id. */
  async requestRaw(body: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    const answer = new Promise<unknown>((resolve) => {
      this.pending.set(id, { resolve: (data) => resolve({ ok: true, data }), reject: (error) => resolve(error) });
    });
    this.socket.send(JSON.stringify({ ...body, id }));
    return answer;
  }

  async waitFor(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Notifications of one kind received so far. */
  all<N extends NotificationName>(name: N): NotificationOf<N>['data'][] {
    const found: NotificationOf<N>['data'][] = [];
    for (const message of this.notifications) if (isNotification(message, name)) found.push(message.data as NotificationOf<N>['data']);
    return found;
  }

  async waitForNotification<N extends NotificationName>(
    name: N,
    match: (data: NotificationOf<N>['data']) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<NotificationOf<N>['data']> {
    let found: NotificationOf<N>['data'] | undefined;
    await this.waitFor(
      () => {
        found = this.all(name).find(match);
        return found !== undefined;
      },
      timeoutMs,
      `notification ${name}`,
    );
    if (found === undefined) throw new Error(`no ${name}`);
    return found;
  }

  close(): void {
    this.socket.close();
  }
}

/** The error code a request was refused with, or 'accepted'. */
export async function refusalCode(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return 'accepted';
  } catch (error) {
    return error instanceof SignalingError ? error.code : String(error);
  }
}

function isNotification<N extends NotificationName>(message: MediaNotification, name: N): message is NotificationOf<N> {
  return message.notification === name;
}
