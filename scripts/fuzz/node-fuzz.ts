/**
 * The node side of the fuzz: each joined sender (host, co-host, guests) also fuzzes the media
 * node's signaling socket with its own media token, aiming at its own and others' transport,
 * producer and consumer ids. After each batch the node must still serve (/health), and the
 * observer's own signaling session — its receive transport — must be untouched.
 */
import { mediaFrames, sample, type MediaIds } from './arbitraries.js';
import { Findings, leaks, SERVER_ERROR_CLOSES, SERVER_ERROR_CODES } from './findings.js';
import type { LocalNode } from './local-stack.js';
import { wsSocket } from './local-stack.js';
import { isOut, type Actor, type BatchKind, type Fixture, type FuzzSocket } from './room-fuzz.js';

type Answer = { id?: unknown; ok?: unknown; data?: Record<string, unknown>; error?: { code?: string; message?: string }; notification?: string };
const asAnswer = (value: unknown): Answer => (typeof value === 'object' && value !== null ? (value as Answer) : {});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Session {
  actor: Actor;
  socket: FuzzSocket;
  judged: number;
  transports: Set<string>;
  producers: Set<string>;
  consumers: Set<string>;
}

export class NodeFuzzer {
  private sessions: Session[] = [];
  private observer: Session | null = null;
  private observerTransport: string | null = null;
  private rtpCapabilities: unknown = {};
  private requestId = 1;
  messages = 0;
  /** Answers by kind ("ok", "error:VALIDATION_FAILED", …). */
  readonly answers = new Map<string, number>();

  constructor(
    private readonly node: LocalNode,
    private readonly findings: Findings,
    private readonly secrets: readonly string[],
    private readonly perSender: number,
  ) {}

  private async open(actor: Actor): Promise<Session | null> {
    if (!actor.media) return null;
    const { signalingUrl, token } = actor.media;
    try {
      // The token goes in the first frame, as the browser sends it (the node refuses one in a URL).
      const socket = await wsSocket(`${signalingUrl}/ws`);
      const session: Session = { actor, socket, judged: 0, transports: new Set(), producers: new Set(), consumers: new Set() };
      const answer = await this.call(session, 'authenticate', { token });
      if (answer?.ok === true) return session;
      // Refused (a revoked or expired token): nothing to fuzz on this socket.
      socket.close();
      return null;
    } catch {
      // The upgrade failed: the /health check tells a dead node.
      return null;
    }
  }

  /** Sends a request and waits for its answer (retrying while throttled); null if none came. */
  private async call(session: Session, method: string, data: Record<string, unknown>): Promise<Answer | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const id = this.requestId++;
      const from = session.socket.received.length;
      session.socket.send(JSON.stringify({ id, method, data }));
      const deadline = Date.now() + 10_000;
      let answer: Answer | null = null;
      while (!answer && Date.now() < deadline && session.socket.closeCode() === null) {
        answer = session.socket.received.slice(from).map(asAnswer).find((a) => a.id === id) ?? null;
        if (!answer) await sleep(5);
      }
      if (!answer) return null;
      if (answer.ok === false && answer.error?.code === 'RATE_LIMITED') {
        await sleep(250);
        continue;
      }
      return answer;
    }
    return null;
  }

  /** Every id the session learnt from answers and notifications. */
  private learn(session: Session): void {
    for (const message of session.socket.received.slice(session.judged).map(asAnswer)) {
      const data = message.data ?? {};
      if (typeof data.id === 'string' && 'iceParameters' in data) session.transports.add(data.id);
      if (typeof data.producerId === 'string') session.producers.add(data.producerId);
      if (typeof data.consumerId === 'string') session.consumers.add(data.consumerId);
    }
  }

  private judge(session: Session, where: string): void {
    this.learn(session);
    const received = session.socket.received;
    for (; session.judged < received.length; session.judged++) {
      const message = asAnswer(received[session.judged]);
      const kind = message.ok === true ? 'ok' : message.ok === false ? `error:${message.error?.code}` : message.notification ? `notification:${message.notification}` : null;
      if (kind) this.answers.set(kind, (this.answers.get(kind) ?? 0) + 1);
      const code = message.error?.code ?? (message.notification === 'closed' ? String((message.data as { code?: unknown } | undefined)?.code) : undefined);
      if (code && SERVER_ERROR_CODES.has(code)) this.findings.add('serverErrors', `node (${where}): ${JSON.stringify(message).slice(0, 200)}`);
      const text = message.error?.message ?? (message.notification === 'closed' ? String((message.data as { reason?: unknown } | undefined)?.reason ?? '') : '');
      const leak = text ? leaks(text, this.secrets) : null;
      if (leak) this.findings.add('leakedInternals', `node (${where}): ${leak}: ${text}`);
    }
    const close = session.socket.closeCode();
    if (close !== null && SERVER_ERROR_CLOSES.has(close)) this.findings.add('serverErrors', `node (${where}) closed the socket with ${close}`);
  }

  /** A new meeting: the observer joins the node with a receive transport; the senders connect. */
  async onFixture(fixture: Fixture): Promise<void> {
    this.close();
    this.observer = await this.open(fixture.observer);
    if (this.observer) {
      const caps = await this.call(this.observer, 'getRouterRtpCapabilities', {});
      this.rtpCapabilities = caps?.data?.rtpCapabilities ?? {};
      await this.call(this.observer, 'join', { rtpCapabilities: this.rtpCapabilities });
      const transport = await this.call(this.observer, 'createTransport', { direction: 'recv' });
      this.observerTransport = typeof transport?.data?.id === 'string' ? transport.data.id : null;
      if (!this.observerTransport) this.findings.add('crashes', `the observer could not open a transport on the node: ${JSON.stringify(transport)}`);
    }
    for (const actor of [fixture.host, fixture.cohost, ...fixture.guests]) {
      const session = await this.open(actor);
      if (session) this.sessions.push(session);
    }
  }

  private sendersFor(fixture: Fixture, kind: BatchKind): Session[] {
    const ids = new Set(kind === 'host' ? [fixture.host.participantId] : kind === 'cohost' ? [fixture.cohost.participantId] : fixture.guests.map((g) => g.participantId));
    return this.sessions.filter((s) => ids.has(s.actor.participantId));
  }

  /** The node part of a batch: generated requests from the batch's senders, then the checks. */
  async onBatch(fixture: Fixture, kind: BatchKind, seed: number): Promise<void> {
    const senders = this.sendersFor(fixture, kind);
    for (const [i, session] of senders.entries()) {
      if (session.socket.closeCode() !== null) {
        // It left (or was closed): while still in the room, its token opens a new session.
        if (isOut(session.actor.socket)) continue;
        const reopened = await this.open(session.actor);
        if (!reopened) continue;
        Object.assign(session, { socket: reopened.socket, judged: 0 });
      }
      this.learn(session);
      const everyone = [...this.sessions, ...(this.observer ? [this.observer] : [])];
      const ids: MediaIds = {
        transports: [...everyone.flatMap((s) => [...s.transports]), ...(this.observerTransport ? [this.observerTransport] : [])],
        producers: everyone.flatMap((s) => [...s.producers]),
        consumers: everyone.flatMap((s) => [...s.consumers]),
        rtpCapabilities: this.rtpCapabilities,
      };
      const frames = sample(mediaFrames(ids, () => this.requestId++, { leave: seed % 7 === 0 }), this.perSender, seed * 31 + i);
      for (const frame of frames) session.socket.send(frame.data);
      this.messages += frames.length;
    }
    // Drained: a request sent last is answered once everything before it was.
    await Promise.all(senders.map((s) => (s.socket.closeCode() === null ? this.call(s, 'getRouterRtpCapabilities', {}) : null)));
    for (const session of [...this.sessions, ...(this.observer ? [this.observer] : [])]) this.judge(session, session.actor.role);
    await this.check(fixture, kind);
  }

  /** The node still serves, and the observer's session and transport are as it left them. */
  private async check(fixture: Fixture, kind: BatchKind): Promise<void> {
    if (this.node.exited() || !(await this.node.healthy())) {
      this.findings.add('crashes', `the media node stopped serving after a ${kind} batch:\n${this.node.output().slice(-1_000)}`);
      return;
    }
    // The meeting ended (the host may end it): its node sessions close with it.
    if (!this.observer || !this.observerTransport || isOut(fixture.observer.socket)) return;
    if (this.observer.socket.closeCode() !== null) {
      // An ending meeting closes the node session before the room socket (the node is told first).
      const deadline = Date.now() + 10_000;
      while (!isOut(fixture.observer.socket) && Date.now() < deadline) await sleep(50);
      if (isOut(fixture.observer.socket)) return;
      this.findings.add('unauthorizedChanges', `${kind}: the observer's signaling socket was closed (${this.observer.socket.closeCode()})`);
      this.observer = null;
      return;
    }
    const stats = await this.call(this.observer, 'getTransportStats', { transportId: this.observerTransport });
    if (stats?.ok !== true) this.findings.add('unauthorizedChanges', `${kind}: the observer's transport is gone or unanswered: ${JSON.stringify(stats).slice(0, 200)}`);
    this.judge(this.observer, 'observer');
  }

  close(): void {
    for (const session of this.sessions) session.socket.close();
    this.observer?.socket.close();
    this.sessions = [];
    this.observer = null;
    this.observerTransport = null;
  }
}
