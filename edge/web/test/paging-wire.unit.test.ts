import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalMedia } from '../src/call/local-media.js';
import { MediaLink, type MediaLinkOwner } from '../src/call/media-link.js';
import { MediaSignaling } from '../src/call/media-signaling.js';
import { Publisher } from '../src/call/publisher.js';
import { GridPaging, type PagedCall } from '../src/meeting/grid-paging.js';
import { mediaRequestSchema, type MediaAssignment, type MediaNotification, type MediaSource } from '../src/wire.js';

/**
 * Large rooms (issue 14 point 4), at the seam to the media node: what the grid's paging and pins
 * put on the signaling socket, through the real MediaLink, MediaSession and RemoteTracks. The
 * node's side of these requests (ConsumerGate, setPinned) is tested in media-node/test. Also at
 * that seam: what a session does when the node closes it.
 */

vi.mock('../src/call/device.js', () => ({
  createDevice: async () => ({
    rtpCapabilities: { codecs: [], headerExtensions: [] },
    load: async () => undefined,
    canProduce: () => true,
    createRecvTransport: (options: { id: string }) => fakeTransport(options.id, 'recv'),
    createSendTransport: (options: { id: string }) => fakeTransport(options.id, 'send'),
  }),
}));

class FakeTrack extends EventTarget {
  muted = false;
  enabled = true;
  readonly id = `track-${Math.random()}`;
  constructor(readonly kind: 'audio' | 'video') {
    super();
  }
  stop(): void {}
}

/** Transports the page closed, by id (a transport left open would keep sending). */
const closedTransports: string[] = [];

function fakeTransport(id: string, direction: 'send' | 'recv') {
  return {
    id,
    direction,
    connectionState: 'new',
    on: () => undefined,
    close: () => void closedTransports.push(id),
    consume: async (options: { id: string; kind: 'audio' | 'video' }) => ({ id: options.id, track: new FakeTrack(options.kind), close: () => undefined }),
  };
}

/** One node's end of a signaling socket: every request frame is checked against the wire schema and kept. */
class FakeNode {
  readonly frames: Array<{ method: string; data: Record<string, unknown> }> = [];
  open = true;
  private nextId = 1;
  constructor(
    readonly nodeId: string,
    private readonly handlers: { notification: (notification: MediaNotification) => void; close: (code: number, reason: string) => void },
  ) {}
  request(method: string, data: Record<string, unknown>): Promise<unknown> {
    const frame = mediaRequestSchema.parse({ id: this.nextId++, method, data });
    this.frames.push({ method: frame.method, data: frame.data as Record<string, unknown> });
    const answers: Record<string, unknown> = {
      getRouterRtpCapabilities: { rtpCapabilities: { codecs: [], headerExtensions: [] } },
      createTransport: { id: `${this.nodeId}-${String(data.direction)}`, iceParameters: {}, iceCandidates: [], dtlsParameters: {} },
      join: { participantId: 'viewer-0000' },
    };
    return Promise.resolve(answers[method] ?? {});
  }
  close(): void {
    this.open = false;
  }
  /** The node offers this page a consumer of someone's track. */
  offer(participantId: string, source: MediaSource): string {
    const consumerId = `${this.nodeId}-${participantId}-${source}`;
    const kind = source === 'mic' ? 'audio' : 'video';
    this.handlers.notification({
      notification: 'newConsumer',
      data: { consumerId, producerId: `producer-${participantId}-${source}`, participantId, displayName: participantId, kind, source, rtpParameters: { codecs: [] }, producerPaused: false },
    } as MediaNotification);
    return consumerId;
  }
  /** The node says it is done with this session (e.g. it closed a meeting that moved away). */
  closeSession(code: 'MEETING_MOVED' | 'MEETING_ENDED', reason: string): void {
    this.handlers.notification({ notification: 'closed', data: { code, reason } });
  }
  /** The socket drops (the node crashed). */
  drop(): void {
    this.handlers.close(1006, 'gone');
  }
  sent(method: string): Array<Record<string, unknown>> {
    return this.frames.filter((frame) => frame.method === method).map((frame) => frame.data);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const assignment = (nodeId: string): MediaAssignment => ({ nodeId, region: 'lon', signalingUrl: `ws://${nodeId}.test`, token: `token-for-${nodeId}-0123456789`, expiresAt: Date.now() + 60_000 });

const VIEWER = 'viewer-0000';
const PEOPLE = ['person-0001', 'person-0002', 'person-0003'];
const links: MediaLink[] = [];
let nodes: FakeNode[] = [];

beforeEach(() => {
  nodes = [];
  closedTransports.length = 0;
  const element = () => ({ hidden: false, autoplay: false, srcObject: null, setAttribute() {}, append() {}, remove() {}, play: async () => undefined });
  vi.stubGlobal('document', { createElement: element, body: { append() {} }, addEventListener() {} });
  vi.stubGlobal('MediaStream', class {});
  vi.stubGlobal('window', { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as number });
  vi.spyOn(MediaSignaling, 'connect').mockImplementation(async (url, _token, handlers) => {
    const node = new FakeNode(new URL(url).hostname.replace(/\.test$/, ''), handlers);
    nodes.push(node);
    return node as unknown as MediaSignaling;
  });
});
afterEach(() => {
  for (const link of links.splice(0)) link.close(false);
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** A page in a call of four (the viewer and PEOPLE), the grid two tiles a page, media on node `a`. */
async function pageOnNodeA() {
  // The grid as the page builds it: told of every change the link announces.
  let paging: GridPaging | null = null;
  const owner: MediaLinkOwner = { emit: () => paging?.apply(), mark: () => undefined, askForAssignment: () => undefined, endCall: () => undefined, isEnded: () => false, canPublish: () => true };
  const link = new MediaLink(owner, new Publisher(new LocalMedia(), () => undefined));
  links.push(link);
  const call: PagedCall = {
    participants: new Map([VIEWER, ...PEOPLE].map((participantId, joinedAt) => [participantId, { participantId, joinedAt }])),
    self: { participantId: VIEWER },
    get remotes() {
      return link.remotes;
    },
    get activeSpeaker() {
      return link.activeSpeaker;
    },
    setPinned: (participantIds) => link.setPinned(participantIds),
    showVideoOf: (shown) => (link.showsVideoOf = shown),
    setVideoPaused: (remote, paused) => link.setVideoPaused(remote, paused),
  };
  paging = new GridPaging(call, 2);
  await link.start(assignment('a'));
  const node = nodes.find((candidate) => candidate.nodeId === 'a')!;
  return { link, paging, node };
}

describe('paging on the wire', () => {
  it('a camera off the grid page is never resumed; one on it is, and every microphone', async () => {
    const { node } = await pageOnNodeA();
    // Page 1: the viewer and person-0001.
    const onPage = node.offer('person-0001', 'camera');
    const offPage = node.offer('person-0003', 'camera');
    const mic = node.offer('person-0003', 'mic');
    await settle();
    expect(node.sent('resumeConsumer')).toEqual([{ consumerId: onPage }, { consumerId: mic }]);
    expect(node.sent('resumeConsumer')).not.toContainEqual({ consumerId: offPage });
    expect(node.sent('pauseConsumer')).toEqual([]);
  });

  it('turning the page pauses the cameras that left it and resumes those that came on', async () => {
    const { node, paging } = await pageOnNodeA();
    const first = node.offer('person-0001', 'camera');
    const second = node.offer('person-0002', 'camera');
    const third = node.offer('person-0003', 'camera');
    await settle();
    node.frames.length = 0;
    paging.turnPage(1);
    paging.apply();
    await settle();
    expect(node.sent('pauseConsumer')).toEqual([{ consumerId: first }]);
    expect(node.sent('resumeConsumer')).toEqual([{ consumerId: second }, { consumerId: third }]);
    paging.turnPage(-1);
    paging.apply();
    await settle();
    expect(node.sent('resumeConsumer').at(-1)).toEqual({ consumerId: first });
    expect(node.sent('pauseConsumer').slice(1)).toEqual([{ consumerId: second }, { consumerId: third }]);
  });

  it('a pin goes to the node (the viewer never), an unpin replaces the list', async () => {
    const { node, paging } = await pageOnNodeA();
    paging.togglePin('person-0003');
    paging.togglePin(VIEWER);
    paging.togglePin('person-0003');
    await settle();
    expect(node.sent('setPinned')).toEqual([{ participantIds: ['person-0003'] }, { participantIds: ['person-0003'] }, { participantIds: [] }]);
  });

  it('the pins are sent again to the session that replaces a lost one', async () => {
    const { link, node, paging } = await pageOnNodeA();
    paging.togglePin('person-0002');
    node.drop();
    expect(link.status).toBe('reconnecting');
    link.onAssignment(assignment('b'));
    await settle();
    const next = nodes.find((candidate) => candidate.nodeId === 'b')!;
    expect(next.sent('setPinned')).toEqual([{ participantIds: ['person-0002'] }]);
  });

  it('a move (make-before-break) tells the new node the pins before switching, and holds its off-page cameras too', async () => {
    const { link, paging } = await pageOnNodeA();
    paging.togglePin('person-0003');
    await settle();
    expect(link.status).toBe('connected');
    link.onAssignment(assignment('c'));
    await settle();
    const next = nodes.find((candidate) => candidate.nodeId === 'c')!;
    expect(next.sent('setPinned')).toEqual([{ participantIds: ['person-0003'] }]);
    // Pinned: first on page 1 with the viewer; person-0001 is now on page 2.
    const offPage = next.offer('person-0001', 'camera');
    const onPage = next.offer('person-0003', 'camera');
    await settle();
    expect(next.sent('resumeConsumer')).toEqual([{ consumerId: onPage }]);
    expect(next.sent('resumeConsumer')).not.toContainEqual({ consumerId: offPage });
  });

  it('a session that starts with no pins is not sent any', async () => {
    const { node } = await pageOnNodeA();
    expect(node.sent('setPinned')).toEqual([]);
  });
});

describe('a session the node closes', () => {
  it('closes its transports when the node says it is done with it, then asks where to go', async () => {
    let asked = 0;
    const owner: MediaLinkOwner = { emit: () => undefined, mark: () => undefined, askForAssignment: () => asked++, endCall: () => undefined, isEnded: () => false, canPublish: () => true };
    const link = new MediaLink(owner, new Publisher(new LocalMedia(), () => undefined));
    links.push(link);
    await link.start(assignment('a'));
    const node = nodes.find((candidate) => candidate.nodeId === 'a')!;
    node.closeSession('MEETING_MOVED', 'the meeting moved to another media node');
    await settle();
    expect(closedTransports.sort()).toEqual(['a-recv', 'a-send']);
    expect(node.open).toBe(false);
    expect(link.status).toBe('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(asked).toBe(1);
  });
});
