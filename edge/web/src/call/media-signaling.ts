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

/**
 * One WebSocket to the media node: `{id, method, data}` requests answered by id, plus
 * notifications. Answers and notifications are parsed with their schemas before use.
 */
export class MediaSignaling {
  private nextId = 1;
  private readonly inflight = new Map<number, { method: MediaMethod; resolve: (data: unknown) => void; reject: (error: Error) => void; timer: number }>();
  private closedByUs = false;

  private constructor(
    private readonly socket: WebSocket,
    private readonly handlers: { notification: (notification: MediaNotification) => void; close: (code: number, reason: string) => void },
  ) {
    socket.addEventListener('message', (event) => this.onMessage(event.data));
    socket.addEventListener('close', (event) => {
      for (const [, pending] of this.inflight) {
        clearTimeout(pending.timer);
        pending.reject(new MediaRequestError('MEDIA_ERROR', 'media connection closed'));
      }
      this.inflight.clear();
      if (!this.closedByUs) this.handlers.close(event.code, event.reason);
    });
  }

  static connect(
    signalingUrl: string,
    token: string,
    handlers: { notification: (notification: MediaNotification) => void; close: (code: number, reason: string) => void },
  ): Promise<MediaSignaling> {
    const url = `${signalingUrl.replace(/\/+$/, '')}/ws?token=${encodeURIComponent(token)}`;
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
          resolve(new MediaSignaling(socket, handlers));
        },
        { once: true },
      );
    });
  }

  request<M extends MediaMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    const id = this.nextId++;
    return new Promise<ResponseData<M>>((resolve, reject) => {
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
