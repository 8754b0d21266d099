import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { MediaRequestError, MediaSignaling } from '../src/call/media-signaling.js';
import { RoomSocket } from '../src/call/room-socket.js';
import { retryAfterMsOf } from '../src/lib/api.js';
import { describeError } from '../src/lib/errors.js';
import type { RoomClientMessage } from '../src/wire.js';

/**
 * The browser side of issue 13: the media token travels in the first message (never the URL),
 * a refusal reaches the caller with its code, and answers that say when to come back
 * (Retry-After, retryAfterMs) are waited out.
 */

describe('media signaling: the token in the first message', () => {
  let server: WebSocketServer;
  let url: string;
  const seen: { path: string; frames: unknown[] }[] = [];
  /** How the stand-in node answers `authenticate`. */
  let answer: (id: number) => unknown;

  beforeEach(async () => {
    vi.stubGlobal('WebSocket', NodeWebSocket);
    vi.stubGlobal('window', globalThis);
    seen.length = 0;
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket, request) => {
      const connection = { path: request.url ?? '', frames: [] as unknown[] };
      seen.push(connection);
      socket.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as { id: number; method: string };
        connection.frames.push(frame);
        if (frame.method === 'authenticate') {
          const reply = answer(frame.id);
          socket.send(JSON.stringify(reply));
          if ((reply as { ok: boolean }).ok === false) socket.close(4001, 'refused');
        }
      });
    });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    vi.unstubAllGlobals();
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  const handlers = { notification: () => undefined, close: () => undefined };

  it('opens /ws with no token in the URL and authenticates with its first frame', async () => {
    answer = (id) => ({ id, ok: true, data: { participantId: 'p-1' } });
    const signaling = await MediaSignaling.connect(`${url}/`, 'secret.media.token', handlers);
    await vi.waitFor(() => expect(seen[0]?.frames.length).toBe(1));
    expect(seen[0]?.path).toBe('/ws');
    expect(seen[0]?.frames[0]).toEqual({ id: 0, method: 'authenticate', data: { token: 'secret.media.token' } });
    signaling.close();
  });

  it('a refused token fails the requests sent behind it with the refusal code', async () => {
    answer = (id) => ({ id, ok: false, error: { code: 'TOKEN_EXPIRED', message: 'the media token has expired' } });
    const signaling = await MediaSignaling.connect(url, 'stale-token', handlers);
    const refused = await signaling.request('getRouterRtpCapabilities', {}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MediaRequestError);
    expect((refused as MediaRequestError).code).toBe('TOKEN_EXPIRED');
    const later = await signaling.request('join', { rtpCapabilities: {} }).catch((error: unknown) => error);
    expect((later as MediaRequestError).code).toBe('TOKEN_EXPIRED');
  });
});

/** A browser WebSocket as far as RoomSocket touches it; the test plays the server. */
class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static last: FakeSocket | null = null;
  readyState = FakeSocket.CONNECTING;
  readonly sent: RoomClientMessage[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.last = this;
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text) as RoomClientMessage);
  }
  close(): void {
    this.readyState = FakeSocket.CLOSED;
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }
  serverSays(message: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
}

describe('room socket: RATE_LIMITED with retryAfterMs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('window', globalThis);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('holds messages for as long as the server asked, then sends them in order', () => {
    const room = new RoomSocket('ws://edge.test/room', { message: () => undefined, status: () => undefined, final: () => undefined });
    const socket = FakeSocket.last!;
    socket.open();
    room.send({ type: 'chat.send', text: 'one' });
    socket.serverSays({ type: 'error', code: 'RATE_LIMITED', message: 'too many messages; wait 3 s', retryAfterMs: 3_000 });
    room.send({ type: 'chat.send', text: 'two' });
    room.send({ type: 'hand.set', raised: true });
    const chats = () => socket.sent.filter((message) => message.type !== 'ping');
    expect(chats()).toEqual([{ type: 'chat.send', text: 'one' }]);

    vi.advanceTimersByTime(2_900);
    expect(chats()).toHaveLength(1);
    vi.advanceTimersByTime(200);
    expect(chats()).toEqual([
      { type: 'chat.send', text: 'one' },
      { type: 'chat.send', text: 'two' },
      { type: 'hand.set', raised: true },
    ]);
    room.send({ type: 'chat.send', text: 'three' });
    expect(chats().at(-1)).toEqual({ type: 'chat.send', text: 'three' });
    room.close();
  });
});

describe('retry-after', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMsOf('30', now)).toBe(30_000);
    expect(retryAfterMsOf('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMsOf(null, now)).toBeUndefined();
    expect(retryAfterMsOf('soon', now)).toBeUndefined();
  });

  it('says how long to wait, never less than the server asked', () => {
    expect(describeError('RATE_LIMITED', 'too many passcode attempts', 41_200)).toBe('Too many attempts. Try again in 42 seconds.');
    expect(describeError('RATE_LIMITED', undefined, 1)).toBe('Too many attempts. Try again in 1 second.');
    expect(describeError('RATE_LIMITED', undefined, 600_000)).toBe('Too many attempts. Try again in 10 minutes.');
    expect(describeError('RATE_LIMITED')).toBe('Too many attempts. Wait a moment and try again.');
  });
});
