import { DurableObject } from 'cloudflare:workers';
import { assertNever } from '../../schema/wire/common.js';
import { WS_CLOSE, type ErrorCode } from '../../schema/wire/errors.js';
import {
  NODE_HEARTBEAT_INTERVAL_MS,
  nodeCommandSchema,
  nodeUpMessageSchema,
  type NodeCommand,
  type NodeEvent,
  type NodeUpMessage,
  type PlacedNode,
} from '../../schema/wire/node-control.js';
import { regionIdSchema, type RegionId } from '../../schema/regions.js';
import { parseSocketMessage, unionTypes, type RpcResult } from '../../schema/wire/socket-frame.js';
import { edgeConfig } from '../config.js';
import { roomStub } from '../durable-objects.js';
import { log } from '../http/log.js';
import { COMMAND_ANSWER_TIMEOUT_MS, CommandAnswers, NodeCommandQueue, type CommandOutcome } from './command-queue.js';
import { toFleetNode, type FleetNode } from './fleet-view.js';
import { attach, attachmentOf, confirmRecordingStatus, sendDown, type NodeSocketAttachment } from './node-socket.js';
import { AlarmLedger, judgeSilence } from './liveness.js';
import { NodeStore, WRITTEN_OFF_RETENTION_MS } from './node-store.js';
import { DEFAULT_PLACEMENT_POLICY, placeMeeting, type PlacementPolicy } from './placement.js';
import { RoomReservations } from './reservations.js';
import { RoomMover } from './room-mover.js';
import { RoomMoves } from './room-moves.js';
import { NewcomerLoad } from './newcomer-load.js';
import { newcomerConsumers, nodeForNewcomer, type MeetingInRegion } from './spread.js';
import { liftDrain } from './undrain.js';

export type { FleetNode } from './fleet-view.js';

/** Headers the nodes route sets after verifying the credential (never taken from the client). */
export const NODE_ID_HEADER = 'X-Edgemeet-Node-Id';
export const NODE_REGION_HEADER = 'X-Edgemeet-Region';

const NODE_MESSAGE_TYPES = unionTypes(nodeUpMessageSchema);

/**
 * Events that shape a meeting's media graph over several nodes (cascading): they come from any
 * node serving the meeting, not only the one placement assigned it here, and the RoomDO (which
 * knows the meeting's nodes) judges them.
 */
const CASCADE_EVENTS: ReadonlySet<NodeEvent['event']> = new Set(['participantJoined', 'producerOpened', 'producerClosed', 'producerPaused', 'roomClosed']);

/**
 * One per region, or per registry shard of a region (regionStub in edge/durable-objects.ts,
 * edge/registry/shards.ts): the media-node registry. Nodes keep a
 * hibernatable WebSocket here (hello, heartbeats, command results, events up; commands down).
 * A node is written off at once when its control socket closes (a crash) and by the alarm when
 * its heartbeats stop (a silent partition); its meetings move, and when it comes back it is told
 * to close them. Draining and overloaded nodes hand meetings over make-before-break. Placement
 * picks a node for a meeting's first join and keeps the meeting → node map.
 */
export class RegionDO extends DurableObject<Env> {
  private readonly store: NodeStore;
  private readonly commands: NodeCommandQueue;
  private readonly moves: RoomMoves;
  private readonly alarms: AlarmLedger;
  private readonly mover: RoomMover;
  private readonly policy: PlacementPolicy;
  private readonly reservations: RoomReservations;
  private readonly answers = new CommandAnswers();
  /** Per node and meeting, the cascade event forwarded last: the next one waits for it (forwardInOrder). */
  private readonly forwarding = new Map<string, Promise<void>>();
  /** Newcomers sent to nodes whose reports do not show them yet (placeNewcomer). */
  private readonly newcomerLoad = new NewcomerLoad(2 * NODE_HEARTBEAT_INTERVAL_MS);
  /** Counters since this instance started (ops visibility; tests read them in-process). */
  readonly stats = { placeRequests: 0, newPlacements: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new NodeStore(ctx.storage.sql);
    this.commands = new NodeCommandQueue(ctx.storage.sql);
    this.moves = new RoomMoves(ctx.storage.sql);
    this.alarms = new AlarmLedger(ctx.storage.sql);
    this.policy = { ...DEFAULT_PLACEMENT_POLICY, heartbeatTimeoutMs: edgeConfig(env).heartbeatTimeoutMs };
    this.reservations = new RoomReservations(ctx.storage.sql, Date.now());
    this.mover = new RoomMover({
      env,
      store: this.store,
      commands: this.commands,
      answers: this.answers,
      moves: this.moves,
      policy: this.policy,
      sendCommand: (nodeId, command) => this.sendCommand(nodeId, command),
      closeSockets: (nodeId, why) => {
        for (const ws of this.ctx.getWebSockets(nodeId)) ws.close(WS_CLOSE.GOING_AWAY, why);
      },
      scheduleCheck: (at) => this.scheduleCheck(at),
    });
  }

  /** The node control socket, forwarded by edge/routes/nodes.ts once the credential checked out. */
  override async fetch(request: Request): Promise<Response> {
    const nodeId = request.headers.get(NODE_ID_HEADER);
    const region = regionIdSchema.safeParse(request.headers.get(NODE_REGION_HEADER)).data;
    if (!nodeId || !region || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a node control WebSocket upgrade', { status: 426 });
    }
    // A reconnecting node replaces its previous socket; that one's closing then means nothing.
    const connectionId = crypto.randomUUID();
    this.store.setConnection(nodeId, connectionId);
    for (const old of this.ctx.getWebSockets(nodeId)) old.close(WS_CLOSE.REPLACED, 'replaced by a new connection');
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [nodeId]);
    attach(server, { nodeId, region, connectionId, helloed: false });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const socket = attachmentOf(ws);
    if (!socket) return ws.close(WS_CLOSE.GOING_AWAY, 'unknown connection; reconnect');
    const parsed = parseSocketMessage(nodeUpMessageSchema, NODE_MESSAGE_TYPES, frame);
    if (!parsed.ok) return sendDown(ws, { type: 'error', code: parsed.code, message: parsed.message });
    const refusal = await this.handle(ws, socket, parsed.message);
    if (refusal) sendDown(ws, { type: 'error', code: refusal.code, message: refusal.message });
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    log('info', 'node.socket_closed', { nodeId: attachmentOf(ws)?.nodeId, code });
    await this.onSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    log('info', 'node.socket_closed', { nodeId: attachmentOf(ws)?.nodeId, code: 1006 });
    await this.onSocketGone(ws);
  }

  /**
   * The node's current control socket closed: the process died or the link broke, and either way
   * nothing reaches it now. Written off at once (not after the heartbeat timeout); a node that was
   * only cut off says hello again and learns which meetings moved.
   */
  private async onSocketGone(ws: WebSocket): Promise<void> {
    const socket = attachmentOf(ws);
    if (!socket || !this.store.isCurrentConnection(socket.nodeId, socket.connectionId)) return;
    const node = this.store.get(socket.nodeId);
    if (node && node.state !== 'down') await this.mover.markDown(socket.nodeId, 'control socket closed');
  }

  private async handle(ws: WebSocket, socket: NodeSocketAttachment, message: NodeUpMessage): Promise<{ code: ErrorCode; message: string } | null> {
    const now = Date.now();
    switch (message.type) {
      case 'hello': {
        if (message.node.nodeId !== socket.nodeId) return { code: 'FORBIDDEN', message: 'hello names another node than the credential' };
        if (message.node.region !== socket.region) return { code: 'FORBIDDEN', message: `this is the ${socket.region} registry; node says ${message.node.region}` };
        const stale = this.mover.staleMeetings(socket.nodeId, message.meetings ?? []);
        this.store.upsertHello(message.node, message.state, message.load, now);
        attach(ws, { ...socket, helloed: true });
        sendDown(ws, { type: 'welcome', heartbeatIntervalMs: NODE_HEARTBEAT_INTERVAL_MS });
        // Whatever it missed while reconnecting (a removal, a mute …), in order.
        const missed = this.commands.pending(socket.nodeId, now);
        for (const { commandId, command } of missed) sendDown(ws, { type: 'command', commandId, command });
        // An operator's drain it never heard (ordered while it was down: that command was refused).
        const drain = this.store.adminDrain(socket.nodeId);
        if (drain && message.state !== 'draining' && !missed.some(({ command }) => command.command === 'drain')) {
          await this.sendCommand(socket.nodeId, drain.deadline === null ? { command: 'drain' } : { command: 'drain', deadline: drain.deadline });
        }
        await this.mover.closeStaleMeetings(socket.nodeId, stale);
        await this.scheduleCheck(now + this.policy.heartbeatTimeoutMs + 1);
        log('info', 'node.hello', { nodeId: socket.nodeId, region: socket.region, state: message.state });
        await this.mover.afterReport(socket.nodeId, now);
        return null;
      }
      case 'heartbeat': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello before heartbeats' };
        if (message.nodeId !== socket.nodeId) return { code: 'FORBIDDEN', message: 'heartbeat names another node than the credential' };
        if (!this.store.recordHeartbeat(socket.nodeId, message.state, message.load, now)) return { code: 'NODE_NOT_FOUND', message: 'unknown or written-off node; send hello again' };
        await this.mover.closeTakenWhileSilent(socket.nodeId);
        await this.mover.afterReport(socket.nodeId, now);
        return null;
      }
      case 'commandResult': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello first' };
        this.commands.settle(socket.nodeId, message.commandId);
        this.answers.settle(socket.nodeId, message);
        if (!message.ok) log('warn', 'node.command_failed', { nodeId: socket.nodeId, commandId: message.commandId, code: message.error?.code, error: message.error?.message });
        return null;
      }
      case 'event': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello first' };
        await this.forwardEvent(socket, message.event);
        if (message.event.event === 'recordingStatus') confirmRecordingStatus(ws, message.event);
        return null;
      }
      default:
        return assertNever(message, 'node message');
    }
  }

  /**
   * Node events go to the meeting's RoomDO with the sender — cascade events from any node, the
   * others only from the meeting's node here (recording status from any, see below).
   */
  private async forwardEvent({ nodeId, region }: NodeSocketAttachment, event: NodeEvent): Promise<void> {
    if (event.event === 'workerDied') {
      log('warn', 'node.worker_died', { nodeId, pid: event.pid, error: event.error });
      return;
    }
    // Cascade events come from every node serving the meeting: the RoomDO knows which those are.
    if (CASCADE_EVENTS.has(event.event)) return this.forwardInOrder(`${nodeId}|${event.meetingId}`, () => roomStub(this.env, event.meetingId).onNodeEvent(event, { nodeId, region }));
    // Recording status keeps arriving after a room is released (processing, upload): the RoomDO
    // checks the recording id itself. Other events must come from a node serving the meeting.
    if (event.event !== 'recordingStatus' && this.store.assignmentOf(event.meetingId) !== nodeId && !this.store.hasPart(event.meetingId, nodeId)) {
      log('warn', 'node.event_for_foreign_meeting', { nodeId, meetingId: event.meetingId, event: event.event });
      return;
    }
    await roomStub(this.env, event.meetingId).onNodeEvent(event, { nodeId, region });
  }

  /**
   * Forwards once the previous forward of `key` is done, so a node's cascade events reach the room
   * in the order the node sent them: forwarded concurrently, a new room's participantJoined
   * overtook the old room's roomClosed, and the room took the new room for gone.
   */
  private forwardInOrder(key: string, forward: () => Promise<void>): Promise<void> {
    const run = (this.forwarding.get(key) ?? Promise.resolve()).then(forward);
    const settled = run.catch(() => undefined);
    this.forwarding.set(key, settled);
    void settled.then(() => this.forwarding.get(key) === settled && this.forwarding.delete(key));
    return run;
  }

  // ── liveness ─────────────────────────────────────────────────────────────────────────────

  private async scheduleCheck(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.setAlarm(at);
  }

  /** Arms the alarm and notes when it is due, so the alarm can tell how late it fired. */
  private async setAlarm(at: number): Promise<void> {
    this.alarms.setScheduled(at);
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * Marks nodes whose heartbeats stopped as down (their rooms move) — unless the alarm fired late
   * or no node was heard from lately (judgeSilence: they get one more heartbeat interval) —,
   * closes meetings on nodes they left make-before-break once the grace is over, and re-arms itself.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const verdict = judgeSilence({
      now,
      scheduledAt: this.alarms.scheduledAt(),
      deferredUntil: this.alarms.deferredUntil(),
      silent: this.store.staleNodeIds(now - this.policy.heartbeatTimeoutMs),
      live: this.store.liveCount(),
      latestHeard: this.store.latestLiveHeartbeat(),
    });
    this.alarms.setScheduled(null);
    if (verdict.kind === 'defer') {
      if (verdict.why !== 'pending') log('warn', 'node.silence_deferred', { why: verdict.why, recheckAt: verdict.until });
      this.alarms.setDeferred(verdict.until);
    } else {
      this.alarms.setDeferred(null);
      for (const nodeId of verdict.nodeIds) await this.mover.markDown(nodeId, 'heartbeats stopped');
    }
    await this.mover.closeDue(now);
    for (const nodeId of this.store.forgetWrittenOff(now - WRITTEN_OFF_RETENTION_MS)) this.moves.forget(nodeId);
    const oldest = this.store.oldestLiveHeartbeat();
    const nextSilence = verdict.kind === 'defer' ? verdict.until : oldest === null ? Infinity : oldest + this.policy.heartbeatTimeoutMs + 1;
    const next = Math.min(nextSilence, this.moves.nextDue() ?? Infinity);
    if (next !== Infinity) await this.setAlarm(Math.max(now + 100, next));
  }

  // ── RPC for RoomDOs and the fleet API ─────────────────────────────────────────────────────

  /**
   * The node serving this meeting: its current one while that node lives, else the least-loaded
   * node with headroom for it (placement.ts placeMeeting), recorded with a reservation for the
   * room at its size — `participants` already in it, a moved room arrives full — that lasts while
   * the room fills. Null: no capacity here.
   */
  async place(meetingLinkId: string, participants = 0): Promise<PlacedNode | null> {
    this.stats.placeRequests += 1;
    const now = Date.now();
    const currentId = this.store.assignmentOf(meetingLinkId);
    const decision = placeMeeting(this.reservations.attach(this.store.live(), now), currentId, participants, now, this.policy);
    if (!decision) return null;
    if (decision.kept) return placed(decision.node);
    const chosen = decision.node;
    this.store.assign(meetingLinkId, chosen.nodeId, now);
    this.reservations.reserve(meetingLinkId, chosen.nodeId, decision.reserve.consumers, now + decision.reserve.forMs);
    // Taken from a node gone silent (not yet written off): it closes the meeting if it returns.
    if (currentId && currentId !== chosen.nodeId) this.moves.record(currentId, [meetingLinkId], null);
    // Back on a node it had left: no longer to be closed there.
    this.moves.settle(chosen.nodeId, meetingLinkId);
    this.stats.newPlacements += 1;
    log('info', 'room.placed', { meetingLinkId, nodeId: chosen.nodeId });
    return placed(chosen);
  }

  /**
   * The node of this region a newcomer to a meeting spread over nodes goes to (spread.ts
   * nodeForNewcomer): one of the meeting's nodes here with headroom, else the best other one, which
   * then serves a part of the meeting (a node returning from an outage does not close it). Null:
   * no node here can take the newcomer.
   */
  async placeNewcomer(meetingLinkId: string, meeting: MeetingInRegion): Promise<PlacedNode | null> {
    const now = Date.now();
    const choice = nodeForNewcomer(meeting, this.newcomerLoad.apply(this.reservations.attach(this.store.live(), now), now), now, this.policy);
    if (!choice) return null;
    const onNode = meeting.nodes.find((node) => node.nodeId === choice.node.nodeId)?.participants ?? 0;
    this.newcomerLoad.add(choice.node.nodeId, newcomerConsumers(meeting.participants, onNode), now);
    if (this.store.assignmentOf(meetingLinkId) !== choice.node.nodeId && !this.store.hasPart(meetingLinkId, choice.node.nodeId)) {
      this.store.addPart(meetingLinkId, choice.node.nodeId, now);
      this.moves.settle(choice.node.nodeId, meetingLinkId);
      log('info', 'room.part_placed', { meetingLinkId, nodeId: choice.node.nodeId, spill: choice.spill });
    }
    return placed(choice.node);
  }

  /** The meeting no longer sends anyone to the node as a part of it (it ended, or its part closed). */
  async releasePart(meetingLinkId: string, nodeId: string): Promise<void> {
    this.store.releasePart(meetingLinkId, nodeId);
  }

  /** Whether the node still serves the meeting: assigned to it, and the node alive and heard from. */
  async serves(meetingLinkId: string, nodeId: string): Promise<boolean> {
    return this.store.assignmentOf(meetingLinkId) === nodeId && this.isLive(nodeId);
  }

  /** Whether the node still serves a part of the meeting (cascading), alive and heard from. */
  async servesPart(meetingLinkId: string, nodeId: string): Promise<boolean> {
    return this.store.hasPart(meetingLinkId, nodeId) && this.isLive(nodeId);
  }

  /** Whether the node is alive and heard from: a room told its node serves it no more tells lost (no) from leaving (drain, overload). */
  async nodeLive(nodeId: string): Promise<boolean> {
    return this.isLive(nodeId);
  }

  private isLive(nodeId: string): boolean {
    const node = this.store.get(nodeId);
    return node !== null && node.state !== 'down' && Date.now() - node.lastHeartbeatAt <= this.policy.heartbeatTimeoutMs;
  }

  /**
   * Everyone left the room; it keeps its node through the release grace (whoever comes back lands
   * there) but needs no consumers meanwhile: its reservation goes, so a room abandoned while young
   * no longer holds a new room's worth of the node for the rest of its reservation.
   */
  async emptied(meetingLinkId: string, nodeId: string): Promise<void> {
    this.reservations.drop(meetingLinkId, nodeId);
  }

  /** The room emptied (grace period over) or ended: its node no longer counts it. */
  async release(meetingLinkId: string, nodeId: string): Promise<void> {
    this.store.release(meetingLinkId, nodeId);
    this.reservations.drop(meetingLinkId, nodeId);
  }

  /**
   * Sends a command down the node's control socket, and keeps it until the node answers, so a
   * node that reconnects gets it after its hello. Results arrive as commandResult.
   */
  async sendCommand(nodeId: string, command: NodeCommand): Promise<RpcResult<{ commandId: string; delivered: boolean }>> {
    return this.dispatch(nodeId, command);
  }

  /**
   * As sendCommand, and answers the node's commandResult (ok with its data, or its error) once it
   * arrives — a command re-sent after a reconnect included. No answer within `timeoutMs`: an error
   * (MEDIA_ERROR); the command stays queued for the node, and every command is safe to repeat.
   */
  async sendCommandAndWait(nodeId: string, command: NodeCommand, timeoutMs = COMMAND_ANSWER_TIMEOUT_MS): Promise<CommandOutcome> {
    const sent = this.dispatch(nodeId, command);
    if (!sent.ok) return sent;
    // dispatch did not yield: the waiter is in place before any answer can be handled.
    return this.answers.wait(nodeId, sent.value.commandId, command.command, timeoutMs);
  }

  private dispatch(nodeId: string, command: NodeCommand): RpcResult<{ commandId: string; delivered: boolean }> {
    const checked = nodeCommandSchema.safeParse(command);
    if (!checked.success) return { ok: false, code: 'VALIDATION_FAILED', message: 'malformed node command' };
    const node = this.store.get(nodeId);
    if (!node || node.state === 'down') return { ok: false, code: 'NODE_NOT_FOUND', message: `node ${nodeId} is not live in this region` };
    const commandId = this.commands.add(nodeId, checked.data, Date.now());
    const ws = this.ctx.getWebSockets(nodeId).find((socket) => {
      const attachment = attachmentOf(socket);
      return attachment?.helloed === true && this.store.isCurrentConnection(nodeId, attachment.connectionId);
    });
    if (ws) sendDown(ws, { type: 'command', commandId, command: checked.data });
    else log('warn', 'node.command_queued', { nodeId, command: checked.data.command });
    return { ok: true, value: { commandId, delivered: ws !== undefined } };
  }

  /** Operators: no new rooms on the node, its meetings move make-before-break, and it is told to drain. */
  async drain(nodeId: string, deadline: number | null): Promise<RpcResult<FleetNode>> {
    if (!this.store.markDraining(nodeId, deadline)) return { ok: false, code: 'NODE_NOT_FOUND', message: `no node ${nodeId} in this region` };
    const sent = await this.sendCommand(nodeId, deadline === null ? { command: 'drain' } : { command: 'drain', deadline });
    if (!sent.ok) log('warn', 'node.drain_not_delivered', { nodeId, code: sent.code });
    const now = Date.now();
    await this.mover.afterReport(nodeId, now);
    return { ok: true, value: toFleetNode(this.store.get(nodeId)!, now, this.policy) };
  }

  /** Operators: lift a drain the fleet API started (rooms that moved stay where they are). */
  async undrain(nodeId: string): Promise<RpcResult<FleetNode>> {
    const now = Date.now();
    // Also withdraws a drain command the node has not confirmed, so it does not drain after its next hello.
    if (!liftDrain(this.store, this.commands, nodeId, now)) return { ok: false, code: 'NODE_NOT_FOUND', message: `no node ${nodeId} in this region` };
    return { ok: true, value: toFleetNode(this.store.get(nodeId)!, now, this.policy) };
  }

  async fleet(): Promise<FleetNode[]> {
    const now = Date.now();
    return this.reservations.attach(this.store.list(), now).map((node) => toFleetNode(node, now, this.policy));
  }
}

function placed(node: { nodeId: string; identity: { region: RegionId; signalingUrl: string } }): PlacedNode {
  return { nodeId: node.nodeId, region: node.identity.region, signalingUrl: node.identity.signalingUrl };
}
