import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaLink, type MediaLinkOwner, type MediaStatus } from '../src/call/media-link.js';
import { MediaSession, type MediaSessionEvents } from '../src/call/media-session.js';
import { MediaRequestError } from '../src/call/media-signaling.js';
import { Publisher } from '../src/call/publisher.js';
import type { MediaAssignment, MediaSource } from '../src/wire.js';
import { FakeTrack } from './call-fakes.js';

/**
 * The host muted everyone and turned "let participants unmute themselves" off. The media node then
 * refuses to make a muted kind audible again: a resume (MediaSession.setPaused: the choice goes
 * back to off) and equally a produce unpaused (media-node/signaling/request-handlers.ts: produce →
 * unmuteOwn → PERMISSION_DENIED), which the publisher answers the same way.
 */

/** Host mutes as the nodes hold them (replayHostMutes gives every node of the meeting the same). */
const heldByHost = new Set<MediaSource>();

/** One media session as MediaLink/Publisher see it; the node enforces held host mutes like the real one. */
class FakeSession {
  readonly atNode = new Map<MediaSource, { paused: boolean }>();
  canProduceVideo = true;
  closed = false;
  constructor(
    readonly nodeId: string,
    readonly events: MediaSessionEvents,
  ) {}
  hasProducer(source: MediaSource): boolean {
    return this.atNode.has(source);
  }
  async produce(source: MediaSource, _track: MediaStreamTrack, paused = false): Promise<void> {
    if (this.closed) return;
    await Promise.resolve();
    // The node's answer to `produce` unpaused while the host holds the kind's mute (unmuteOwn).
    if (!paused && heldByHost.has(source)) throw new MediaRequestError('PERMISSION_DENIED', `the host muted your ${source} and has not allowed participants to unmute themselves`);
    this.atNode.set(source, { paused });
  }
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.atNode.get(source);
    if (!producer) return;
    if (!paused && heldByHost.has(source)) {
      // What MediaSession.setPaused does on PERMISSION_DENIED.
      producer.paused = true;
      this.events.localPausedByServer(source);
      throw new MediaRequestError('PERMISSION_DENIED', 'held');
    }
    producer.paused = paused;
  }
  async closeProducer(source: MediaSource): Promise<void> {
    this.atNode.delete(source);
  }
  async slowCamera(): Promise<void> {}
  async setReceiveBitrate(): Promise<void> {}
  async setPinned(): Promise<void> {}
  setConsumerPaused(): void {}
  stopReceiving(): void {}
  close(): void {
    this.closed = true;
  }
  sends(source: MediaSource): boolean {
    return !this.closed && this.atNode.get(source)?.paused === false;
  }
}

function assignment(nodeId: string): MediaAssignment {
  return { nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-0123456789`, expiresAt: Date.now() + 60_000 };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function fakeNodes() {
  const sessions: FakeSession[] = [];
  vi.spyOn(MediaSession, 'start').mockImplementation(async (to: MediaAssignment, events: MediaSessionEvents) => {
    const session = new FakeSession(to.nodeId, events);
    sessions.push(session);
    await settle();
    return session as unknown as MediaSession;
  });
  return { sessions, on: (nodeId: string) => sessions.filter((session) => session.nodeId === nodeId).at(-1)! };
}

let micAllowed = true;
function fakeBrowser() {
  const element = () => ({ hidden: false, autoplay: false, srcObject: null, setAttribute() {}, append() {}, remove() {}, play: async () => undefined });
  vi.stubGlobal('document', { createElement: element, body: { append() {} }, addEventListener() {} });
  vi.stubGlobal('MediaStream', class {});
  vi.stubGlobal('window', { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as number });
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: async (constraints: { audio?: unknown }) => {
        if (constraints.audio && !micAllowed) throw new DOMException('refused', 'NotAllowedError');
        const track = new FakeTrack(constraints.audio ? 'audio' : 'video');
        return { getAudioTracks: () => (track.kind === 'audio' ? [track] : []), getVideoTracks: () => (track.kind === 'video' ? [track] : []) };
      },
    },
  });
}

const links: MediaLink[] = [];
beforeEach(() => {
  fakeBrowser();
  heldByHost.clear();
  micAllowed = true;
});
afterEach(() => {
  for (const link of links.splice(0)) link.close(false);
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/**
 * In a call on node-a with the camera on and no microphone (refused at pre-join). The host mutes
 * everyone with unmuting off; then the person clicks Unmute and allows the microphone this time.
 */
async function unmuteClickedWhileHeld() {
  const nodes = fakeNodes();
  const local = new LocalMedia();
  micAllowed = false;
  await Promise.all([local.openMic(), local.openCamera()]);
  local.settleChoice();
  const statuses: MediaStatus[] = [];
  let link: MediaLink;
  const owner: MediaLinkOwner = {
    emit: (...topics) => void (topics.includes('status') && statuses.push(link.status)),
    mark: () => undefined,
    askForAssignment: () => undefined,
    endCall: () => undefined,
    isEnded: () => false,
    canPublish: () => true,
  };
  const publisher = new Publisher(local, () => undefined);
  link = new MediaLink(owner, publisher);
  links.push(link);
  void link.start(assignment('node-a'));
  await vi.waitFor(() => expect(link.status).toBe('connected'));
  const a = nodes.on('node-a');
  expect(a.sends('camera')).toBe(true);

  // host.mute (everyone) with participantsMayUnmute off: the node holds it, the room says `muted`.
  heldByHost.add('mic').add('camera');
  publisher.mutedByHost(null);
  await settle();
  expect(local.isOn('camera')).toBe(false);

  // Unmute: the browser opens the microphone now; the node refuses the unpaused produce.
  micAllowed = true;
  await publisher.toggle('mic');
  await settle();
  return { nodes, local, link, publisher, a, statuses };
}

describe('an Unmute the node refuses (host holds the mute) when the mic had no producer yet', () => {
  it('the button falls back to muted, as it does for a refused resume', async () => {
    const { local, a } = await unmuteClickedWhileHeld();
    expect(a.sends('mic')).toBe(false); // nothing is sent …
    // … so the button must not read "Mute" (live).
    expect(local.isOn('mic')).toBe(false);
  });

  it('the next media session (failover) still connects: a refused produce must not make every new session fail', async () => {
    const { nodes, link, a } = await unmuteClickedWhileHeld();
    // The node crashes; the room names node-b (which learned the host mutes: replayHostMutes).
    a.events.lost('media signaling closed (1006)');
    // Each time the room names a node, a session is started; it should come up once.
    const seen: MediaStatus[] = [];
    for (let attempt = 0; attempt < 3 && link.status !== 'connected'; attempt++) {
      const before = nodes.sessions.length;
      link.onAssignment(assignment('node-b'));
      await vi.waitFor(() => expect(nodes.sessions.length).toBe(before + 1));
      await settle();
      await settle();
      seen.push(link.status);
    }
    expect(seen).toEqual(['connected']);
  });
});
