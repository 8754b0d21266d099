import { DurableObject } from 'cloudflare:workers';
import type { z } from 'zod';
import { assertNever } from '../../schema/wire/common.js';
import { WS_CLOSE, type ErrorCode } from '../../schema/wire/errors.js';
import type { fleetNodeSchema } from '../../schema/wire/http.js';
import {
  NODE_HEARTBEAT_INTERVAL_MS,
  nodeCommandSchema,
  nodeUpMessageSchema,
  type NodeCommand,
  type NodeDownMessage,
  type NodeEvent,
  type NodeUpMessage,
  type PlacedNode,
} from '../../schema/wire/node-control.js';
import { regionIdSchema, type RegionId } from '../../schema/regions.js';
import { parseSocketMessage, unionTypes, type RpcResult } from '../../schema/wire/socket-frame.js';
import { edgeConfig } from '../config.js';
import { roomStub } from '../durable-objects.js';
import { log } from '../http/log.js';
import { NodeCommandQueue } from './command-queue.js';
import { NodeStore } from './node-store.js';
import { chooseNode, DEFAULT_PLACEMENT_POLICY, type PlacementPolicy } from './placement.js';

/** Headers the nodes route sets after verifying the credential (never taken from the client). */
export const NODE_ID_HEADER = 'X-Edgemeet-Node-Id';
export const NODE_REGION_HEADER = 'X-Edgemeet-Region';

export type FleetNode = z.infer<typeof fleetNodeSchema>;

interface NodeSocketAttachment {
  nodeId: string;
  region: RegionId;
  helloed: boolean;
}

const NODE_MESSAGE_TYPES = unionTypes(nodeUpMessageSchema);

/**
 * One per region (regionStub in edge/durable-objects.ts): the media-node registry. Nodes keep a
 * hibernatable WebSocket here (hello, heartbeats, command results, events up; commands down); an alarm marks
 * nodes whose heartbeats stopped as down and hands their rooms back; placement picks a node for a
 * meeting's first join and keeps the meeting → node map (the per-node room counts).
 */
export class RegionDO extends DurableObject<Env> {
  private readonly store: NodeStore;
  private readonly commands: NodeCommandQueue;
  private readonly policy: PlacementPolicy;
  /** Counters since this instance started (ops visibility; tests read them in-process). */
  readonly stats = { placeRequests: 0, newPlacements: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new NodeStore(ctx.storage.sql);
    this.commands = new NodeCommandQueue(ctx.storage.sql);
    this.policy = { ...DEFAULT_PLACEMENT_POLICY, heartbeatTimeoutMs: edgeConfig(env).heartbeatTimeoutMs };
  }

  /** The node control socket, forwarded by edge/routes/nodes.ts once the credential checked out. */
  override async fetch(request: Request): Promise<Response> {
    const nodeId = request.headers.get(NODE_ID_HEADER);
    const region = regionIdSchema.safeParse(request.headers.get(NODE_REGION_HEADER)).data;
    if (!nodeId || !region || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a node control WebSocket upgrade', { status: 426 });
    }
    // A reconnecting node replaces its previous socket.
    for (const old of this.ctx.getWebSockets(nodeId)) old.close(WS_CLOSE.REPLACED, 'replaced by a new connection');
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [nodeId]);
    server.serializeAttachment({ nodeId, region, helloed: false } satisfies NodeSocketAttachment);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const socket = ws.deserializeAttachment() as NodeSocketAttachment;
    const parsed = parseSocketMessage(nodeUpMessageSchema, NODE_MESSAGE_TYPES, frame);
    if (!parsed.ok) return sendDown(ws, { type: 'error', code: parsed.code, message: parsed.message });
    const refusal = await this.handle(ws, socket, parsed.message);
    if (refusal) sendDown(ws, { type: 'error', code: refusal.code, message: refusal.message });
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    const socket = ws.deserializeAttachment() as NodeSocketAttachment | null;
    // Liveness is judged by heartbeats (alarm), not by the socket: a quick reconnect keeps rooms.
    log('info', 'node.socket_closed', { nodeId: socket?.nodeId, code });
  }

  private async handle(ws: WebSocket, socket: NodeSocketAttachment, message: NodeUpMessage): Promise<{ code: ErrorCode; message: string } | null> {
    const now = Date.now();
    switch (message.type) {
      case 'hello': {
        if (message.node.nodeId !== socket.nodeId) return { code: 'FORBIDDEN', message: 'hello names another node than the credential' };
        if (message.node.region !== socket.region) return { code: 'FORBIDDEN', message: `this is the ${socket.region} registry; node says ${message.node.region}` };
        this.store.upsertHello(message.node, message.state, message.load, now);
        ws.serializeAttachment({ ...socket, helloed: true } satisfies NodeSocketAttachment);
        sendDown(ws, { type: 'welcome', heartbeatIntervalMs: NODE_HEARTBEAT_INTERVAL_MS });
        // Whatever it missed while reconnecting (a removal, a mute …), in order.
        for (const { commandId, command } of this.commands.pending(socket.nodeId, now)) sendDown(ws, { type: 'command', commandId, command });
        await this.scheduleLivenessCheck(now + this.policy.heartbeatTimeoutMs + 1);
        log('info', 'node.hello', { nodeId: socket.nodeId, region: socket.region, state: message.state });
        return null;
      }
      case 'heartbeat': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello before heartbeats' };
        if (message.nodeId !== socket.nodeId) return { code: 'FORBIDDEN', message: 'heartbeat names another node than the credential' };
        if (!this.store.recordHeartbeat(socket.nodeId, message.state, message.load, now)) return { code: 'NODE_NOT_FOUND', message: 'unknown node; send hello again' };
        return null;
      }
      case 'commandResult': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello first' };
        this.commands.settle(socket.nodeId, message.commandId);
        if (!message.ok) log('warn', 'node.command_failed', { nodeId: socket.nodeId, commandId: message.commandId, code: message.error?.code, error: message.error?.message });
        return null;
      }
      case 'event': {
        if (!socket.helloed) return { code: 'BAD_REQUEST', message: 'send hello first' };
        await this.forwardEvent(socket.nodeId, message.event);
        return null;
      }
      default:
        return assertNever(message, 'node message');
    }
  }

  /** Node events go to the meeting's RoomDO — only for meetings this node actually serves. */
  private async forwardEvent(nodeId: string, event: NodeEvent): Promise<void> {
    if (event.event === 'workerDied') {
      log('warn', 'node.worker_died', { nodeId, pid: event.pid, error: event.error });
      return;
    }
    // Recording status keeps arriving after a room is released (processing, upload): the RoomDO
    // checks the recording id itself. Other events must come from the meeting's own node.
    if (event.event !== 'recordingStatus' && this.store.assignmentOf(event.meetingId) !== nodeId) {
      log('warn', 'node.event_for_foreign_meeting', { nodeId, meetingId: event.meetingId, event: event.event });
      return;
    }
    await roomStub(this.env, event.meetingId).onNodeEvent(event);
  }

  // ── liveness ─────────────────────────────────────────────────────────────────────────────

  private async scheduleLivenessCheck(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Marks nodes whose heartbeats stopped as down, frees their rooms, and re-arms itself. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const lost = this.store.staleNodeIds(now - this.policy.heartbeatTimeoutMs);
    for (const nodeId of lost) await this.markDown(nodeId);
    const oldest = this.store.oldestLiveHeartbeat();
    if (oldest !== null) await this.ctx.storage.setAlarm(Math.max(now + 100, oldest + this.policy.heartbeatTimeoutMs + 1));
  }

  private async markDown(nodeId: string): Promise<void> {
    const meetings = this.store.markDown(nodeId);
    this.commands.forget(nodeId);
    log('warn', 'node.down', { nodeId, rooms: meetings.length });
    for (const ws of this.ctx.getWebSockets(nodeId)) ws.close(WS_CLOSE.GOING_AWAY, 'heartbeats stopped');
    // Each room re-places itself (on its next join, or at once when people are connected).
    const results = await Promise.allSettled(meetings.map((meetingId) => roomStub(this.env, meetingId).onNodeLost(nodeId)));
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) log('error', 'node.down_notify_failed', { nodeId, failed });
  }

  // ── RPC for RoomDOs and the fleet API ─────────────────────────────────────────────────────

  /**
   * The node serving this meeting: its current one while that node lives, else the least-loaded
   * node with headroom (recorded, so the room count grows at once). Null: no capacity here.
   */
  async place(meetingLinkId: string): Promise<PlacedNode | null> {
    this.stats.placeRequests += 1;
    const now = Date.now();
    const nodes = this.store.list();
    const currentId = this.store.assignmentOf(meetingLinkId);
    const current = nodes.find((node) => node.nodeId === currentId);
    // A draining node keeps the rooms it has; only new rooms avoid it.
    if (current && current.state !== 'down' && now - current.lastHeartbeatAt <= this.policy.heartbeatTimeoutMs) return placed(current);
    const chosen = chooseNode(nodes, now, this.policy);
    if (!chosen) return null;
    this.store.assign(meetingLinkId, chosen.nodeId, now);
    this.stats.newPlacements += 1;
    log('info', 'room.placed', { meetingLinkId, nodeId: chosen.nodeId });
    return placed(chosen);
  }

  /** The room emptied (grace period over) or ended: its node no longer counts it. */
  async release(meetingLinkId: string, nodeId: string): Promise<void> {
    this.store.release(meetingLinkId, nodeId);
  }

  /**
   * Sends a command down the node's control socket, and keeps it until the node answers, so a
   * node that reconnects gets it after its hello. Results arrive as commandResult.
   */
  async sendCommand(nodeId: string, command: NodeCommand): Promise<RpcResult<{ commandId: string; delivered: boolean }>> {
    const checked = nodeCommandSchema.safeParse(command);
    if (!checked.success) return { ok: false, code: 'VALIDATION_FAILED', message: 'malformed node command' };
    const node = this.store.get(nodeId);
    if (!node || node.state === 'down') return { ok: false, code: 'NODE_NOT_FOUND', message: `node ${nodeId} is not live in this region` };
    const commandId = this.commands.add(nodeId, checked.data, Date.now());
    const ws = this.ctx.getWebSockets(nodeId).find((socket) => (socket.deserializeAttachment() as NodeSocketAttachment).helloed);
    if (ws) sendDown(ws, { type: 'command', commandId, command: checked.data });
    else log('warn', 'node.command_queued', { nodeId, command: checked.data.command });
    return { ok: true, value: { commandId, delivered: ws !== undefined } };
  }

  /** Operators: stop placing new rooms on the node and tell it to drain. */
  async drain(nodeId: string, deadline: number | null): Promise<RpcResult<FleetNode>> {
    if (!this.store.markDraining(nodeId, deadline)) return { ok: false, code: 'NODE_NOT_FOUND', message: `no node ${nodeId} in this region` };
    const sent = await this.sendCommand(nodeId, deadline === null ? { command: 'drain' } : { command: 'drain', deadline });
    if (!sent.ok) log('warn', 'node.drain_not_delivered', { nodeId, code: sent.code });
    return { ok: true, value: toFleetNode(this.store.get(nodeId)!) };
  }

  async fleet(): Promise<FleetNode[]> {
    return this.store.list().map(toFleetNode);
  }
}

function placed(node: { nodeId: string; identity: { region: RegionId; signalingUrl: string } }): PlacedNode {
  return { nodeId: node.nodeId, region: node.identity.region, signalingUrl: node.identity.signalingUrl };
}

function toFleetNode(node: ReturnType<NodeStore['list']>[number]): FleetNode {
  return {
    nodeId: node.nodeId,
    region: node.identity.region,
    state: node.state,
    signalingUrl: node.identity.signalingUrl,
    lastHeartbeatAt: node.lastHeartbeatAt,
    load: node.load,
    rooms: node.assignedRooms,
  };
}

function sendDown(ws: WebSocket, message: NodeDownMessage): void {
  try {
    ws.send(JSON.stringify(message));
  } catch (error) {
    log('warn', 'node.send_failed', { error: String(error) });
  }
}
