import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaLink, type MediaLinkOwner } from '../src/call/media-link.js';
import { MediaSession, type MediaSessionEvents } from '../src/call/media-session.js';
import { Publisher } from '../src/call/publisher.js';
import type { RemoteTrack } from '../src/call/remote-tracks.js';
import type { MediaAssignment, MediaSource } from '../src/wire.js';
import { FakeTrack } from './call-fakes.js';

/** Screen sharing stopped while the node still answers the share, or started during a move that then fails: the button and what is sent agree. */

/** A session whose node answers `produce` when the test says so (a round trip in flight). */
class FakeSession {
  readonly atNode = new Map<MediaSource, { paused: boolean; track: FakeTrack }>();
  readonly remotes = new Map<string, RemoteTrack>();
  canProduceVideo = true;
  closed = false;
  slowProduce = false;
  private pending: Array<() => void> = [];
  private consumers = 0;
  constructor(
    readonly nodeId: string,
    readonly events: MediaSessionEvents = {} as MediaSessionEvents,
  ) {}
  hasProducer(source: MediaSource): boolean {
    return this.atNode.has(source);
  }
  async produce(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    if (this.closed) return;
    // MediaSession.produce closes an existing one of the source first, then asks the node.
    await this.closeProducer(source);
    if (this.slowProduce) await new Promise<void>((resolve) => this.pending.push(resolve));
    this.atNode.set(source, { paused, track: track as unknown as FakeTrack });
  }
  get producing(): number {
    return this.pending.length;
  }
  answerProduce(): void {
    this.pending.splice(0).forEach((answer) => answer());
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
  setConsumerPaused(): void {}
  stopReceiving(): void {
    for (const remote of this.remotes.values()) this.events.remoteRemoved(remote);
    this.remotes.clear();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopReceiving();
  }
  /** What the others get: a producer the node forwards. */
  sends(source: MediaSource): boolean {
    return !this.closed && this.atNode.get(source)?.paused === false;
  }
  receive(participantId: string, source: MediaSource): RemoteTrack {
    const kind = source === 'mic' ? 'audio' : 'video';
    const track = new FakeTrack(kind, false);
    const getStats = async () => new Map([['inbound', { type: 'inbound-rtp', framesDecoded: 1 }]]);
    const remote = {
      consumer: { id: `${this.nodeId}-consumer-${++this.consumers}`, track, closed: false, getStats },
      participantId,
      displayName: participantId,
      kind,
      source,
      producerPaused: false,
      preferredLayer: null,
      spatialLayer: null,
      pausedByPage: false,
    } as unknown as RemoteTrack;
    this.remotes.set(remote.consumer.id, remote);
    this.events.remoteAdded(remote);
    return remote;
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const screens: FakeTrack[] = [];

function fakeBrowser() {
  const element = () => ({ hidden: false, autoplay: false, srcObject: null, setAttribute() {}, append() {}, remove() {}, play: async () => undefined });
  vi.stubGlobal('document', { createElement: element, body: { append() {} }, addEventListener() {} });
  vi.stubGlobal('MediaStream', class {});
  vi.stubGlobal('window', { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as number });
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: async (constraints: { audio?: unknown }) => {
        const track = new FakeTrack(constraints.audio ? 'audio' : 'video');
        return { getAudioTracks: () => (track.kind === 'audio' ? [track] : []), getVideoTracks: () => (track.kind === 'video' ? [track] : []) };
      },
      getDisplayMedia: async () => {
        const track = new FakeTrack('video');
        screens.push(track);
        return { getVideoTracks: () => [track] };
      },
    },
  });
}

const links: MediaLink[] = [];
beforeEach(() => {
  fakeBrowser();
  screens.length = 0;
});
afterEach(() => {
  for (const link of links.splice(0)) link.close(false);
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

async function localWithDevices(): Promise<LocalMedia> {
  const local = new LocalMedia();
  await Promise.all([local.openMic(), local.openCamera()]);
  local.settleChoice();
  return local;
}

describe('Stop sharing while the node is still answering the share', () => {
  it('no screen producer is left at the node once sharing shows as stopped', async () => {
    const local = await localWithDevices();
    const publisher = new Publisher(local, () => undefined);
    const session = new FakeSession('node-a');
    await publisher.attach(session as unknown as MediaSession, () => undefined);
    session.slowProduce = true;
    const starting = publisher.toggleScreen(); // picked a screen; `produce` goes to the node
    await vi.waitFor(() => expect(session.producing).toBe(1));
    const stopping = publisher.toggleScreen(); // Stop sharing (or the browser's own "Stop sharing" bar)
    session.answerProduce();
    await Promise.all([starting, stopping]);
    await settle();
    expect(local.screen).toBeNull(); // the button reads "Share screen" …
    expect(screens[0]!.stopped).toBe(true);
    // … and the others must not keep a screen tile of ours (its last frame frozen on their page).
    expect(session.hasProducer('screen')).toBe(false);
  });
});

function assignment(nodeId: string): MediaAssignment {
  return { nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-0123456789`, expiresAt: Date.now() + 60_000 };
}

describe('sharing started during a move that then fails', () => {
  it('the old session (current again) sends the screen the button says is shared', async () => {
    const sessions: FakeSession[] = [];
    const answers = new Map<string, () => void>();
    vi.spyOn(MediaSession, 'start').mockImplementation(async (to: MediaAssignment, events: MediaSessionEvents) => {
      const session = new FakeSession(to.nodeId, events);
      sessions.push(session);
      await new Promise<void>((resolve) => answers.set(to.nodeId, resolve));
      return session as unknown as MediaSession;
    });
    const local = await localWithDevices();
    const owner: MediaLinkOwner = { emit: () => undefined, mark: () => undefined, askForAssignment: () => undefined, endCall: () => undefined, isEnded: () => false, canPublish: () => true };
    const publisher = new Publisher(local, () => undefined);
    const link = new MediaLink(owner, publisher);
    links.push(link);
    void link.start(assignment('node-a'));
    await vi.waitFor(() => expect(answers.has('node-a')).toBe(true));
    answers.get('node-a')!();
    await vi.waitFor(() => expect(link.status).toBe('connected'));
    const old = sessions[0]!;
    old.receive('bob', 'camera'); // Bob plays on node-a: the move waits for him on node-b

    link.onAssignment(assignment('node-b')); // a drain: make-before-break
    await vi.waitFor(() => expect(answers.has('node-b')).toBe(true));
    answers.get('node-b')!();
    await vi.waitFor(() => expect(sessions[1]?.sends('camera')).toBe(true));
    const next = sessions[1]!;

    expect(await publisher.toggleScreen()).toBeNull(); // Share screen, while the move is under way
    expect(next.sends('screen')).toBe(true);
    next.events.closedByServer('MEETING_MOVED', 'the meeting moved to another media node'); // the move fails
    await settle();
    expect(link.session).toBe(old);
    expect(local.screen).not.toBeNull(); // the button reads "Stop sharing"
    expect(old.sends('screen')).toBe(true);
  });
});
