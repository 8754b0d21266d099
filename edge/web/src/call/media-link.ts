import type { ErrorCode, MediaAssignment } from '../wire.js';
import { Handover, HANDOVER_LIMIT_MS } from './handover.js';
import { MediaSession } from './media-session.js';
import type { RemoteTrack } from './remote-tracks.js';
import { ShownTracks } from './shown-tracks.js';
import type { Publisher } from './publisher.js';
import type { Topic } from './topics.js';

export type MediaStatus = 'connecting' | 'connected' | 'reconnecting' | 'off';

/**
 * Low bandwidth mode's cap on what the node sends us: room for the lowest camera layer of a few
 * people plus audio, so a weak link keeps everyone's voice and a small picture.
 */
export const LOW_BANDWIDTH_BPS = 200_000;
const LOW_BANDWIDTH_KEY = 'edgemeet.lowBandwidth';

/**
 * After a make-before-break switch, the old session keeps sending this long: the others switch at
 * most HANDOVER_LIMIT_MS after they published on the new node, which they did before we switched,
 * and until then they may still be watching us on the old node.
 */
export const RETIRE_AFTER_MS = HANDOVER_LIMIT_MS + 1_000;

/** What the media side needs from the call it belongs to. */
export interface MediaLinkOwner {
  emit(...topics: Topic[]): void;
  mark(milestone: string): void;
  /** Ask the room for a fresh media token (maybe on another node). */
  askForAssignment(): void;
  /** The node ended our session for good (removed, meeting ended). */
  endCall(code: ErrorCode, reason: string): void;
  isEnded(): boolean;
  /** Whether we may send media (a webinar attendee may not: their session only receives). */
  canPublish(): boolean;
}

/**
 * The call's media: one MediaSession on the node the room assigned, replaced when the room moves
 * us or the session is lost (with backoff), and what it receives (remote tracks, their audio, the
 * active speaker). A move while media works is make-before-break (Handover): the new session
 * connects, publishes and consumes while the old one keeps playing, then the page switches. What
 * it sends is the Publisher's job.
 */
export class MediaLink {
  status: MediaStatus = 'off';
  /** Media sessions that reached 'connected' (1 + reconnects). */
  sessions = 0;

  /** The media node the page is sent to now (null before the first assignment). */
  get nodeId(): string | null {
    return this.assignment?.nodeId ?? null;
  }
  /**
   * After a reconnect, until remote media arrives again on the new session: the page still shows
   * "reconnecting" even though its own media is re-sent. Cleared by `remoteMediaBack`.
   */
  awaitingRemoteMedia = false;
  /** When the current session reached 'connected' (performance.now()). */
  connectedAt = 0;
  activeSpeaker: string | null = null;
  /** Low bandwidth mode: the node sends us at most LOW_BANDWIDTH_BPS (lowest camera layers). Remembered. */
  lowBandwidth = readLowBandwidth();
  /** The current session's remote tracks on the page (by consumer id). */
  get remotes(): ReadonlyMap<string, RemoteTrack> {
    return this.shown.byConsumer;
  }
  /** When the page started showing this remote track (performance.now()), if it does. */
  shownAt(consumerId: string): number | undefined {
    return this.shown.shownAt(consumerId);
  }
  session: MediaSession | null = null;
  /** Whether the page shows this participant's camera (the grid's page): a new camera off screen stays paused. */
  showsVideoOf: (participantId: string) => boolean = () => true;
  /** Who this viewer pinned (heard loud or not); every new session is told, as a node session starts with none. */
  private pinned: readonly string[] = [];

  private generation = 0;
  /** The generation the current session was started under (its events carry it). */
  private sessionGeneration = 0;
  /** A make-before-break move underway, and the session it moves to (not yet current). */
  private handover: Handover | null = null;
  private incoming: MediaSession | null = null;
  /** The session switched away from: still sending, no longer receiving, closed after RETIRE_AFTER_MS. */
  private retiring: { session: MediaSession; generation: number; timer: number } | null = null;
  private assignment: MediaAssignment | null = null;
  /** A session is being set up (so a welcome arriving meanwhile does not start a second one). */
  private starting = false;
  private retry = 0;
  /** The current session receives nothing though others send (CallStats' quality 'lost'). */
  private stalled = false;
  private refreshTimer: number | null = null;
  /** Our permissions changed: the next assignment starts a new session (the node binds them to one). */
  private renewOnAssignment = false;
  private readonly shown: ShownTracks;

  constructor(
    private readonly owner: MediaLinkOwner,
    private readonly publisher: Publisher,
  ) {
    this.shown = new ShownTracks({
      changed: () => this.owner.emit('remotes'),
      mark: (milestone) => this.owner.mark(milestone),
      setPausedAtNode: (consumerId, paused) => this.session?.setConsumerPaused(consumerId, paused),
    });
  }

  /** The room's welcome after a (re)connect brings a fresh assignment: used if media is not healthy, or (`fresh`) when what we may send changed meanwhile. */
  onWelcome(assignment: MediaAssignment, { fresh = false } = {}): void {
    if (fresh) this.renewOnAssignment = false;
    const sameNode = this.assignment?.nodeId === assignment.nodeId;
    if (fresh || !sameNode || (this.status === 'reconnecting' && !this.starting)) void this.start(assignment, { fresh });
  }

  /** A media.assignment message: a fresh token for our node needs no new session; another node does. */
  onAssignment(assignment: MediaAssignment): void {
    this.owner.mark('mediaAssignment');
    this.clearRefresh();
    if (this.renewOnAssignment) {
      this.renewOnAssignment = false;
      void this.start(assignment, { fresh: true });
      return;
    }
    if ((this.status === 'connected' || this.starting) && this.assignment?.nodeId === assignment.nodeId) this.assignment = assignment;
    else void this.start(assignment);
  }

  /**
   * What we may send changed (a webinar attendee invited to speak, or sent back to the audience):
   * the room follows with a token that says so, and the session is started anew with it.
   */
  renewForPermissions(): void {
    this.renewOnAssignment = true;
  }

  async start(assignment: MediaAssignment, options: { fresh?: boolean } = {}): Promise<void> {
    if (this.owner.isEnded()) return;
    const generation = ++this.generation;
    this.assignment = assignment;
    // A session that works keeps playing until the new one is ready (a drain, a move); a lost
    // one (a crash) is gone already, and so is one still starting. A fresh start (new
    // permissions, same node) replaces the session outright: the node keeps one per participant.
    const previous = this.status === 'connected' && !this.starting && options.fresh !== true ? this.session : null;
    this.starting = true;
    const handover = previous ? new Handover(this.sessionGeneration, () => this.remotes.values(), (milestone) => this.owner.mark(milestone)) : null;
    if (handover) {
      // One session being left at a time: the publisher follows mutes on that one only.
      this.endRetiring();
      this.handover = handover;
      if (this.stalled) this.previousStalled(handover);
    } else {
      this.dropSession(false);
      this.status = this.status === 'off' ? 'connecting' : 'reconnecting';
      this.owner.emit('status');
    }
    this.owner.mark(handover ? 'mediaMoveStart' : 'mediaStart');
    // Until the switch, a moving session's remote tracks wait in the handover (not shown, not heard).
    let live = handover === null;
    try {
      const session = await MediaSession.start(
        assignment,
        {
          remoteAdded: (remote) => (live ? this.onRemoteAdded(remote) : handover!.add(remote)),
          remoteRemoved: (remote) => (live ? this.onRemoteRemoved(remote) : handover!.remove(remote)),
          remoteChanged: () => live && this.owner.emit('remotes'),
          activeSpeaker: (participantId) => {
            if (!live) return;
            this.activeSpeaker = participantId;
            this.owner.emit('speaker');
          },
          keepPaused: (remote) => !this.showsVideoOf(remote.participantId),
          resumed: (remote) => this.owner.mark(`first${remote.kind === 'video' ? 'Video' : 'Audio'}Resumed`),
          offered: (kind) => this.owner.mark(`${kind}Offered`),
          localPausedByServer: (source) => this.publisher.pausedByServer(source),
          closedByServer: (code, reason) => {
            if (code === 'REMOVED_BY_HOST' || code === 'MEETING_ENDED') this.owner.endCall(code, reason);
            else this.lost(generation, reason);
          },
          lost: (reason) => this.lost(generation, reason),
        },
        (milestone) => this.owner.mark(milestone),
        { publish: this.owner.canPublish() },
      );
      if (this.superseded(generation)) return session.close();
      if (handover) this.incoming = session;
      else this.session = session;
      if (this.pinned.length > 0) this.sendPinned(session);
      // Publishes on the new session; the one being left keeps sending (never more than chosen).
      await this.publisher.attach(session, (milestone) => this.owner.mark(milestone));
      if (this.lowBandwidth) await session.setReceiveBitrate(LOW_BANDWIDTH_BPS);
      if (this.superseded(generation)) return session.close(false);
      if (handover) {
        await handover.untilReady();
        if (this.superseded(generation)) return session.close(false);
        live = true;
        this.switchTo(session, handover);
      }
      this.owner.mark('mediaConnected');
      this.retry = 0;
      this.starting = false;
      this.sessionGeneration = generation;
      this.stalled = false;
      // A session that replaces a lost one (failover, reconnect) is not "back" until others are heard.
      this.awaitingRemoteMedia = this.status === 'reconnecting';
      this.sessions += 1;
      this.connectedAt = performance.now();
      this.status = 'connected';
      this.owner.emit('status', 'local');
    } catch (error) {
      if (generation !== this.generation) return;
      this.starting = false;
      console.warn('media session failed to start', error);
      if (handover && !handover.previousLost && this.session) this.moveFailed(handover);
      else this.lost(generation, 'could not start media');
    }
  }

  /** A start no longer current: its session was lost (even while publishing on it: lost() dropped it and asks the room again), replaced, or the call ended. */
  private superseded(generation: number): boolean {
    return generation !== this.generation || this.owner.isEnded();
  }

  /**
   * The node we were moving to did not take us (yet): the old session, still working, plays and
   * sends on, and the room is asked again shortly (with backoff) for where to go.
   */
  private moveFailed(handover: Handover): void {
    const current = this.session!;
    // The move's own start (maybe still awaiting) sees a newer generation and gives up.
    this.generation++;
    this.starting = false;
    this.handover = null;
    handover.end();
    this.incoming?.close(false);
    this.incoming = null;
    this.assignment = current.assignment;
    this.publisher.restore(current);
    this.owner.mark('mediaMoveFailed');
    this.scheduleRefresh();
  }

  /**
   * The handover is over: the new session's tracks replace the old ones in one go, and the old
   * session stops receiving (and, after RETIRE_AFTER_MS, sending).
   */
  private switchTo(session: MediaSession, handover: Handover): void {
    const previous = this.session;
    this.handover = null;
    this.incoming = null;
    this.session = session;
    // Stopping emits remoteRemoved for each old track; the new ones are added in the same task, so
    // the page never paints without them.
    if (previous && !handover.previousLost) {
      previous.stopReceiving();
      this.retiring = { session: previous, generation: handover.previousGeneration, timer: window.setTimeout(() => this.endRetiring(), RETIRE_AFTER_MS) };
    } else {
      this.publisher.release();
      previous?.close(false);
    }
    for (const remote of handover.incoming.values()) this.onRemoteAdded(remote);
    handover.end();
    this.owner.mark('mediaSwitched');
  }

  /** The old session's time is up (or it died, or the call moves on): it closes. */
  private endRetiring(): void {
    if (!this.retiring) return;
    clearTimeout(this.retiring.timer);
    this.publisher.release();
    this.retiring.session.close(false);
    this.retiring = null;
  }

  /** CallStats' verdict on the current session: nothing arrives though others send (or it does again). */
  mediaStalled(stalled: boolean): void {
    this.stalled = stalled;
    if (stalled && this.handover && !this.handover.previousLost) this.previousStalled(this.handover);
  }

  /** The session being left is frozen (a silent partition): nothing to keep, switch once the new one is up. */
  private previousStalled(handover: Handover): void {
    this.owner.mark('mediaStalled');
    handover.onPreviousLost();
    this.status = 'reconnecting';
    this.owner.emit('status');
  }

  /** Remote media flows again on the session that replaced a lost one: the page is back. */
  remoteMediaBack(): void {
    if (!this.awaitingRemoteMedia) return;
    this.awaitingRemoteMedia = false;
    this.owner.emit('status');
  }

  /** Turns low bandwidth mode on or off, now (if connected) and for later sessions. */
  async setLowBandwidth(on: boolean): Promise<void> {
    this.lowBandwidth = on;
    try {
      localStorage.setItem(LOW_BANDWIDTH_KEY, on ? '1' : '0');
    } catch {
      // storage refused (private mode): it holds for this call only
    }
    this.owner.emit('local');
    await this.session?.setReceiveBitrate(on ? LOW_BANDWIDTH_BPS : 0);
  }

  preferLayer(consumerId: string, spatialLayer: number): void {
    this.session?.preferLayer(consumerId, spatialLayer);
  }

  /** Pins replace the previous ones; sent now (to a session being moved to as well) and to every later session. */
  setPinned(participantIds: readonly string[]): void {
    this.pinned = [...participantIds];
    for (const session of [this.session, this.incoming]) if (session) this.sendPinned(session);
  }

  /** Pauses or resumes a remote camera at the node for the page (its tile left or came onto the grid page). */
  setVideoPaused(remote: RemoteTrack, paused: boolean): void {
    if (remote.pausedByPage === paused) return;
    remote.pausedByPage = paused;
    this.session?.setConsumerPaused(remote.consumer.id, paused);
  }

  private sendPinned(session: MediaSession): void {
    // A lost session is replaced, and the replacement is told again.
    session.setPinned(this.pinned).catch((error: unknown) => console.warn('setPinned failed', error));
  }

  /** The call ends: close the session (saying goodbye when the person left) and stop everything. */
  close(sayGoodbye: boolean): void {
    this.generation++;
    this.clearRefresh();
    this.dropSession(sayGoodbye);
    this.status = 'off';
    this.awaitingRemoteMedia = false;
    this.shown.destroy();
  }

  /** Media dropped: ask the room for a fresh token (maybe a new node), with backoff. */
  private lost(generation: number, reason: string): void {
    if (this.owner.isEnded()) return;
    if (this.retiring && generation === this.retiring.generation) return this.endRetiring();
    if (this.handover && generation === this.handover.previousGeneration) {
      // The session being left died before the new one was ready: switch as soon as it is.
      console.info(`media lost on the node we are leaving: ${reason}`);
      this.handover.onPreviousLost();
      this.status = 'reconnecting';
      this.owner.emit('status');
      return;
    }
    // The session we were moving to failed before the switch (e.g. the node closed it): the old one plays on.
    if (this.handover && generation === this.generation && !this.handover.previousLost && this.session) {
      console.info(`media on the node we are moving to failed: ${reason}; staying`);
      return this.moveFailed(this.handover);
    }
    // The current session's events carry the generation it started under (still current after a
    // failed move, which took a generation of its own).
    const current = generation === this.generation || (!this.starting && this.session !== null && generation === this.sessionGeneration);
    if (!current) return;
    this.owner.mark('mediaLost');
    console.info(`media lost: ${reason}; reconnecting`);
    this.starting = false;
    this.dropSession(false);
    this.generation++;
    this.status = 'reconnecting';
    this.owner.emit('status');
    this.scheduleRefresh();
  }

  /** Asks the room for a fresh assignment after a backoff, and again every 5 s until a session starts. */
  private scheduleRefresh(): void {
    const delay = Math.min(5_000, 250 * 2 ** this.retry);
    this.retry += 1;
    this.clearRefresh();
    const generation = this.generation;
    const askAgain = () => {
      // A session started since (this one, or one the room pushed): nothing to ask for.
      if (this.owner.isEnded() || this.generation !== generation) return;
      this.owner.askForAssignment();
      this.refreshTimer = window.setTimeout(askAgain, 5_000);
    };
    this.refreshTimer = window.setTimeout(askAgain, delay);
  }

  private dropSession(sayGoodbye: boolean): void {
    this.endRetiring();
    this.publisher.detach();
    this.session?.close(sayGoodbye);
    this.session = null;
    // A move underway is abandoned with it (its start sees the new generation and returns).
    this.handover?.end();
    this.handover = null;
    this.incoming?.close(false);
    this.incoming = null;
  }

  private clearRefresh(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private onRemoteAdded(remote: RemoteTrack): void {
    this.shown.add(remote);
  }

  private onRemoteRemoved(remote: RemoteTrack): void {
    this.shown.removed(remote);
    // Someone left the node we are leaving: one track fewer for the new session to cover.
    this.handover?.check();
  }
}

function readLowBandwidth(): boolean {
  try {
    return localStorage.getItem(LOW_BANDWIDTH_KEY) === '1';
  } catch {
    return false;
  }
}
