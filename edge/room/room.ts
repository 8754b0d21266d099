import { AppError, type ErrorCode } from '../../schema/wire/errors.js';
import { roleSchema, type Role } from '../../schema/wire/common.js';
import type { HistoryMessage } from '../../schema/wire/history.js';
import type { MeetingSettings } from '../../schema/wire/http.js';
import { AttemptLimits } from './attempt-limits.js';
import { Bans } from './bans.js';
import { Chat } from './chat-store.js';
import { MediaLetGo } from './media-let-go-store.js';
import { MeetingState } from './meeting-state.js';
import { Outbox, type DistributiveOmit, type PendingRecord } from './outbox.js';
import { MessageLimiter } from './message-limits.js';
import { isModerator, participantView, Participants, waitingView, type Participant } from './participants.js';
import { RoomSockets } from './sockets.js';
import { Timers } from './timers.js';

/** The deadline by which pending history is sent again if the prompt flush did not get through. */
export const OUTBOX_TIMER = 'outbox';
/** Retry delay for history the queue did not take. */
export const OUTBOX_RETRY_MS = 5_000;
/** How long history waits to be sent with whatever else the room writes meanwhile. */
export const OUTBOX_COALESCE_MS = 100;

type HistoryFields = DistributiveOmit<PendingRecord, 'meetingId' | 'meetingLinkId' | 'at'>;

interface RoomStorage {
  meeting: MeetingState;
  participants: Participants;
  bans: Bans;
  attempts: AttemptLimits;
  chat: Chat;
  outbox: Outbox;
  timers: Timers;
  letGo: MediaLetGo;
}

/** Every role but a webinar's audience. */
const PRESENTER_ROLES = roleSchema.options.filter((role) => role !== 'attendee');

/**
 * One meeting's state, shared by the concerns that change it (admission, moderation, media, chat,
 * departure): its storage, its sockets, and the rule that each state change writes its history
 * rows to the outbox in the same synchronous block (one storage transaction), then flushes it.
 */
export class Room {
  readonly sockets: RoomSockets;
  /** Per-participant limits on room socket messages (they outlive a socket: see MessageLimiter). */
  readonly messageLimits = new MessageLimiter();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * The room's tables exist only once configure() ran: probing unknown link ids must not leave
   * storage behind in millions of empty objects. Entry points check `configured` first.
   */
  private parts: RoomStorage | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly history: Queue<HistoryMessage>,
  ) {
    this.sockets = new RoomSockets(ctx);
    if (MeetingState.exists(ctx.storage.sql)) this.parts = this.createParts();
  }

  private createParts(): RoomStorage {
    const sql = this.ctx.storage.sql;
    return {
      meeting: new MeetingState(sql),
      participants: new Participants(sql),
      bans: new Bans(sql),
      attempts: new AttemptLimits(sql),
      chat: new Chat(sql),
      outbox: new Outbox(sql, this.history),
      timers: new Timers(this.ctx.storage),
      letGo: new MediaLetGo(sql),
    };
  }

  get configured(): boolean {
    return this.parts !== null;
  }

  /** Creates the tables (configure() only). */
  ensureTables(): void {
    this.parts ??= this.createParts();
  }

  private get stored(): RoomStorage {
    if (!this.parts) throw new AppError('MEETING_NOT_FOUND', 'no such meeting; check the link');
    return this.parts;
  }
  get meeting(): MeetingState {
    return this.stored.meeting;
  }
  get participants(): Participants {
    return this.stored.participants;
  }
  get bans(): Bans {
    return this.stored.bans;
  }
  get attempts(): AttemptLimits {
    return this.stored.attempts;
  }
  get chat(): Chat {
    return this.stored.chat;
  }
  get letGo(): MediaLetGo {
    return this.stored.letGo;
  }
  get outbox(): Outbox {
    return this.stored.outbox;
  }
  get timers(): Timers {
    return this.stored.timers;
  }

  /** Settings of a configured meeting that has not ended, or the error a joiner gets. */
  openSettings(): MeetingSettings {
    const settings = this.parts?.meeting.settings();
    if (!settings) throw new AppError('MEETING_NOT_FOUND', 'no such meeting; check the link');
    if (this.meeting.ended() || settings.endedAt !== null) throw new AppError('MEETING_ENDED', 'this meeting has ended');
    return settings;
  }

  /** The meeting's link id (the name of this object and of the meeting on its node). */
  linkId(): string {
    const settings = this.meeting.settings();
    if (!settings) throw new AppError('MEETING_NOT_FOUND', 'no such meeting; check the link');
    return settings.linkId;
  }

  // ── history ───────────────────────────────────────────────────────────────────────────────

  /** Adds a history record (meeting ids and time filled in) to the outbox. */
  record(fields: HistoryFields, at = Date.now()): void {
    const settings = this.meeting.settings();
    if (!settings) return;
    this.outbox.add({ ...fields, meetingId: settings.meetingId, meetingLinkId: settings.linkId, at } as PendingRecord);
  }

  /** Runs a state change and its outbox rows atomically, then sends the history on its way. */
  async change<T>(work: () => T): Promise<T> {
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(work);
    } catch (error) {
      // What the classes keep in memory may describe writes that were just rolled back.
      this.parts?.participants.forgetAll();
      this.parts?.meeting.forget();
      this.parts?.bans.forget();
      this.parts?.timers.forget();
      throw error;
    }
    await this.afterWrite();
    return result;
  }

  private async afterWrite(): Promise<void> {
    if (!this.outbox.hasPending()) return;
    // The alarm is the safety net if this instance dies before the prompt flush gets through.
    // A deadline already pending covers these rows too: it fires within OUTBOX_RETRY_MS.
    if (!this.timers.has(OUTBOX_TIMER)) await this.timers.set(OUTBOX_TIMER, Date.now() + OUTBOX_RETRY_MS);
    // Writes close together share one sendBatch (fewer queue operations per row at peak).
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.ctx.waitUntil(this.flushOutbox());
      }, OUTBOX_COALESCE_MS);
    }
  }

  /**
   * Sends pending history; when the queue refuses it, tries again after OUTBOX_RETRY_MS. A sent
   * batch leaves the safety-net deadline in place (it fires once and finds nothing): clearing it
   * and setting it again for the next write cost two alarm writes per join in a busy room.
   */
  async flushOutbox(): Promise<void> {
    if (!(await this.outbox.flush())) await this.timers.set(OUTBOX_TIMER, Date.now() + OUTBOX_RETRY_MS);
  }

  // ── what everyone sees ────────────────────────────────────────────────────────────────────

  meetingView() {
    const settings = this.meeting.settings();
    return {
      title: settings?.title ?? '',
      mode: settings?.mode ?? 'meeting',
      locked: this.meeting.locked(),
      recording: this.meeting.recording(),
      ended: this.meeting.ended(),
      participantsMayUnmute: this.meeting.participantsMayUnmute(),
    };
  }

  /** Who waits for the host, leaving out the other sessions of someone the host removed. */
  waitingList(): Participant[] {
    return this.participants.withStatus('waiting').filter((p) => !this.bans.isRemoved(p));
  }

  moderatorIds(): Set<string> {
    return new Set(this.participants.joinedWithRole(['host', 'cohost']).map((p) => p.participantId));
  }

  /**
   * Who hears of this participant's arrival, changes and departure: everyone — except a webinar
   * attendee, whom only the moderators and the attendee hear of (an audience of 10,000 would
   * otherwise cost 10,000 messages per arrival). Clients other than moderators keep no attendees.
   */
  audienceOf(participant: { participantId: string; role: Role }): (participantId: string) => boolean {
    if (participant.role !== 'attendee') return () => true;
    const moderators = this.moderatorIds();
    return (participantId) => participantId === participant.participantId || moderators.has(participantId);
  }

  /** The roster a participant's welcome lists: everyone for moderators, else all but attendees (and themself). */
  rosterFor(viewer: Participant): Participant[] {
    if (isModerator(viewer) || this.meeting.settings()?.mode !== 'webinar') return this.participants.withStatus('joined');
    const presenters = this.participants.joinedWithRole(PRESENTER_ROLES);
    return viewer.role === 'attendee' ? [...presenters, viewer] : presenters;
  }

  broadcastWaiting(): void {
    const moderators = this.moderatorIds();
    this.sockets.broadcast({ type: 'waiting.updated', waiting: this.waitingList().map(waitingView) }, (id) => moderators.has(id));
  }

  broadcastMeeting(): void {
    this.sockets.broadcast({ type: 'meeting.updated', meeting: this.meetingView() });
  }

  /** `everyone`: also when they are an attendee (a role change, which every client must see). */
  broadcastParticipant(participantId: string, everyone = false): void {
    const participant = this.participants.get(participantId);
    if (participant) this.sockets.broadcast({ type: 'participant.updated', participant: participantView(participant) }, everyone ? undefined : this.audienceOf(participant));
  }

  /** Sends the error a client message earned, keeping the client's ref (and the wait, when limited). */
  sendError(ws: WebSocket, code: ErrorCode, message: string, ref?: string, retryAfterMs?: number): void {
    this.sockets.send(ws, { type: 'error', code, message, ...(ref ? { ref } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}
