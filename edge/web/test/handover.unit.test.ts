import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { covers, HANDOVER_LIMIT_MS } from '../src/call/handover.js';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaLink, RETIRE_AFTER_MS, type MediaLinkOwner, type MediaStatus } from '../src/call/media-link.js';
import { MediaSession, type MediaSessionEvents } from '../src/call/media-session.js';
import { Publisher } from '../src/call/publisher.js';
import { untilPlaying } from '../src/call/track-swap.js';
import type { RemoteTrack } from '../src/call/remote-tracks.js';
import type { MediaAssignment, MediaSource } from '../src/wire.js';
import { FakeTrack } from './call-fakes.js';

/**
 * Make-before-break in the client (issue 11: drain without a gap): when the room moves the
 * meeting while media works, the page connects, publishes and consumes on the new node before the
 * old session closes, and swaps what it shows in one go. A crash (the old session already lost)
 * keeps the old path: drop at once, reconnect.
 */

/** One media session on one node, as the link sees it: producers at the node, remote tracks it receives. */
class FakeSession {
  readonly atNode = new Map<MediaSource, { paused: boolean }>();
  readonly remotes = new Map<string, RemoteTrack>();
  canProduceVideo = true;
  closed = false;
  receiving = true;
  private consumers = 0;
  constructor(
    readonly nodeId: string,
    readonly events: MediaSessionEvents,
  ) {}
  hasProducer(source: MediaSource): boolean {
    return this.atNode.has(source);
  }
  async produce(source: MediaSource, _track: MediaStreamTrack, paused = false): Promise<void> {
    if (this.closed) return;
    this.atNode.set(source, { paused });
  }
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.atNode.get(source);
    if (producer) producer.paused = paused;
  }
  async closeProducer(source: MediaSource): Promise<void> {
    this.atNode.delete(source);
  }
  /** The camera's encoder runs slowly (Publisher: this session is being left). */
  cameraSlowed = false;
  async slowCamera(on: boolean): Promise<void> {
    this.cameraSlowed = on;
  }
  async setReceiveBitrate(): Promise<void> {}
  sends(source: MediaSource): boolean {
    return !this.closed && this.atNode.get(source)?.paused === false;
  }
  /** Consumers the page asked the node to pause (off screen, or replaced by a newer track). */
  readonly pausedConsumers = new Set<string>();
  setConsumerPaused(consumerId: string, paused: boolean): void {
    if (paused) this.pausedConsumers.add(consumerId);
    else this.pausedConsumers.delete(consumerId);
  }
  /** The node closes one consumer (its producer closed, or its relay). */
  drop(remote: RemoteTrack): void {
    this.remotes.delete(remote.consumer.id);
    this.events.remoteRemoved(remote);
  }
  stopReceiving(): void {
    this.receiving = false;
    for (const remote of this.remotes.values()) this.events.remoteRemoved(remote);
    this.remotes.clear();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopReceiving();
  }
  /** The node sends us someone's track (muted until its first packets). */
  receive(participantId: string, source: MediaSource, options: { flowing?: boolean } = {}): RemoteTrack & { consumer: { track: FakeTrack } } {
    const kind = source === 'mic' ? 'audio' : 'video';
    const track = new FakeTrack(kind, !(options.flowing ?? true));
    // Its first frame decodes as its first packets arrive (untilPlaying reads framesDecoded).
    const getStats = async () => new Map([['inbound', { type: 'inbound-rtp', framesDecoded: track.muted ? 0 : 1 }]]);
    const remote = {
      consumer: { id: `${this.nodeId}-consumer-${++this.consumers}`, track, closed: false, getStats },
      participantId,
      displayName: participantId,
      kind,
      source,
      producerPaused: false,
      preferredLayer: null,
      spatialLayer: null,
    } as unknown as RemoteTrack & { consumer: { track: FakeTrack } };
    this.remotes.set(remote.consumer.id, remote);
    this.events.remoteAdded(remote);
    return remote;
  }
}

function assignment(nodeId: string): MediaAssignment {
  return { nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-0123456789`, expiresAt: Date.now() + 60_000 };
}

/** MediaSession.start answers a FakeSession when the test lets the node answer. */
function fakeNodes() {
  const sessions: FakeSession[] = [];
  const waiting = new Map<string, (refused?: Error) => void>();
  vi.spyOn(MediaSession, 'start').mockImplementation(async (to: MediaAssignment, events: MediaSessionEvents) => {
    const session = new FakeSession(to.nodeId, events);
    sessions.push(session);
    await new Promise<void>((resolve, reject) => waiting.set(to.nodeId, (refused) => (refused ? reject(refused) : resolve())));
    return session as unknown as MediaSession;
  });
  return {
    sessions,
    /** The node at `nodeId` finishes the session set-up (signaling, transports, join). */
    answer: async (nodeId: string) => {
      await vi.waitFor(() => expect(waiting.has(nodeId)).toBe(true));
      waiting.get(nodeId)!();
      waiting.delete(nodeId);
      await settle();
    },
    /** The node at `nodeId` refuses the session (its signaling answers an error). */
    refuse: async (nodeId: string) => {
      await vi.waitFor(() => expect(waiting.has(nodeId)).toBe(true));
      waiting.get(nodeId)!(new Error('MEETING_NOT_FOUND'));
      waiting.delete(nodeId);
      await settle();
    },
    on: (nodeId: string) => sessions.filter((session) => session.nodeId === nodeId).at(-1)!,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The browser bits AudioSink and LocalMedia touch. */
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
    },
  });
}

/** A page in a call with mic and camera on, connected on node `a`. */
async function pageOnNodeA(nodes: ReturnType<typeof fakeNodes>) {
  const local = new LocalMedia();
  await Promise.all([local.openMic(), local.openCamera()]);
  local.settleChoice();
  const statuses: MediaStatus[] = [];
  const asked = { count: 0 };
  let link: MediaLink;
  const owner: MediaLinkOwner = {
    emit: (...topics) => void (topics.includes('status') && statuses.push(link.status)),
    mark: () => undefined,
    askForAssignment: () => void (asked.count += 1),
    endCall: () => undefined,
    isEnded: () => false,
    canPublish: () => true,
  };
  const publisher = new Publisher(local, () => undefined);
  link = new MediaLink(owner, publisher);
  links.push(link);
  void link.start(assignment('a'));
  await nodes.answer('a');
  const old = nodes.on('a');
  const bobOnA = old.receive('bob', 'camera');
  expect(link.status).toBe('connected');
  statuses.length = 0;
  return { link, local, publisher, old, bobOnA, statuses, asked };
}

const links: MediaLink[] = [];
beforeEach(() => {
  fakeBrowser();
});
afterEach(() => {
  for (const link of links.splice(0)) link.close(false);
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the meeting moves to another node while media works (drain)', () => {
  it('connects, publishes and consumes on the new node before the old session stops, then swaps in one go', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA, statuses } = await pageOnNodeA(nodes);

    link.onAssignment(assignment('b'));
    await settle();
    // The new session is coming up; the old one still plays and sends.
    expect(old.closed).toBe(false);
    expect(old.sends('camera')).toBe(true);
    await nodes.answer('b');
    const next = nodes.on('b');
    // Published on the new node while the old one is still open …
    expect(next.sends('mic')).toBe(true);
    expect(next.sends('camera')).toBe(true);
    expect(old.closed).toBe(false);
    // … and Bob's camera there is consumed, but not shown until its packets flow.
    const bobOnB = next.receive('bob', 'camera', { flowing: false });
    await settle();
    expect(old.closed).toBe(false);
    expect([...link.remotes.values()]).toEqual([bobOnA]);

    bobOnB.consumer.track.unmute();
    await settle();
    // Switched: the old session no longer plays, but still sends for those not switched yet.
    expect(old.receiving).toBe(false);
    expect(old.sends('camera')).toBe(true);
    expect([...link.remotes.values()]).toEqual([bobOnB]);
    expect(link.session).toBe(next);
    expect(link.sessions).toBe(2);
    // Never told the person it was reconnecting: the move was seamless.
    expect(statuses).not.toContain('reconnecting');
    expect(link.status).toBe('connected');
    expect(link.awaitingRemoteMedia).toBe(false);
  });

  it('someone who never reaches the new node does not hold the move up past the limit; the old session sends on a while, then closes', async () => {
    const nodes = fakeNodes();
    const { link, publisher, old } = await pageOnNodeA(nodes);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    link.onAssignment(assignment('b'));
    await vi.advanceTimersByTimeAsync(0);
    nodes.answer('b').catch(() => undefined);
    await vi.advanceTimersByTimeAsync(100);
    expect(nodes.on('b').sends('camera')).toBe(true);
    expect(old.closed).toBe(false);
    expect(old.receiving).toBe(true);
    await vi.advanceTimersByTimeAsync(HANDOVER_LIMIT_MS);
    expect(old.receiving).toBe(false);
    expect(link.session).toBe(nodes.on('b'));
    // Still sending there, and still following a mute.
    expect(old.sends('camera')).toBe(true);
    await publisher.toggle('camera');
    expect(old.sends('camera')).toBe(false);
    await vi.advanceTimersByTimeAsync(RETIRE_AFTER_MS);
    expect(old.closed).toBe(true);
    expect(nodes.on('b').closed).toBe(false);
  });

  it('a device turned off during the move is paused on the old node too; turning it on does not resume it there', async () => {
    const nodes = fakeNodes();
    const { link, publisher, old } = await pageOnNodeA(nodes);
    link.onAssignment(assignment('b'));
    await nodes.answer('b');
    await publisher.toggle('mic');
    expect(old.sends('mic')).toBe(false);
    expect(nodes.on('b').sends('mic')).toBe(false);
    await publisher.toggle('mic');
    expect(nodes.on('b').sends('mic')).toBe(true);
    expect(old.sends('mic')).toBe(false);
  });

  it('the old session dies during the move (a crash noticed late): the page says reconnecting and switches once the new one is up', async () => {
    const nodes = fakeNodes();
    const { link, old, statuses } = await pageOnNodeA(nodes);
    link.onAssignment(assignment('b'));
    await settle();
    old.events.lost('media signaling closed (1006)');
    expect(link.status).toBe('reconnecting');
    await nodes.answer('b');
    // Nobody is on the new node yet: nothing to wait for, the dead session goes.
    expect(old.closed).toBe(true);
    expect(link.session).toBe(nodes.on('b'));
    expect(link.remotes.size).toBe(0);
    expect(link.status).toBe('connected');
    expect(link.awaitingRemoteMedia).toBe(true);
    expect(statuses).toContain('reconnecting');
  });
});

describe('the node we leave is frozen (silent partition)', () => {
  it('nothing arrives on the old session: the page says reconnecting and switches as soon as the new one is up', async () => {
    const nodes = fakeNodes();
    const { link, old, statuses } = await pageOnNodeA(nodes);
    link.mediaStalled(true);
    link.onAssignment(assignment('b'));
    await nodes.answer('b');
    // Nobody flows on b yet, but there is nothing to keep on a: switched, and the frozen session closed.
    expect(link.session).toBe(nodes.on('b'));
    expect(old.closed).toBe(true);
    expect(statuses).toContain('reconnecting');
    expect(link.awaitingRemoteMedia).toBe(true);
  });
});

describe('the node we move to refuses us', () => {
  it('the old session plays and sends on, the page is not told it reconnects, and the room is asked again', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA, statuses, asked } = await pageOnNodeA(nodes);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    link.onAssignment(assignment('b'));
    await vi.advanceTimersByTimeAsync(0);
    nodes.refuse('b').catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(old.closed).toBe(false);
    expect(old.sends('camera')).toBe(true);
    expect(link.session).toBe(old);
    expect([...link.remotes.values()]).toEqual([bobOnA]);
    expect(statuses).not.toContain('reconnecting');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asked.count).toBe(1);
    // The room says b again; this time b takes us.
    link.onAssignment(assignment('b'));
    await vi.advanceTimersByTimeAsync(0);
    nodes.answer('b').catch(() => undefined);
    await vi.advanceTimersByTimeAsync(HANDOVER_LIMIT_MS + 100);
    expect(link.session).toBe(nodes.on('b'));
    expect(nodes.on('b').sends('camera')).toBe(true);
    expect(statuses).not.toContain('reconnecting');
  });

  it('the new session is closed by its node before the switch: the old one plays on', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA, statuses } = await pageOnNodeA(nodes);
    link.onAssignment(assignment('b'));
    await nodes.answer('b');
    const next = nodes.on('b');
    next.events.closedByServer('MEETING_MOVED', 'the meeting moved to another media node');
    await settle();
    expect(next.closed).toBe(true);
    expect(old.closed).toBe(false);
    expect(link.session).toBe(old);
    expect([...link.remotes.values()]).toEqual([bobOnA]);
    expect(statuses).not.toContain('reconnecting');
  });

  it('a loss of the old session after a failed move is still noticed', async () => {
    const nodes = fakeNodes();
    const { link, old } = await pageOnNodeA(nodes);
    link.onAssignment(assignment('b'));
    await nodes.refuse('b');
    old.events.lost('media signaling closed (1006)');
    expect(old.closed).toBe(true);
    expect(link.status).toBe('reconnecting');
  });
});

describe('a crash (the old session lost first)', () => {
  it('drops the dead session at once and connects to the node the room names', async () => {
    const nodes = fakeNodes();
    const { link, old } = await pageOnNodeA(nodes);
    old.events.lost('media signaling closed (1006)');
    expect(old.closed).toBe(true);
    expect(link.remotes.size).toBe(0);
    expect(link.status).toBe('reconnecting');
    link.onAssignment(assignment('b'));
    await nodes.answer('b');
    expect(link.session).toBe(nodes.on('b'));
    expect(nodes.on('b').sends('camera')).toBe(true);
    expect(link.status).toBe('connected');
    expect(link.awaitingRemoteMedia).toBe(true);
  });
});

describe("a person's source arrives again on the same session (they moved nodes; the relay of their old track runs on a moment)", () => {
  it('the new track replaces the old one only once its packets arrive: never both, never a picture that has not started', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA } = await pageOnNodeA(nodes);
    const bobMic = old.receive('bob', 'mic');
    const newCamera = old.receive('bob', 'camera', { flowing: false });
    const newMic = old.receive('bob', 'mic', { flowing: false });
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA, bobMic]);
    expect(old.pausedConsumers.size).toBe(0);

    newCamera.consumer.track.unmute();
    await settle();
    expect([...link.remotes.values()]).toEqual([bobMic, newCamera]);
    // The replaced camera is off the page, and the node stops forwarding it.
    expect([...old.pausedConsumers]).toEqual([bobOnA.consumer.id]);
    newMic.consumer.track.unmute();
    await settle();
    expect([...link.remotes.values()]).toEqual([newCamera, newMic]);
    expect([...old.pausedConsumers]).toEqual([bobOnA.consumer.id, bobMic.consumer.id]);

    // The node closes the old ones after its grace: nothing on the page changes.
    old.drop(bobOnA);
    old.drop(bobMic);
    await settle();
    expect([...link.remotes.values()]).toEqual([newCamera, newMic]);
  });

  it('the new track closes first (their move failed: they send from the old node again): the old one shows again and the node forwards it again', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA } = await pageOnNodeA(nodes);
    const newCamera = old.receive('bob', 'camera', { flowing: false });
    newCamera.consumer.track.unmute();
    await settle();
    expect([...link.remotes.values()]).toEqual([newCamera]);
    expect(old.pausedConsumers.has(bobOnA.consumer.id)).toBe(true);
    old.drop(newCamera);
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA]);
    expect(old.pausedConsumers.has(bobOnA.consumer.id)).toBe(false);
    // Once the node closes the old one too, nothing is left to show.
    old.drop(bobOnA);
    await settle();
    expect([...link.remotes.values()]).toEqual([]);
  });

  it('the old track closes before the new one flows: the new one shows at once', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA } = await pageOnNodeA(nodes);
    const newCamera = old.receive('bob', 'camera', { flowing: false });
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA]);
    old.drop(bobOnA);
    await settle();
    expect([...link.remotes.values()]).toEqual([newCamera]);
  });

  it('a new track that closes while it waits never reaches the page; one whose old track shows nothing replaces it at once', async () => {
    const nodes = fakeNodes();
    const { link, old, bobOnA } = await pageOnNodeA(nodes);
    const stillborn = old.receive('bob', 'camera', { flowing: false });
    old.drop(stillborn);
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA]);
    stillborn.consumer.track.unmute();
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA]);

    // Ann's camera is off (her producer paused): her new track needs no waiting for.
    const annOld = old.receive('ann', 'camera');
    annOld.producerPaused = true;
    const annNew = old.receive('ann', 'camera', { flowing: false });
    await settle();
    expect([...link.remotes.values()]).toEqual([bobOnA, annNew]);
  });
});

describe('untilPlaying: when a successor track may replace the old one', () => {
  const videoTrack = (decoded: () => number) => {
    const track = new FakeTrack('video', true);
    const getStats = async () => new Map([['inbound', { type: 'inbound-rtp', framesDecoded: decoded() }]]);
    return { track, remote: { kind: 'video', consumer: { track, closed: false, getStats } } as unknown as RemoteTrack };
  };

  it('video plays once a frame of it is decoded, not at its first packet', async () => {
    let decoded = 0;
    const { track, remote } = videoTrack(() => decoded);
    let played = false;
    void untilPlaying(remote).then(() => (played = true));
    track.unmute();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(played).toBe(false);
    decoded = 1;
    await vi.waitFor(() => expect(played).toBe(true));
  });

  it('a frame that never decodes does not hold the swap past the limit', async () => {
    const { track, remote } = videoTrack(() => 0);
    track.unmute();
    await untilPlaying(remote, 150);
  });
});

describe('covers: what a handover waits for', () => {
  const remote = (participantId: string, source: MediaSource, flowing: boolean, producerPaused = false) =>
    ({ participantId, source, producerPaused, consumer: { id: `${participantId}-${source}`, track: { muted: !flowing } } }) as unknown as RemoteTrack;

  it('waits for every track that flows on the old node, and only for those', () => {
    const shown = [remote('ann', 'mic', true), remote('bob', 'camera', true)];
    expect(covers([remote('ann', 'mic', true)], shown)).toBe(false);
    expect(covers([remote('ann', 'mic', true), remote('bob', 'camera', false)], shown)).toBe(false);
    expect(covers([remote('ann', 'mic', true), remote('bob', 'camera', true)], shown)).toBe(true);
  });

  it('a voice held back by the node (not among the loudest: nothing arrives) does not hold the move up', () => {
    const shown = [remote('ann', 'mic', true), remote('cid', 'mic', false)];
    expect(covers([remote('ann', 'mic', true), remote('cid', 'mic', false)], shown)).toBe(true);
  });

  it('a track its sender paused counts as flowing on the new node (nothing to wait for)', () => {
    expect(covers([remote('ann', 'camera', false, true)], [remote('ann', 'camera', true)])).toBe(true);
  });
});
