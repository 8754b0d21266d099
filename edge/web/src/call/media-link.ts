import type { ErrorCode, MediaAssignment } from '../wire.js';
import { AudioSink } from './audio-sink.js';
import { MediaSession } from './media-session.js';
import type { RemoteTrack } from './remote-tracks.js';
import type { Publisher } from './publisher.js';
import type { Topic } from './topics.js';

export type MediaStatus = 'connecting' | 'connected' | 'reconnecting' | 'off';

/**
 * Low bandwidth mode's cap on what the node sends us: room for the lowest camera layer of a few
 * people plus audio, so a weak link keeps everyone's voice and a small picture.
 */
export const LOW_BANDWIDTH_BPS = 200_000;
const LOW_BANDWIDTH_KEY = 'edgemeet.lowBandwidth';

/** What the media side needs from the call it belongs to. */
export interface MediaLinkOwner {
  emit(...topics: Topic[]): void;
  mark(milestone: string): void;
  /** Ask the room for a fresh media token (maybe on another node). */
  askForAssignment(): void;
  /** The node ended our session for good (removed, meeting ended). */
  endCall(code: ErrorCode, reason: string): void;
  isEnded(): boolean;
}

/**
 * The call's media: one MediaSession at a time on the node the room assigned, replaced when the
 * room moves us or the session is lost (with backoff), and what it receives (remote tracks,
 * their audio, the active speaker). What it sends is the Publisher's job.
 */
export class MediaLink {
  status: MediaStatus = 'off';
  /** Media sessions that reached 'connected' (1 + reconnects). */
  sessions = 0;
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
  readonly remotes = new Map<string, RemoteTrack>();
  session: MediaSession | null = null;

  private generation = 0;
  private assignment: MediaAssignment | null = null;
  /** A session is being set up (so a welcome arriving meanwhile does not start a second one). */
  private starting = false;
  private retry = 0;
  private refreshTimer: number | null = null;
  private readonly audio = new AudioSink();

  constructor(
    private readonly owner: MediaLinkOwner,
    private readonly publisher: Publisher,
  ) {}

  /** The room's welcome after a (re)connect brings a fresh assignment: use it if media is not healthy. */
  onWelcome(assignment: MediaAssignment): void {
    const sameNode = this.assignment?.nodeId === assignment.nodeId;
    if (!sameNode || (this.status === 'reconnecting' && !this.starting)) void this.start(assignment);
  }

  /** A media.assignment message: a fresh token for our node needs no new session; another node does. */
  onAssignment(assignment: MediaAssignment): void {
    this.clearRefresh();
    if ((this.status === 'connected' || this.starting) && this.assignment?.nodeId === assignment.nodeId) this.assignment = assignment;
    else void this.start(assignment);
  }

  async start(assignment: MediaAssignment): Promise<void> {
    if (this.owner.isEnded()) return;
    const generation = ++this.generation;
    this.assignment = assignment;
    this.starting = true;
    this.dropSession(false);
    this.status = this.status === 'off' ? 'connecting' : 'reconnecting';
    this.owner.emit('status');
    this.owner.mark('mediaStart');
    try {
      const session = await MediaSession.start(
        assignment,
        {
          remoteAdded: (remote) => this.onRemoteAdded(remote),
          remoteRemoved: (remote) => this.onRemoteRemoved(remote),
          remoteChanged: () => this.owner.emit('remotes'),
          activeSpeaker: (participantId) => {
            this.activeSpeaker = participantId;
            this.owner.emit('speaker');
          },
          localPausedByServer: (source) => this.publisher.pausedByServer(source),
          closedByServer: (code, reason) => {
            if (code === 'REMOVED_BY_HOST' || code === 'MEETING_ENDED') this.owner.endCall(code, reason);
            else this.lost(generation, reason);
          },
          lost: (reason) => this.lost(generation, reason),
        },
        (milestone) => this.owner.mark(milestone),
      );
      if (generation !== this.generation || this.owner.isEnded()) {
        session.close();
        return;
      }
      this.session = session;
      await this.publisher.attach(session, (milestone) => this.owner.mark(milestone));
      if (this.lowBandwidth) await session.setReceiveBitrate(LOW_BANDWIDTH_BPS);
      this.owner.mark('mediaConnected');
      this.retry = 0;
      this.starting = false;
      // A session that replaces another (failover, reconnect) is not "back" until others are heard.
      this.awaitingRemoteMedia = this.status === 'reconnecting';
      this.sessions += 1;
      this.connectedAt = performance.now();
      this.status = 'connected';
      this.owner.emit('status', 'local');
    } catch (error) {
      if (generation !== this.generation) return;
      this.starting = false;
      console.warn('media session failed to start', error);
      this.lost(generation, 'could not start media');
    }
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

  /** The call ends: close the session (saying goodbye when the person left) and stop everything. */
  close(sayGoodbye: boolean): void {
    this.generation++;
    this.clearRefresh();
    this.dropSession(sayGoodbye);
    this.status = 'off';
    this.awaitingRemoteMedia = false;
    this.audio.destroy();
    this.remotes.clear();
  }

  /** Media dropped: ask the room for a fresh token (maybe a new node), with backoff. */
  private lost(generation: number, reason: string): void {
    if (generation !== this.generation || this.owner.isEnded()) return;
    console.info(`media lost: ${reason}; reconnecting`);
    this.starting = false;
    this.dropSession(false);
    this.generation++;
    this.status = 'reconnecting';
    this.owner.emit('status');
    const delay = Math.min(5_000, 250 * 2 ** this.retry);
    this.retry += 1;
    this.clearRefresh();
    const askAgain = () => {
      if (this.owner.isEnded() || this.status === 'connected') return;
      this.owner.askForAssignment();
      this.refreshTimer = window.setTimeout(askAgain, 5_000);
    };
    this.refreshTimer = window.setTimeout(askAgain, delay);
  }

  private dropSession(sayGoodbye: boolean): void {
    this.publisher.detach();
    this.session?.close(sayGoodbye);
    this.session = null;
  }

  private clearRefresh(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private onRemoteAdded(remote: RemoteTrack): void {
    this.owner.mark(`first${remote.kind === 'video' ? 'Video' : 'Audio'}Consumer`);
    this.remotes.set(remote.consumer.id, remote);
    if (remote.kind === 'audio') this.audio.attach(remote.consumer.id, remote.consumer.track);
    this.owner.emit('remotes');
  }

  private onRemoteRemoved(remote: RemoteTrack): void {
    this.remotes.delete(remote.consumer.id);
    this.audio.detach(remote.consumer.id);
    this.owner.emit('remotes');
  }
}

function readLowBandwidth(): boolean {
  try {
    return localStorage.getItem(LOW_BANDWIDTH_KEY) === '1';
  } catch {
    return false;
  }
}
