/**
 * Test helper: a fake media node — a WebSocket client inside workerd speaking the node-control
 * protocol with a valid credential, exactly as media-node/control/ does against the same schema.
 */
import { env, SELF } from 'cloudflare:test';
import {
  NODE_HEARTBEAT_INTERVAL_MS,
  nodeDownMessageSchema,
  type NodeCommand,
  type NodeCommandData,
  type NodeDownMessage,
  type NodeEvent,
  type NodeLoad,
  type RelayedProducer,
  type NodeState,
  type NodeUpMessage,
} from '../../../schema/wire/node-control.js';
import type { RegionId } from '../../../schema/regions.js';
import type { ErrorCode } from '../../../schema/wire/errors.js';
import type { MediaKind, MediaSource } from '../../../schema/wire/common.js';
import { edgeConfig } from '../../config.js';
import { regionStub } from '../../durable-objects.js';
import { mintNodeCredential } from '../../registry/credentials.js';

export function nodeLoad(overrides: Partial<NodeLoad> = {}): NodeLoad {
  return {
    workersAlive: 2,
    workersTotal: 2,
    rooms: 0,
    participants: 0,
    transports: 0,
    producers: 0,
    consumers: 0,
    consumerCapacity: 1_000,
    cpuPerWorker: [0.05, 0.05],
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    packetLoss: 0,
    recordings: 0,
    ...overrides,
  };
}

export class MessageInbox<T> {
  readonly received: T[] = [];
  private waiters: { match: (message: T) => boolean; resolve: (message: T) => void }[] = [];

  push(message: T): void {
    this.received.push(message);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }

  /**
   * The first message (already received or still to come) that matches; after timeoutMs fails
   * naming what it waited for (`what`, else the matcher's source) and what did arrive.
   */
  next<M extends T>(match: (message: T) => message is M, timeoutMs?: number, what?: string): Promise<M>;
  next(match: (message: T) => boolean, timeoutMs?: number, what?: string): Promise<T>;
  next(match: (message: T) => boolean, timeoutMs = 5_000, what = match.toString()): Promise<T> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.match !== match);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a message: ${what}; received ${this.describeReceived()}`));
      }, timeoutMs);
      this.waiters.push({ match, resolve: (message) => (clearTimeout(timer), resolve(message)) });
    });
  }

  private describeReceived(): string {
    if (this.received.length === 0) return 'nothing';
    return this.received
      .slice(-10)
      .map((message) => JSON.stringify(message).slice(0, 120))
      .join(', ');
  }
}

/** How a fake node answers a command: ok (with data), or an error. Undefined: the default answer. */
export type CommandAnswer = { ok: true; data?: NodeCommandData } | { ok: false; code: ErrorCode; message?: string };

/** A producer the fake node holds (its own participants', or one relayed to it), as cascadeSendProducer answers it. */
type HeldProducer = Omit<RelayedProducer, 'rtpParameters'>;

export class FakeNode {
  readonly inbox = new MessageInbox<NodeDownMessage>();
  /** Set by answerCommands(): every command gets a commandResult, as a real node sends. */
  private answering: ((command: NodeCommand) => CommandAnswer | undefined) | null = null;
  /** Producers this node holds, for its cascadeSendProducer answers. */
  readonly producers = new Map<string, HeldProducer>();
  /** What the node last reported; its automatic heartbeats repeat it, as a real node's would. */
  private reported: { load: NodeLoad; state: NodeState } = { load: nodeLoad(), state: 'serving' };
  private beating: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly nodeId: string,
    readonly region: RegionId,
    readonly ws: WebSocket,
  ) {
    ws.addEventListener('message', (event) => {
      const message = nodeDownMessageSchema.parse(JSON.parse(event.data as string));
      this.inbox.push(message);
      if (message.type === 'command' && this.answering) this.answer(message.commandId, message.command, this.answering(message.command));
    });
  }

  /**
   * From now on answers every command with a commandResult, like a real node: cascade commands
   * with plausible data (a pipe end; the producer it holds), others ok. `override` answers first
   * for the commands it wants to (a refusal, other data).
   */
  answerCommands(override: (command: NodeCommand) => CommandAnswer | undefined = () => undefined): void {
    this.answering = override;
  }

  private answer(commandId: string, command: NodeCommand, chosen: CommandAnswer | undefined): void {
    const result = chosen ?? this.defaultAnswer(command);
    if (result.ok) this.send({ type: 'commandResult', commandId, ok: true, ...(result.data ? { data: result.data } : {}) });
    else this.send({ type: 'commandResult', commandId, ok: false, error: { code: result.code, message: result.message ?? 'refused by the fake node' } });
  }

  private defaultAnswer(command: NodeCommand): CommandAnswer {
    switch (command.command) {
      case 'cascadeOpenPipe':
        return { ok: true, data: { kind: 'pipeEnd', pipe: { ip: '127.0.0.1', port: 40_000 + (hash(this.nodeId + command.peerNodeId) % 10_000), srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: btoa(`${this.nodeId}:${command.peerNodeId}`.padEnd(44, '.').slice(0, 44)) } } } };
      case 'cascadeSendProducer': {
        const held = this.producers.get(command.producerId);
        if (!held) return { ok: false, code: 'NOT_FOUND', message: `no producer ${command.producerId} on ${this.nodeId}` };
        return { ok: true, data: { kind: 'relayedProducer', producer: { ...held, rtpParameters: { codecs: [{ mimeType: held.kind === 'audio' ? 'audio/opus' : 'video/VP8', clockRate: held.kind === 'audio' ? 48_000 : 90_000, payloadType: 100 }] } } } };
      }
      case 'cascadeReceiveProducer': {
        const { rtpParameters: _, ...held } = command.producer;
        this.producers.set(held.producerId, held);
        return { ok: true };
      }
      default:
        return { ok: true };
    }
  }

  /** Sends a node event up (it reaches the meeting's RoomDO through the RegionDO). */
  event(event: NodeEvent): void {
    this.send({ type: 'event', event });
  }

  /** A participant of the meeting connected to this node. */
  participantJoined(meetingId: string, participantId: string): void {
    this.event({ event: 'participantJoined', meetingId, participantId });
  }

  /** A local participant's producer appears here (held for later cascadeSendProducer answers); answers its id. */
  openProducer(meetingId: string, producer: { participantId: string; kind?: MediaKind; source?: MediaSource; paused?: boolean; displayName?: string }): string {
    const producerId = crypto.randomUUID();
    const held: HeldProducer = {
      producerId,
      participantId: producer.participantId,
      displayName: producer.displayName ?? 'Someone',
      kind: producer.kind ?? 'audio',
      source: producer.source ?? (producer.kind === 'video' ? 'camera' : 'mic'),
      paused: producer.paused ?? false,
    };
    this.producers.set(producerId, held);
    this.event({ event: 'producerOpened', meetingId, producerId, participantId: held.participantId, kind: held.kind, source: held.source, paused: held.paused });
    return producerId;
  }

  closeProducer(meetingId: string, producerId: string): void {
    this.producers.delete(producerId);
    this.event({ event: 'producerClosed', meetingId, producerId });
  }

  /** The node's last local participant left: its part of the meeting closes. */
  roomClosed(meetingId: string): void {
    this.event({ event: 'roomClosed', meetingId });
  }

  send(message: NodeUpMessage | Record<string, unknown> | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Says hello (with the meetings it holds, when given) and waits for the welcome. */
  async hello(options: { load?: Partial<NodeLoad>; state?: NodeState; meetings?: string[] } = {}): Promise<void> {
    const welcomes = this.inbox.received.filter((m) => m.type === 'welcome').length;
    this.send({
      type: 'hello',
      node: {
        nodeId: this.nodeId,
        region: this.region,
        signalingUrl: `ws://${this.nodeId}.media.test:4443`,
        announcedAddress: '127.0.0.1',
        rtcPorts: [{ protocol: 'udp', port: 40000 }],
        version: 'test',
      },
      state: options.state ?? 'serving',
      load: nodeLoad(options.load),
      ...(options.meetings ? { meetings: options.meetings } : {}),
    });
    this.reported = { load: nodeLoad(options.load), state: options.state ?? 'serving' };
    await waitUntil(() => this.inbox.received.filter((m) => m.type === 'welcome').length > welcomes, `welcome for ${this.nodeId}`);
  }

  /** Reports this load and state now; later automatic heartbeats repeat it. */
  heartbeat(load: Partial<NodeLoad> = {}, state: NodeState = 'serving'): void {
    this.reported = { load: nodeLoad(load), state };
    this.beat();
  }

  /**
   * Heartbeats every NODE_HEARTBEAT_INTERVAL_MS, as a live node sends them, so a slow test does not
   * see its nodes written off by the registry's alarm. Started by connectFakeNode after the hello.
   */
  startHeartbeats(): void {
    this.stall();
    this.beating = setInterval(() => this.beat(), NODE_HEARTBEAT_INTERVAL_MS);
  }

  /** The process hangs (SIGSTOP): its socket stays open, but no heartbeat comes any more. */
  stall(): void {
    if (this.beating !== undefined) clearInterval(this.beating);
    this.beating = undefined;
  }

  private beat(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return this.stall();
    try {
      this.send({ type: 'heartbeat', nodeId: this.nodeId, state: this.reported.state, load: this.reported.load, sentAt: Date.now() });
    } catch {
      // The registry closed the socket between the check and the send: the node is gone, as a real one would be.
      this.stall();
    }
  }

  /** Waits for a command of this kind (for this meeting, when given). */
  async command<K extends NodeCommand['command']>(kind: K, meetingId?: string): Promise<Extract<NodeCommand, { command: K }>> {
    const message = await this.inbox.next(
      (m) => m.type === 'command' && m.command.command === kind && (!meetingId || !('meetingId' in m.command) || m.command.meetingId === meetingId),
      undefined,
      `command ${kind}${meetingId ? ` for meeting ${meetingId}` : ''} to ${this.nodeId}`,
    );
    return (message as Extract<NodeDownMessage, { type: 'command' }>).command as Extract<NodeCommand, { command: K }>;
  }

  commands(kind?: NodeCommand['command']): NodeCommand[] {
    return this.inbox.received.flatMap((m) => (m.type === 'command' && (!kind || m.command.command === kind) ? [m.command] : []));
  }

  /** The process dies: the control socket closes without a word (no draining report). */
  crash(): void {
    this.stall();
    try {
      this.ws.close(1001, 'process gone');
    } catch {
      // already closed
    }
  }

  /** Leaves the pool for later tests: reports draining, then hangs up. */
  retire(): void {
    this.stall();
    try {
      this.heartbeat({}, 'draining');
      this.ws.close(1000, 'test done');
    } catch {
      // already closed
    }
  }
}

async function waitUntil(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function hash(text: string): number {
  let value = 0;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) >>> 0;
  return value;
}

let counter = 0;
export function uniqueNodeId(prefix = 'node'): string {
  counter += 1;
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}-${counter}`;
}

export async function openNodeSocket(nodeId: string, region: RegionId, credential?: string): Promise<Response> {
  const token = credential ?? (await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId, region }));
  return SELF.fetch(`http://edgemeet.test/api/nodes/connect?region=${region}`, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
}

/** Connects, says hello and waits for the welcome. */
export async function connectFakeNode(
  options: { nodeId?: string; region?: RegionId; load?: Partial<NodeLoad>; state?: NodeState; hello?: boolean; meetings?: string[]; heartbeats?: boolean } = {},
): Promise<FakeNode> {
  const nodeId = options.nodeId ?? uniqueNodeId();
  const region = options.region ?? 'lon';
  const response = await openNodeSocket(nodeId, region);
  if (response.status !== 101 || !response.webSocket) throw new Error(`node connect failed: ${response.status} ${await response.text()}`);
  response.webSocket.accept();
  const node = new FakeNode(nodeId, region, response.webSocket);
  if (options.hello !== false) {
    await node.hello(options);
    if (options.heartbeats !== false) node.startHeartbeats();
  }
  return node;
}

export function regionStubFor(region: RegionId) {
  return regionStub(env, region);
}
