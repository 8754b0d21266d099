import type { z } from 'zod';
import {
  mediaNotificationSchema,
  mediaResponseDataSchemas,
  mediaResponseSchema,
  type ErrorCode,
  type MediaMethod,
  type MediaNotification,
  type MediaRequest,
} from '../wire.js';

type RequestData<M extends MediaMethod> = Extract<MediaRequest, { method: M }>['data'];
type ResponseData<M extends MediaMethod> = z.infer<(typeof mediaResponseDataSchemas)[M]>;

export class MediaRequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MediaRequestError';
  }
}

const REQUEST_TIMEOUT_MS = 10_000;
/** The id of the first frame, `authenticate`; requests count from 1. */
const AUTHENTICATE_ID = 0;

/**
 * One WebSocket to the media node: `{id, method, data}` requests answered by id, plus
 * notifications. Answers and notifications are parsed with their schemas before use.
 * The media token goes in the first frame (`authenticate`), never in the URL: URLs end up in
 * logs. Requests may follow it at once (the node serves them after its answer); when the node
 * refuses the token, every request in flight fails with the refusal's code.
 */
export class MediaSignaling {
  private nextId = AUTHENTICATE_ID + 1;
  private readonly inflight = new Map<number, { method: MediaMethod; resolve: (data: unknown) => void; reject: (error: Error) => void; timer: number }>();
  private closedByUs = false;
  /** The node's answer to a refused `authenticate` (TOKEN_EXPIRED, TOKEN_INVALID, MEETING_ENDED …). */
  private refusal: MediaRequestError | null = null;

  private constructor(
    private readonly socket: WebSocket,
    private readonly handlers: { notification: (notification: MediaNotification) => void; close: (code: number, reason: string) => void },
  ) {
    socket.addEventListener('message', (event) => this.onMessage(event.data));
    socket.addEventListener('close', (event) => {
      this.failInflight(this.refusal ?? new MediaRequestError('MEDIA_ERROR', 'media connection closed'));
      if (!this.closedByUs) this.handlers.close(event.code, event.reason);
    });
  }

  static connect(
    signalingUrl: string,
    token: string,
    handlers: { notification: (notification: MediaNotification) => void; close: (code: number, reason: string) => void },
  ): Promise<MediaSignaling> {
    const url = `${signalingUrl.replace(/\/+$/, '')}/ws`;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const fail = () => reject(new MediaRequestError('MEDIA_ERROR', 'could not reach the media server'));
      socket.addEventListener('error', fail, { once: true });
      socket.addEventListener('close', fail, { once: true });
      socket.addEventListener(
        'open',
        () => {
          socket.removeEventListener('error', fail);
          socket.removeEventListener('close', fail);
          const signaling = new MediaSignaling(socket, handlers);
          socket.send(JSON.stringify({ id: AUTHENTICATE_ID, method: 'authenticate', data: { token } }));
          resolve(signaling);
        },
        { once: true },
      );
    });
  }

  request<M extends MediaMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    const id = this.nextId++;
    return new Promise<ResponseData<M>>((resolve, reject) => {
      if (this.refusal) {
        reject(this.refusal);
        return;
      }
      if (this.socket.readyState !== WebSocket.OPEN) {
        reject(new MediaRequestError('MEDIA_ERROR', 'media connection is not open'));
        return;
      }
      const timer = window.setTimeout(() => {
        this.inflight.delete(id);
        reject(new MediaRequestError('MEDIA_ERROR', `${method} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.inflight.set(id, { method, resolve: resolve as (data: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ id, method, data }));
    });
  }

  close(): void {
    this.closedByUs = true;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000, 'leaving');
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  private failInflight(error: MediaRequestError): void {
    for (const [, pending] of this.inflight) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.inflight.clear();
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return;
    }
    if (json && typeof json === 'object' && 'notification' in json) {
      const parsed = mediaNotificationSchema.safeParse(json);
      if (parsed.success) this.handlers.notification(parsed.data);
      else console.warn('media: ignoring a notification that does not match the schema');
      return;
    }
    const parsed = mediaResponseSchema.safeParse(json);
    if (!parsed.success || parsed.data.id === null) return;
    if (parsed.data.id === AUTHENTICATE_ID) {
      if (parsed.data.ok) return;
      this.refusal = new MediaRequestError(parsed.data.error.code, parsed.data.error.message);
      return this.failInflight(this.refusal);
    }
    const pending = this.inflight.get(parsed.data.id);
    if (!pending) return;
    this.inflight.delete(parsed.data.id);
    clearTimeout(pending.timer);
    if (!parsed.data.ok) {
      pending.reject(new MediaRequestError(parsed.data.error.code, parsed.data.error.message));
      return;
    }
    const data = mediaResponseDataSchemas[pending.method].safeParse(parsed.data.data);
    if (data.success) pending.resolve(data.data);
    else pending.reject(new MediaRequestError('MEDIA_ERROR', `unexpected answer to ${pending.method}`));
  }
}
