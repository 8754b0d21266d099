/**
 * The room socket fuzzer: a meeting with a host, a co-host, guests, people in the waiting room,
 * a well-behaved observer and bystanders; batches of generated frames from the senders of one
 * standing (host, co-host, or the unprivileged together); after each batch the observer's socket
 * must still answer, the edge must still serve, and no state the senders may not change may have
 * changed (model.ts). Transport-agnostic (RoomTarget): the same harness runs against Miniflare
 * (npm run fuzz) and inside the security test suite.
 */
import type { MeetingSettings } from '../../schema/wire/http.js';
import { roomServerMessageSchema, type MediaAssignment, type RoomServerMessage } from '../../schema/wire/room.js';
import type { RegionId } from '../../schema/regions.js';
import { roomFrames, sample, type Frame } from './arbitraries.js';
import { Findings, judgeRoomMessage, SERVER_ERROR_CLOSES } from './findings.js';
import { ENDED, snapshotOf, unauthorizedChanges, type RoomSnapshot, type SenderRole } from './model.js';

export interface FuzzSocket {
  send(data: string | Uint8Array): void;
  /** Every frame received so far, parsed when JSON. */
  readonly received: unknown[];
  /** The close code once closed, else null. */
  closeCode(): number | null;
  close(): void;
}

export interface JoinInput {
  user: { id: string; displayName: string } | null;
  displayName?: string;
  guestKey?: string;
}

export interface JoinAnswer {
  participantId: string;
  roomSession: string;
  status: 'joined' | 'waiting';
  media: MediaAssignment | null;
}

/** How the harness reaches an edge. */
export interface RoomTarget {
  configure(settings: MeetingSettings): Promise<void>;
  /** The RoomDO's join (as the Worker calls it); throws on a refusal. */
  join(linkId: string, input: JoinInput & { regions: RegionId[] }): Promise<JoinAnswer>;
  connect(linkId: string, session: string): Promise<FuzzSocket>;
  /** Whether the edge still answers HTTP. */
  alive(): Promise<boolean>;
  /** Secrets no answer may contain. */
  secrets: readonly string[];
  regions: RegionId[];
}

export type BatchKind = 'unprivileged' | 'cohost' | 'host';

export interface Actor {
  participantId: string;
  session: string;
  socket: FuzzSocket;
  media: MediaAssignment | null;
  role: SenderRole | 'observer' | 'bystander' | 'waiting-bystander';
  /** How far its received frames have been judged. */
  judged: number;
}

export interface Fixture {
  linkId: string;
  host: Actor;
  cohost: Actor;
  guests: Actor[];
  waiting: Actor[];
  observer: Actor;
  bystander: Actor;
  waitingBystander: Actor;
  snapshot: RoomSnapshot;
}

export interface RoomFuzzOptions {
  /** Frames to send in all (at least). */
  messages: number;
  seed: number;
  /** Frames each sender sends per batch. */
  perSender?: number;
  guests?: number;
  waiting?: number;
  /** A round (one batch of each kind) lasts at least this long, so limits refill (ms). */
  roundMs?: number;
  /** 1 in this many host batches may end the meeting. */
  endEvery?: number;
  /** Called after each batch's frames were answered, before it is judged (tests inject changes here). */
  afterBatch?: (fixture: Fixture, kind: BatchKind, index: number) => Promise<void>;
  log?: (line: string) => void;
}

/** Where the node side of the fuzz hooks in: each new fixture, and each batch once its room frames were answered. */
export interface FuzzHooks {
  onFixture?: (fixture: Fixture) => Promise<void>;
  onBatch?: (fixture: Fixture, kind: BatchKind, seed: number) => Promise<void>;
}

const WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function linkId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

type Message = { type?: string; ref?: string; code?: string; retryAfterMs?: number };
const asMessage = (value: unknown): Message => (typeof value === 'object' && value !== null ? (value as Message) : {});

/**
 * Whether the room put this socket out: it said `closed`, or the socket closed. (A client's close
 * event can trail the server's close frame by seconds while the closing handshake completes.)
 */
export function isOut(socket: FuzzSocket): boolean {
  return socket.closeCode() !== null || socket.received.some((m) => asMessage(m).type === 'closed');
}

/** The first received frame from `from` on that matches; fails after timeoutMs. */
async function next(socket: FuzzSocket, match: (m: Message) => boolean, what: string, from = 0, timeoutMs = WAIT_MS): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (let i = from; ; ) {
    for (; i < socket.received.length; i++) {
      const message = asMessage(socket.received[i]);
      if (match(message)) return message;
    }
    if (socket.closeCode() !== null) throw new Error(`socket closed (${socket.closeCode()}) while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let refs = 0;
/** Sends a message with a ref and waits for its ack or error, retrying while rate limited. */
async function request(socket: FuzzSocket, message: Record<string, unknown>): Promise<Message> {
  for (let attempt = 0; ; attempt++) {
    const ref = `h${++refs}`;
    const from = socket.received.length;
    socket.send(JSON.stringify({ ...message, ref }));
    const answer = await next(socket, (m) => (m.type === 'ack' || m.type === 'error') && (m.ref === ref || (m.type === 'error' && m.code === 'RATE_LIMITED' && m.ref === undefined)), `answer to ${String(message.type)}`, from);
    if (answer.type === 'error' && answer.code === 'RATE_LIMITED' && attempt < 50) {
      await sleep(Math.min(5_000, answer.retryAfterMs ?? 200));
      continue;
    }
    return answer;
  }
}

export class RoomFuzzer {
  readonly findings = new Findings();
  readonly hooks: FuzzHooks = {};
  /** What the senders got back, by kind ("ack", "error:RATE_LIMITED", …): shows the handlers were reached. */
  readonly answers = new Map<string, number>();
  private readonly hostUser = { id: crypto.randomUUID(), displayName: 'Fuzz Host' };
  private readonly cohostUser = { id: crypto.randomUUID(), displayName: 'Fuzz Cohost' };
  private meetings = 0;

  constructor(
    private readonly target: RoomTarget,
    private readonly options: RoomFuzzOptions,
  ) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** A fresh meeting with everyone in place, and its snapshot. */
  async newFixture(): Promise<Fixture> {
    this.meetings++;
    const settings: MeetingSettings = {
      meetingId: crypto.randomUUID(),
      linkId: linkId(),
      title: 'fuzz',
      mode: 'meeting',
      hostUserId: this.hostUser.id,
      hostName: 'Fuzz Host',
      passcode: null,
      allowGuests: true,
      waitingRoom: true,
      maxParticipants: 1000,
      scheduledStart: null,
      endedAt: null,
      version: Date.now(),
    };
    await this.target.configure(settings);
    const link = settings.linkId;
    const enter = async (role: Actor['role'], input: JoinInput): Promise<Actor> => {
      const joined = await this.joinPatiently(link, input);
      const socket = await this.target.connect(link, joined.roomSession);
      await next(socket, (m) => m.type === (joined.status === 'joined' ? 'welcome' : 'waiting'), `${role} entering`);
      return { participantId: joined.participantId, session: joined.roomSession, socket, media: joined.media, role, judged: 0 };
    };
    const host = await enter('host', { user: this.hostUser });
    const admitted = async (role: Actor['role'], input: JoinInput): Promise<Actor> => {
      const actor = await enter(role, input);
      const answer = await request(host.socket, { type: 'host.admit', participantId: actor.participantId });
      if (answer.type !== 'ack') throw new Error(`admitting the ${role} failed: ${JSON.stringify(answer)}`);
      const welcome = await next(actor.socket, (m) => m.type === 'welcome', `${role} welcome`);
      actor.media = (welcome as { media?: MediaAssignment | null }).media ?? null;
      return actor;
    };
    const cohost = await admitted('cohost', { user: this.cohostUser });
    const promoted = await request(host.socket, { type: 'host.setRole', participantId: cohost.participantId, role: 'cohost' });
    if (promoted.type !== 'ack') throw new Error(`promoting the co-host failed: ${JSON.stringify(promoted)}`);
    const guests: Actor[] = [];
    for (let i = 0; i < (this.options.guests ?? 4); i++) guests.push(await admitted('guest', { user: null, displayName: `Fuzz Guest ${i}` }));
    const observer = await admitted('observer', { user: null, displayName: 'Fuzz Observer' });
    const bystander = await admitted('bystander', { user: null, displayName: 'Fuzz Bystander' });
    const waiting: Actor[] = [];
    for (let i = 0; i < (this.options.waiting ?? 2); i++) waiting.push(await enter('waiting', { user: null, displayName: `Fuzz Waiting ${i}` }));
    const waitingBystander = await enter('waiting-bystander', { user: null, displayName: 'Fuzz Knocker' });
    const fixture: Fixture = { linkId: link, host, cohost, guests, waiting, observer, bystander, waitingBystander, snapshot: ENDED };
    const snapshot = await this.snapshot(fixture);
    if (typeof snapshot === 'string') throw new Error(snapshot);
    fixture.snapshot = snapshot;
    await this.hooks.onFixture?.(fixture);
    return fixture;
  }

  /**
   * Joins; a placement refused for want of capacity is tried again for a while (a loaded machine
   * can push a local node past the placement thresholds for a moment).
   */
  private async joinPatiently(link: string, input: JoinInput): Promise<JoinAnswer> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await this.target.join(link, { ...input, regions: this.target.regions });
      } catch (error) {
        if (!String((error as Error).message).includes('NO_MEDIA_CAPACITY') || Date.now() > deadline) throw error;
        this.log(`placement refused for now (${(error as Error).message.slice(0, 200)}); trying again`);
        await sleep(1_000);
      }
    }
  }

  /**
   * The room's picture: the observer's and the host's welcomes on fresh connections (ENDED once
   * the meeting ended); a string says why one of them could not reconnect.
   */
  async snapshot(fixture: Fixture): Promise<RoomSnapshot | string> {
    const observerWelcome = await this.reconnect(fixture, fixture.observer);
    if (typeof observerWelcome === 'string') return observerWelcome;
    if (!observerWelcome) return ENDED;
    const hostWelcome = await this.reconnect(fixture, fixture.host);
    if (typeof hostWelcome === 'string') return hostWelcome;
    if (!hostWelcome) return ENDED;
    return snapshotOf(observerWelcome, hostWelcome);
  }

  /** A new connection for the actor (it replaces the old one): its welcome, null when the meeting ended, else the refusal. */
  private async reconnect(fixture: Fixture, actor: Actor): Promise<Extract<RoomServerMessage, { type: 'welcome' }> | null | string> {
    this.judge(actor);
    const socket = await this.target.connect(fixture.linkId, actor.session);
    const first = await next(socket, (m) => m.type === 'welcome' || m.type === 'closed', `${actor.role} welcome on reconnect`);
    if (first.type === 'closed') {
      socket.close();
      return first.code === 'MEETING_ENDED' ? null : `the ${actor.role} could not reconnect: ${JSON.stringify(first)}`;
    }
    const welcome = roomServerMessageSchema.parse(first);
    if (welcome.type !== 'welcome') throw new Error('expected a welcome');
    actor.socket.close();
    actor.socket = socket;
    actor.judged = 0;
    return welcome;
  }

  /** Looks at what an actor received since last time: internal errors, leaks, server-error closes. */
  private judge(actor: Actor): void {
    const received = actor.socket.received;
    for (; actor.judged < received.length; actor.judged++) {
      const message = received[actor.judged];
      judgeRoomMessage(message, this.findings, actor.role, this.target.secrets);
      const { type, code } = asMessage(message);
      if (type === 'ack' || type === 'error' || type === 'closed') this.answers.set(code ? `${type}:${code}` : type, (this.answers.get(code ? `${type}:${code}` : type) ?? 0) + 1);
    }
    const code = actor.socket.closeCode();
    if (code !== null && SERVER_ERROR_CLOSES.has(code)) this.findings.add('serverErrors', `${actor.role} socket closed with ${code}`);
  }

  private allActors(fixture: Fixture): Actor[] {
    return [fixture.host, fixture.cohost, ...fixture.guests, ...fixture.waiting, fixture.observer, fixture.bystander, fixture.waitingBystander];
  }

  /** Waits until everything a sender sent has been handled: a ping sent last is answered. */
  private async drained(actor: Actor): Promise<void> {
    if (isOut(actor.socket)) return;
    try {
      await request(actor.socket, { type: 'ping' });
    } catch {
      // closed meanwhile (removed, denied, ended): nothing left to wait for
    }
  }

  /** Whether the well-behaved observer still gets answers; false when its socket closed. */
  private async observerAnswers(fixture: Fixture): Promise<boolean> {
    const socket = fixture.observer.socket;
    if (isOut(socket)) return false;
    const from = socket.received.length;
    socket.send(JSON.stringify({ type: 'ping' }));
    try {
      await next(socket, (m) => m.type === 'pong', 'observer pong', from, 5_000);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the fixture is still as built (else the next batch needs a new one). */
  private intact(fixture: Fixture): boolean {
    const s = fixture.snapshot;
    if (s.ended) return false;
    const inAs = (actor: Actor, role: string) => s.participants.get(actor.participantId)?.role === role;
    return (
      inAs(fixture.host, 'host') &&
      inAs(fixture.cohost, 'cohost') &&
      fixture.guests.every((g) => inAs(g, 'guest')) &&
      inAs(fixture.observer, 'guest') &&
      inAs(fixture.bystander, 'guest') &&
      [...fixture.waiting, fixture.waitingBystander].every((w) => s.waiting.has(w.participantId)) &&
      this.allActors(fixture).every((a) => !isOut(a.socket))
    );
  }

  private sendersOf(fixture: Fixture, kind: BatchKind): Actor[] {
    if (kind === 'host') return [fixture.host];
    if (kind === 'cohost') return [fixture.cohost];
    return [...fixture.guests, ...fixture.waiting];
  }

  /** One batch: generated frames from the senders, then the checks. */
  async batch(fixture: Fixture, kind: BatchKind, index: number): Promise<void> {
    const senders = this.sendersOf(fixture, kind);
    const everyone = this.allActors(fixture).map((a) => a.participantId);
    // Moderators aim at everyone but the observer, so the well-behaved participant stays to check.
    const targets = kind === 'unprivileged' ? everyone : everyone.filter((id) => id !== fixture.observer.participantId);
    const end = kind === 'host' && index % (this.options.endEvery ?? 25) === 0;
    const perSender = this.options.perSender ?? 30;
    const frames: Frame[][] = senders.map((_, i) => sample(roomFrames(targets, { end }), perSender, this.options.seed * 1_000_003 + index * 101 + i));
    for (let i = 0; i < perSender; i++) {
      for (const [s, sender] of senders.entries()) {
        const frame = frames[s]![i]!;
        if (isOut(sender.socket)) continue;
        sender.socket.send(frame.data);
        this.findings.counters.messages++;
      }
    }
    await Promise.all(senders.map((sender) => this.drained(sender)));
    await this.hooks.onBatch?.(fixture, kind, this.options.seed + index);
    await this.options.afterBatch?.(fixture, kind, index);
    for (const actor of this.allActors(fixture)) this.judge(actor);

    const sentEnd = frames.some((list) => list.some((frame) => frame.type === 'host.end'));
    const observerOk = await this.observerAnswers(fixture);
    if (!(await this.target.alive())) this.findings.add('crashes', `edge stopped answering after a ${kind} batch`);
    const before = fixture.snapshot;
    const after = await this.snapshot(fixture);
    if (typeof after === 'string') {
      // The observer or the host was put out: never allowed (moderators do not aim at the observer).
      this.findings.add('unauthorizedChanges', `${kind}: ${after}`);
      fixture.snapshot = ENDED;
      return;
    }
    if (!observerOk && !after.ended) this.findings.add('unauthorizedChanges', `${kind}: the observer's socket stopped answering`);
    // Only joined senders may change their own hand or chat (waiting ones may change nothing).
    const joinedSenders = new Set(senders.filter((s) => s.role !== 'waiting').map((s) => s.participantId));
    for (const problem of unauthorizedChanges(before, after, { role: kind === 'unprivileged' ? 'guest' : kind, ids: joinedSenders, sentEnd })) {
      this.findings.add('unauthorizedChanges', problem);
    }
    fixture.snapshot = after;
  }

  /**
   * Runs batches (unprivileged, co-host, host, …) until `messages` frames were sent. A run that
   * cannot go on (a meeting cannot be set up or checked any more) ends as a crash finding.
   */
  async run(): Promise<Findings> {
    try {
      await this.rounds();
    } catch (error) {
      this.findings.add('crashes', `the run could not go on: ${(error as Error).message}`);
    }
    return this.findings;
  }

  private async rounds(): Promise<void> {
    let fixture = await this.newFixture();
    let index = 0;
    const kinds: BatchKind[] = ['unprivileged', 'cohost', 'host'];
    while (this.findings.counters.messages < this.options.messages) {
      const roundStarted = Date.now();
      for (const kind of kinds) {
        if (!this.intact(fixture)) {
          for (const actor of this.allActors(fixture)) actor.socket.close();
          fixture = await this.newFixture();
        }
        await this.batch(fixture, kind, index++);
      }
      this.log(`fuzz: ${this.findings.counters.messages} room frames, ${this.meetings} meetings, findings ${JSON.stringify(this.findings.counters)}`);
      const rest = (this.options.roundMs ?? 0) - (Date.now() - roundStarted);
      if (rest > 0) await sleep(rest);
    }
    for (const actor of this.allActors(fixture)) actor.socket.close();
  }
}
