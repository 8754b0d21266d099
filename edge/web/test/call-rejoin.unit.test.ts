import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Call } from '../src/call/call.js';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaSession, type MediaSessionEvents } from '../src/call/media-session.js';
import type { JoinResponse, MediaAssignment, MediaSource, ParticipantView, RoomClientMessage } from '../src/wire.js';

/**
 * What a page does after its room socket reconnects, and when it leaves while a device still opens:
 * the whole Call (room socket + media link + publisher) with the browser faked — a room WebSocket
 * the test plays the server on, MediaSession.start answering fake sessions, devices that open when
 * the test says so. The welcome after a reconnect is the only word on what happened meanwhile.
 */

class FakeTrack extends EventTarget {
  enabled = true;
  stopped = false;
  muted = false;
  constructor(readonly kind: 'audio' | 'video') {
    super();
  }
  stop(): void {
    this.stopped = true;
  }
  getSettings(): { deviceId: string } {
    return { deviceId: `${this.kind}-device` };
  }
}

/** The room WebSocket (RoomDO side played by the test). */
class FakeSocket extends EventTarget {
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
  drop(code = 1006): void {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason: '' }));
  }
  serverSays(message: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
}

/** One media session on a node: producers as the node sees them. */
class FakeSession {
  readonly atNode = new Map<MediaSource, { paused: boolean }>();
  canProduceVideo = true;
  closed = false;
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

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function fakeNodes() {
  const sessions: FakeSession[] = [];
  vi.spyOn(MediaSession, 'start').mockImplementation(async (to: MediaAssignment, events: MediaSessionEvents, _mark?: unknown, options?: { publish: boolean }) => {
    const session = new FakeSession(to.nodeId, events, options?.publish ?? true);
    sessions.push(session);
    await settle();
    return session as unknown as MediaSession;
  });
  return { sessions, last: () => sessions.at(-1)! };
}

/** getUserMedia: 'open' answers at once, 'refuse' throws, 'hold' waits until `release()` (a permission prompt). */
let deviceMode: 'open' | 'refuse' | 'hold' = 'open';
const held: Array<() => void> = [];
const opened: FakeTrack[] = [];
function fakeBrowser() {
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
    addEventListener() {},
    removeEventListener() {},
  });
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: (constraints: { audio?: unknown }) => {
        const kind = constraints.audio ? 'audio' : 'video';
        const answer = () => {
          const track = new FakeTrack(kind);
          opened.push(track);
          return { getAudioTracks: () => (kind === 'audio' ? [track] : []), getVideoTracks: () => (kind === 'video' ? [track] : []) };
        };
        if (deviceMode === 'refuse') return Promise.reject(new DOMException('refused', 'NotAllowedError'));
        if (deviceMode === 'open') return Promise.resolve(answer());
        return new Promise((resolve) => held.push(() => resolve(answer())));
      },
    },
  });
}

function assignment(nodeId: string, n = 0): MediaAssignment {
  return { nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-${n}-0123456789`, expiresAt: Date.now() + 60_000 };
}

const ME = 'me-00000001';
function view(overrides: Partial<ParticipantView> = {}): ParticipantView {
  return { participantId: ME, displayName: 'Me', role: 'participant', userId: null, handRaised: false, mutedByHost: { audio: false, video: false }, joinedAt: 1, ...overrides };
}
function welcome(self: ParticipantView, media: MediaAssignment | null, meeting: Record<string, unknown> = {}) {
  return {
    type: 'welcome',
    self,
    participants: [],
    waiting: [],
    chat: [],
    meeting: { title: 'Standup', mode: 'meeting', locked: false, recording: { active: false, recordingId: null, startedAt: null, status: null }, ended: false, participantsMayUnmute: true, ...meeting },
    media,
  };
}

const calls: Call[] = [];
beforeEach(() => {
  fakeBrowser();
  FakeSocket.all = [];
  deviceMode = 'open';
  held.length = 0;
  opened.length = 0;
});
afterEach(() => {
  for (const call of calls.splice(0)) call.leave();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** Pre-join opened both devices (on); joined, welcomed and connected on node-a. */
async function inCall(options: { role?: ParticipantView['role']; mode?: 'meeting' | 'webinar'; devices?: 'open' | 'refuse' } = {}) {
  const nodes = fakeNodes();
  const local = new LocalMedia();
  deviceMode = options.devices ?? 'open';
  await Promise.all([local.openMic(), local.openCamera()]);
  deviceMode = 'open';
  const join: JoinResponse = { participantId: ME, role: options.role ?? 'participant', roomSession: 'room-session-0123456789abcdef', status: 'joined', media: assignment('node-a') };
  const call = new Call('link-id-for-tests-0000', join, local, 0);
  calls.push(call);
  const room = FakeSocket.all[0]!;
  room.open();
  room.serverSays(welcome(view({ role: options.role ?? 'participant' }), assignment('node-a'), { mode: options.mode ?? 'meeting' }));
  await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
  return { nodes, local, call, room, a: nodes.last() };
}

/** The network blips: the room socket drops, and the page reconnects it (a new socket, opened). */
async function roomReconnects(room: FakeSocket): Promise<FakeSocket> {
  const before = FakeSocket.all.length;
  room.drop();
  await vi.waitFor(() => expect(FakeSocket.all.length).toBe(before + 1), { timeout: 3_000 });
  const next = FakeSocket.all.at(-1)!;
  next.open();
  return next;
}

describe('a host mute that happened while the page was reconnecting', () => {
  it('the welcome says the host muted my mic: the new media session must not send it (nor the button say live)', async () => {
    const { nodes, call, room, a } = await inCall();
    expect(a.sends('mic')).toBe(true);
    // A network blip takes both sockets; the host mutes me meanwhile (the `muted` message never reaches me).
    a.events.lost('media signaling closed (1006)');
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ mutedByHost: { audio: true, video: false } }), assignment('node-a')));
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    const next = nodes.last();
    expect({ buttonSaysLive: call.local.isOn('mic'), micSent: next.sends('mic') }).toEqual({ buttonSaysLive: false, micSent: false });
  });
});

describe('a webinar speaker sent back to the audience while the room socket was reconnecting', () => {
  it('the welcome says attendee: the devices close as they do on participant.updated (camera light off)', async () => {
    const { call, room, local } = await inCall({ mode: 'webinar' });
    const camera = local.camera as unknown as FakeTrack;
    const mic = local.mic as unknown as FakeTrack;
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a'), { mode: 'webinar' }));
    await settle();
    expect(call.canPublish).toBe(false);
    expect({ cameraStopped: camera.stopped, micStopped: mic.stopped, cameraOn: local.isOn('camera'), micOn: local.isOn('mic') }).toEqual({
      cameraStopped: true,
      micStopped: true,
      cameraOn: false,
      micOn: false,
    });
  });

  it('invited to speak again later: mic and camera must not go live by themselves', async () => {
    const { nodes, call, room } = await inCall({ mode: 'webinar' });
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a'), { mode: 'webinar' }));
    // Sent back to the audience meanwhile: a session with an attendee's rights starts.
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await settle();
    // The host invites me to speak: participant.updated, then a token for the new role.
    room2.serverSays({ type: 'participant.updated', participant: view({ role: 'participant' }) });
    room2.serverSays({ type: 'media.assignment', media: assignment('node-a', 1) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(3));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    await settle();
    const next = nodes.last();
    expect({ micSent: next.sends('mic'), cameraSent: next.sends('camera') }).toEqual({ micSent: false, cameraSent: false });
  });

  it('the same blip took the media session too: the attendee’s new (receive-only) session still comes up', async () => {
    const { nodes, call, room, a } = await inCall({ mode: 'webinar' });
    a.events.lost('media signaling closed (1006)');
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a', 1), { mode: 'webinar' }));
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await settle();
    await settle();
    expect(nodes.last().publish).toBe(false);
    // An attendee's session has no send transport; it must still receive (watch the webinar).
    expect(call.mediaStatus).toBe('connected');
  });

  it('the same demotion seen as participant.updated: promoted later, nothing goes live', async () => {
    const { nodes, call, room } = await inCall({ mode: 'webinar' });
    room.serverSays({ type: 'participant.updated', participant: view({ role: 'attendee' }) });
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 1) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    room.serverSays({ type: 'participant.updated', participant: view({ role: 'participant' }) });
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 2) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(3));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    await settle();
    const next = nodes.last();
    expect({ micSent: next.sends('mic'), cameraSent: next.sends('camera') }).toEqual({ micSent: false, cameraSent: false });
  });
});

describe('leaving while a device is still opening (permission prompt up)', () => {
  it('the camera that opens after Leave is stopped at once (no camera light on the end screen)', async () => {
    const { call, local } = await inCall({ devices: 'refuse' });
    expect(local.camera).toBeNull();
    deviceMode = 'hold';
    const turningOn = call.toggleCamera(); // "Start video": the browser asks for permission
    await settle();
    call.leave();
    expect(call.phase).toBe('ended');
    held.splice(0).forEach((release) => release()); // the person clicks Allow
    await turningOn;
    const camera = opened.at(-1)!;
    expect({ cameraStopped: camera.stopped, cameraKept: local.camera !== null }).toEqual({ cameraStopped: true, cameraKept: false });
  });
});
