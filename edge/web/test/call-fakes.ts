import { afterEach, beforeEach, expect, vi } from 'vitest';
import { Call } from '../src/call/call.js';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaSession, type MediaSessionEvents } from '../src/call/media-session.js';
import type { ChatMessage, JoinResponse, MediaAssignment, MediaSource, ParticipantView, RoomClientMessage } from '../src/wire.js';

/**
 * The browser faked for tests of the whole Call (room socket + media link + publisher): a room
 * WebSocket the test plays the RoomDO on, MediaSession.start answering fake sessions, devices that
 * open when the test says so, and window events the test fires ('online').
 */

/** A camera or mic track; `muted` until its first packets when the test says so (unmute()). */
export class FakeTrack extends EventTarget {
  enabled = true;
  stopped = false;
  constructor(
    readonly kind: 'audio' | 'video',
    public muted = false,
  ) {
    super();
  }
  stop(): void {
    this.stopped = true;
  }
  getSettings(): { deviceId: string } {
    return { deviceId: `${this.kind}-device` };
  }
  /** First packets arrive. */
  unmute(): void {
    this.muted = false;
    this.dispatchEvent(new Event('unmute'));
  }
}

/** The room WebSocket (RoomDO side played by the test). */
export class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  readonly sent: RoomClientMessage[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.all.push(this);
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
  /** The network drops the socket (no close frame). */
  drop(code = 1006, reason = ''): void {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
  serverSays(message: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
  /** What RoomSockets.closeSocket does (edge/room/sockets.ts): a `closed` message, then the close code. */
  serverCloses(code: string, closeCode: number, reason: string): void {
    this.serverSays({ type: 'closed', code, reason });
    this.drop(closeCode, reason);
  }
}

/** One media session on a node: producers as the node sees them. */
export class FakeSession {
  readonly atNode = new Map<MediaSource, { paused: boolean }>();
  canProduceVideo = true;
  closed = false;
  /** Called right after the node answered a produce (before the page's next request). */
  afterProduce: ((source: MediaSource) => void) | null = null;
  constructor(
    readonly nodeId: string,
    readonly events: MediaSessionEvents,
    /** false: an attendee's session, no send transport (MediaSession.produce throws). */
    readonly publish: boolean,
  ) {}
  hasProducer(source: MediaSource): boolean {
    return this.atNode.has(source);
  }
  async produce(source: MediaSource, _track: MediaStreamTrack, paused = false): Promise<void> {
    if (this.closed) return;
    if (!this.publish) throw new Error('this session only receives: attendees do not send');
    await Promise.resolve();
    this.atNode.set(source, { paused });
    this.afterProduce?.(source);
  }
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.atNode.get(source);
    if (producer) producer.paused = paused;
  }
  async closeProducer(source: MediaSource): Promise<void> {
    this.atNode.delete(source);
  }
  async slowCamera(): Promise<void> {}
  async setReceiveBitrate(): Promise<void> {}
  async setPinned(): Promise<void> {}
  async transportStats(): Promise<RTCStatsReport> {
    return new Map() as unknown as RTCStatsReport;
  }
  setConsumerPaused(): void {}
  stopReceiving(): void {}
  close(): void {
    this.closed = true;
  }
  sends(source: MediaSource): boolean {
    return !this.closed && this.atNode.get(source)?.paused === false;
  }
}

export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** `prepare` runs on each new session before MediaSession.start answers (to script what the node does). */
export function fakeNodes(prepare: (session: FakeSession, index: number) => void = () => undefined) {
  const sessions: FakeSession[] = [];
  vi.spyOn(MediaSession, 'start').mockImplementation(async (to: MediaAssignment, events: MediaSessionEvents, _mark?: unknown, options?: { publish: boolean }) => {
    const session = new FakeSession(to.nodeId, events, options?.publish ?? true);
    prepare(session, sessions.length);
    sessions.push(session);
    await settle();
    return session as unknown as MediaSession;
  });
  return { sessions, last: () => sessions.at(-1)! };
}

/** getUserMedia: 'open' answers at once, 'refuse' throws, 'hold' waits until a `held` release (a permission prompt). */
export const devices: { mode: 'open' | 'refuse' | 'hold'; held: Array<() => void>; opened: FakeTrack[] } = { mode: 'open', held: [], opened: [] };
const windowListeners = new Map<string, Array<() => void>>();

/** The browser fires a window event (e.g. 'online' when the network comes back). */
export function fireWindow(type: string): void {
  for (const listener of windowListeners.get(type) ?? []) listener();
}

export function fakeBrowser(): void {
  FakeSocket.all = [];
  devices.mode = 'open';
  devices.held.length = 0;
  devices.opened.length = 0;
  windowListeners.clear();
  const element = () => ({ hidden: false, autoplay: false, srcObject: null, setAttribute() {}, append() {}, remove() {}, play: async () => undefined });
  vi.stubGlobal('document', { createElement: element, body: { append() {} }, addEventListener() {} });
  vi.stubGlobal('MediaStream', class {});
  vi.stubGlobal('location', { protocol: 'http:', host: 'edge.test' });
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('window', {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (timer: number) => clearTimeout(timer),
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
    clearInterval: (timer: number) => clearInterval(timer),
    addEventListener(type: string, listener: () => void) {
      windowListeners.set(type, [...(windowListeners.get(type) ?? []), listener]);
    },
    removeEventListener(type: string, listener: () => void) {
      windowListeners.set(type, (windowListeners.get(type) ?? []).filter((l) => l !== listener));
    },
  });
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: (constraints: { audio?: unknown }) => {
        const kind = constraints.audio ? 'audio' : 'video';
        const answer = () => {
          const track = new FakeTrack(kind);
          devices.opened.push(track);
          return { getAudioTracks: () => (kind === 'audio' ? [track] : []), getVideoTracks: () => (kind === 'video' ? [track] : []) };
        };
        if (devices.mode === 'refuse') return Promise.reject(new DOMException('refused', 'NotAllowedError'));
        if (devices.mode === 'open') return Promise.resolve(answer());
        return new Promise((resolve) => devices.held.push(() => resolve(answer())));
      },
    },
  });
}

export function assignment(nodeId: string, n = 0): MediaAssignment {
  return { nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-${n}-0123456789`, expiresAt: Date.now() + 60_000 };
}

export const ME = 'me-00000001';
export function view(overrides: Partial<ParticipantView> = {}): ParticipantView {
  return { participantId: ME, displayName: 'Me', role: 'participant', userId: null, handRaised: false, mutedByHost: { audio: false, video: false }, joinedAt: 1, ...overrides };
}

export function welcome(self: ParticipantView, media: MediaAssignment | null, options: { meeting?: Record<string, unknown>; chat?: ChatMessage[] } = {}) {
  return {
    type: 'welcome',
    self,
    participants: [],
    waiting: [],
    chat: options.chat ?? [],
    meeting: { title: 'Standup', mode: 'meeting', locked: false, recording: { active: false, recordingId: null, startedAt: null, status: null }, ended: false, participantsMayUnmute: true, ...options.meeting },
    media,
  };
}

export function chatMessage(i: number): ChatMessage {
  return { messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, participantId: 'other-000001', displayName: 'Ann', text: `message ${i}`, sentAt: 1_700_000_000_000 + i };
}

/** Calls a test started: leave them all in afterEach. */
const calls: Call[] = [];
export function leaveCalls(): void {
  for (const call of calls.splice(0)) call.leave();
}

export interface InCallOptions {
  role?: ParticipantView['role'];
  mode?: 'meeting' | 'webinar';
  /** How the pre-join's devices answer (both asked for, both on). */
  devices?: 'open' | 'refuse';
  chat?: ChatMessage[];
  prepare?: (session: FakeSession, index: number) => void;
}

/** Pre-join opened both devices (on); joined, welcomed and connected on node-a. */
export async function inCall(options: InCallOptions = {}) {
  const nodes = fakeNodes(options.prepare);
  const local = new LocalMedia();
  devices.mode = options.devices ?? 'open';
  await Promise.all([local.openMic(), local.openCamera()]);
  devices.mode = 'open';
  const role = options.role ?? 'participant';
  const join: JoinResponse = { participantId: ME, role, roomSession: 'room-session-0123456789abcdef', status: 'joined', media: assignment('node-a') };
  const call = new Call('link-id-for-tests-0000', join, local, 0);
  calls.push(call);
  const room = FakeSocket.all[0]!;
  room.open();
  room.serverSays(welcome(view({ role }), assignment('node-a'), { meeting: { mode: options.mode ?? 'meeting' }, chat: options.chat }));
  await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
  return { nodes, local, call, room, a: nodes.last() };
}

/** The network blips: the room socket drops, and the page reconnects it (a new socket, opened). */
export async function roomReconnects(room: FakeSocket): Promise<FakeSocket> {
  const before = FakeSocket.all.length;
  room.drop();
  await vi.waitFor(() => expect(FakeSocket.all.length).toBe(before + 1), { timeout: 3_000 });
  const next = FakeSocket.all.at(-1)!;
  next.open();
  return next;
}

/** Each test of the calling file gets a fresh fake browser, and leaves no call, timer or stub behind. */
export function withFakeBrowser(): void {
  beforeEach(() => {
    fakeBrowser();
  });
  afterEach(() => {
    leaveCalls();
    vi.useRealTimers();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });
}
