import { describeError } from '../lib/errors.js';
import {
  assertNever,
  type ChatMessage,
  type ErrorCode,
  type JoinResponse,
  roomSocketProtocols,
  type ParticipantView,
  type RoomClientMessage,
  type RoomServerMessage,
  type WaitingParticipant,
  type meetingStateSchema,
} from '../wire.js';
import type { z } from 'zod';
import { CallStats } from './call-stats.js';
import type { LocalMedia } from './local-media.js';
import { notSentText } from './not-sent.js';
import { MediaLink, type MediaStatus } from './media-link.js';
import type { RemoteTrack } from './remote-tracks.js';
import { Publisher } from './publisher.js';
import type { Quality } from './quality.js';
import { RoomSocket, type SocketStatus } from './room-socket.js';
import { Topics, type Topic } from './topics.js';

export { LOW_BANDWIDTH_BPS, type MediaStatus } from './media-link.js';
export type { Topic } from './topics.js';
export type MeetingState = z.infer<typeof meetingStateSchema>;
export type Phase = 'waiting' | 'in-call' | 'ended';

/** How a call ended, for the end screen. */
export interface Ending {
  code: ErrorCode | 'LEFT';
  message: string;
}

/**
 * One person's presence in one meeting: the room socket (people, chat, host actions) and the
 * call's lifecycle (waiting → in the call → ended). Media on the assigned node is the MediaLink's
 * job, what we send the Publisher's, the connection figures CallStats'. Views subscribe to topics.
 */
/** Milestones kept in order for a failover drill's timeline (a few sessions' worth). */
const RECENT_MARKS = 200;

export class Call {
  phase: Phase;
  ending: Ending | null = null;
  self: ParticipantView | null = null;
  readonly participants = new Map<string, ParticipantView>();
  waiting: WaitingParticipant[] = [];
  waitingPosition: number | null = null;
  chat: ChatMessage[] = [];
  meeting: MeetingState | null = null;
  roomStatus: SocketStatus = 'connecting';
  lastError: string | null = null;
  /** When Join was clicked and when the first remote video frame was decoded (for the e2e figure). */
  readonly timing: { joinClickedAt: number; firstRemoteFrameAt: number | null; marks: Record<string, number>; recent: [string, number][] };
  readonly media: MediaLink;
  readonly publisher: Publisher;
  readonly stats: CallStats;

  private readonly topics = new Topics();
  /** The role the join answered, until the room's welcome says who we are. */
  private readonly joinRole: JoinResponse['role'];
  private readonly room: RoomSocket;

  constructor(
    readonly linkId: string,
    join: JoinResponse,
    readonly local: LocalMedia,
    joinClickedAt: number,
  ) {
    this.timing = { joinClickedAt, firstRemoteFrameAt: null, marks: { joined: performance.now() }, recent: [] };
    this.joinRole = join.role;
    this.phase = join.status === 'waiting' ? 'waiting' : 'in-call';
    // From here on a device that finishes opening stays off unless the person turns it on.
    local.settleChoice();
    this.publisher = new Publisher(local, () => this.emit('local'));
    this.media = new MediaLink(
      {
        emit: (...topics) => this.emit(...topics),
        mark: (milestone) => this.mark(milestone),
        askForAssignment: () => this.send({ type: 'media.refresh' }),
        endCall: (code, reason) => this.end(code, reason),
        isEnded: () => this.ended,
        canPublish: () => this.canPublish,
      },
      this.publisher,
    );
    this.stats = new CallStats(this.media, () => this.emit('status'));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.room = new RoomSocket(`${scheme}://${location.host}/api/meetings/${encodeURIComponent(linkId)}/ws`, {
      message: (message) => this.onRoomMessage(message),
      status: (status) => {
        this.mark(`room:${status}`);
        this.roomStatus = status;
        this.emit('status');
      },
      final: (code, reason) => this.end(code, reason),
    }, roomSocketProtocols(join.roomSession));
    if (join.media) void this.media.start(join.media);
    window.addEventListener('online', this.onOnline);
  }

  on(topic: Topic, listener: () => void): () => void {
    return this.topics.on(topic, listener);
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  /** A webinar attendee only watches until the host invites them to speak. */
  get canPublish(): boolean {
    return (this.self?.role ?? this.joinRole) !== 'attendee';
  }

  get isHost(): boolean {
    return this.self?.role === 'host' || this.self?.role === 'cohost';
  }

  // ── what the views read ──────────────────────────────────────────────────────────────
  get mediaStatus(): MediaStatus {
    return this.media.status;
  }

  get remotes(): ReadonlyMap<string, RemoteTrack> {
    return this.media.remotes;
  }

  get activeSpeaker(): string | null {
    return this.media.activeSpeaker;
  }

  get lowBandwidth(): boolean {
    return this.media.lowBandwidth;
  }

  get quality(): Quality {
    return this.stats.quality;
  }

  get sharingScreen(): boolean {
    return this.local.screen !== null;
  }

  /** The connection is not back yet: a socket reconnects, or remote media has not returned after a reconnect. */
  get reconnecting(): boolean {
    return this.roomStatus === 'reconnecting' || this.media.status === 'reconnecting' || this.media.awaitingRemoteMedia;
  }

  // ── actions ──────────────────────────────────────────────────────────────────────────
  /**
   * Answers false when the message could not even wait for the room socket (too many wait
   * already); then the person is told what was not sent (the in-call banner shows lastError).
   */
  send(message: RoomClientMessage): boolean {
    if (this.room.send(message)) return true;
    const told = notSentText(message);
    if (told !== null) {
      this.lastError = told;
      this.emit('status');
    }
    return false;
  }

  /** Answers whether the message went (or waits for the room socket); if not, the person is told. */
  sendChat(text: string): boolean {
    return this.send({ type: 'chat.send', text });
  }

  toggleMic(): Promise<void> {
    return this.publisher.toggle('mic');
  }

  toggleCamera(): Promise<void> {
    return this.publisher.toggle('camera');
  }

  /** Returns a message when sharing could not start. */
  toggleScreen(): Promise<string | null> {
    return this.publisher.toggleScreen();
  }

  setLowBandwidth(on: boolean): Promise<void> {
    return this.media.setLowBandwidth(on);
  }

  preferLayer(consumerId: string, spatialLayer: number): void {
    this.media.preferLayer(consumerId, spatialLayer);
  }

  /** This viewer's pins (local to them): the node forwards these participants' audio, loud or not. */
  setPinned(participantIds: readonly string[]): void {
    this.media.setPinned(participantIds);
  }

  /** The grid's page: cameras it does not show are paused at the node, new ones off screen never resumed. */
  showVideoOf(shown: (participantId: string) => boolean): void {
    this.media.showsVideoOf = shown;
  }

  setVideoPaused(remote: RemoteTrack, paused: boolean): void {
    this.media.setVideoPaused(remote, paused);
  }

  /**
   * Answers whether it went (or waits for the room socket); if not, the person is told. The hand
   * shows raised when the room says so (participant.updated), never for a raise that was not sent.
   */
  setHand(raised: boolean): boolean {
    return this.send({ type: 'hand.set', raised });
  }

  leave(): void {
    this.end('LEFT', 'You left the meeting.');
  }

  endForAll(): void {
    this.send({ type: 'host.end' });
  }

  // ── room messages ────────────────────────────────────────────────────────────────────
  private onRoomMessage(message: RoomServerMessage): void {
    switch (message.type) {
      case 'welcome': {
        this.mark('welcome');
        this.phase = 'in-call';
        // After a reconnect the welcome is the only word on what happened meanwhile: a role
        // changed and a host mute whose messages went to the dropped socket apply as they would have.
        const permissionsChanged = this.updateSelf(message.self);
        const { audio, video } = message.self.mutedByHost;
        if (audio || video) this.publisher.mutedByHost(audio && video ? null : audio ? 'audio' : 'video');
        this.participants.clear();
        for (const participant of message.participants) this.participants.set(participant.participantId, participant);
        this.participants.set(message.self.participantId, message.self);
        this.waiting = message.waiting;
        // The welcome carries the last few messages only: added to what the page shows, never replacing
        // it. A message said while the room prepared the welcome may have arrived live before it.
        this.chat = mergeChat(this.chat, message.chat);
        this.meeting = message.meeting;
        this.emit('phase', 'participants', 'waiting', 'chat', 'meeting');
        if (message.media) this.media.onWelcome(message.media, { fresh: permissionsChanged });
        return;
      }
      case 'waiting':
        this.phase = 'waiting';
        this.waitingPosition = message.position;
        this.emit('phase');
        return;
      case 'admitted':
        return; // welcome follows
      case 'participant.joined':
      case 'participant.updated':
        // A webinar's audience is the moderators' to see: someone sent back to it leaves our roster.
        if (message.participant.role === 'attendee' && message.participant.participantId !== this.self?.participantId && !this.isHost) this.participants.delete(message.participant.participantId);
        else this.participants.set(message.participant.participantId, message.participant);
        if (message.participant.participantId === this.self?.participantId && this.updateSelf(message.participant)) {
          // The room's next media.assignment carries the new rights; a session starts with it.
          this.media.renewForPermissions();
        }
        this.emit('participants');
        return;
      case 'participant.left':
        this.participants.delete(message.participantId);
        this.emit('participants');
        return;
      case 'waiting.updated':
        this.waiting = message.waiting;
        this.emit('waiting');
        return;
      case 'chat.message':
        this.chat = mergeChat(this.chat, [message.message]);
        this.emit('chat');
        return;
      case 'meeting.updated':
        this.meeting = message.meeting;
        this.emit('meeting');
        if (message.meeting.ended) this.end('MEETING_ENDED', 'The host ended the meeting.');
        return;
      case 'media.assignment':
        this.media.onAssignment(message.media);
        return;
      case 'muted':
        this.publisher.mutedByHost(message.kind);
        return;
      case 'closed':
        this.end(message.code, message.reason);
        return;
      case 'error':
        this.lastError = describeError(message.code, message.message, message.retryAfterMs);
        this.emit('status');
        return;
      case 'ack':
      case 'pong':
        return;
      default:
        assertNever(message, 'room message');
    }
  }

  /**
   * Who we are now; answers whether what we may send changed (a webinar attendee invited to speak,
   * or sent back to the audience). Back in the audience, nothing is sent any more (the node closed
   * it already) and the devices close: never open, unseen, until the next invitation.
   */
  private updateSelf(next: ParticipantView): boolean {
    const couldPublish = this.canPublish;
    const known = this.self !== null;
    this.self = next;
    if (!known || couldPublish === this.canPublish) return false;
    if (!this.canPublish) {
      for (const kind of ['mic', 'camera'] as const) this.local.choose(kind, false);
      this.local.stopAll();
    }
    this.emit('local');
    return true;
  }

  // ── ending ───────────────────────────────────────────────────────────────────────────
  private end(code: Ending['code'], reason: string): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.ending = { code, message: code === 'LEFT' ? reason : describeError(code, reason) };
    this.media.close(code === 'LEFT');
    this.stats.stop();
    this.room.close();
    this.local.stopAll();
    window.removeEventListener('online', this.onOnline);
    this.emit('phase', 'remotes', 'status');
  }

  private readonly onOnline = () => this.room.kick();

  /** First time something happened, ms since page start (for the join-time figure), and the recent ones in order (a failover's timeline). */
  private mark(name: string): void {
    const now = performance.now();
    this.timing.marks[name] ??= now;
    this.timing.recent.push([name, now]);
    if (this.timing.recent.length > RECENT_MARKS) this.timing.recent.shift();
  }

  private emit(...topics: Topic[]): void {
    this.topics.emit(...topics);
  }
}

/**
 * What the page shows with the messages of `incoming` it has not shown yet (by messageId), the whole
 * in the order said: by sentAt, ties in the order received. A message arrives once in order mostly
 * (appended); one the welcome brings from before a message that arrived live goes in its place.
 */
function mergeChat(shown: ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  let list = shown;
  for (const message of incoming) {
    // From the newest back, past every message said later; the same message has the same sentAt.
    let at = list.length;
    while (at > 0 && list[at - 1]!.sentAt > message.sentAt) at -= 1;
    let seen = false;
    for (let i = at - 1; i >= 0 && list[i]!.sentAt === message.sentAt && !seen; i -= 1) seen = list[i]!.messageId === message.messageId;
    if (seen) continue;
    if (list === shown) list = [...shown];
    list.splice(at, 0, message);
  }
  return list;
}
