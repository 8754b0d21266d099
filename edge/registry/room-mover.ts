import type { NodeCommand } from '../../schema/wire/node-control.js';
import type { RpcResult } from '../../schema/wire/socket-frame.js';
import { roomStub } from '../durable-objects.js';
import { log } from '../http/log.js';
import type { CommandAnswers, NodeCommandQueue } from './command-queue.js';
import type { NodeStore } from './node-store.js';
import { isOverloaded, roomsToShed, type PlacementPolicy } from './placement.js';
import { MIGRATION_GRACE_MS, type RoomMoves } from './room-moves.js';

/** Why a node's meetings leave it while it still runs. */
type MoveReason = 'drain' | 'overload';

const MOVED_AWAY = 'the meeting moved to another media node';

export interface RoomMoverDeps {
  env: Env;
  store: NodeStore;
  commands: NodeCommandQueue;
  /** Callers waiting for nodes' answers (sendCommandAndWait). */
  answers: CommandAnswers;
  moves: RoomMoves;
  policy: PlacementPolicy;
  sendCommand(nodeId: string, command: NodeCommand): Promise<RpcResult<unknown>>;
  /** Closes the node's control sockets (it is written off). */
  closeSockets(nodeId: string, why: string): void;
  /** Makes sure the RegionDO's alarm fires by then. */
  scheduleCheck(at: number): Promise<void>;
}

/**
 * The RegionDO's failover moves: writing a node off (its meetings move now, it closes them when
 * it returns), handing meetings over from a draining or overloaded node make-before-break (closed
 * there after MIGRATION_GRACE_MS), and telling a returning node what moved off it. Each meeting's
 * RoomDO re-places itself through the same path (onNodeLost → place).
 */
export class RoomMover {
  constructor(private readonly deps: RoomMoverDeps) {}

  /** Writes the node off: no placement, its meetings move now, and it closes them if it returns. */
  async markDown(nodeId: string, why: string): Promise<void> {
    const { store, commands, moves } = this.deps;
    // Closes it was told but never confirmed are remembered as well, for its return.
    const unconfirmedCloses = commands.pending(nodeId, Date.now()).flatMap(({ command }) => (command.command === 'closeMeeting' ? [command.meetingId] : []));
    const meetings = store.markDown(nodeId);
    // Meetings it served a part of: their rooms send its participants elsewhere.
    const parts = notPlaced(store.dropParts(nodeId), meetings);
    commands.forget(nodeId);
    // Whoever waits for its answer hears now that none will come.
    this.deps.answers.abandon(nodeId, why);
    moves.deferToReturn(nodeId);
    moves.record(nodeId, [...unconfirmedCloses, ...meetings, ...parts], null);
    log('warn', 'node.down', { nodeId, rooms: meetings.length, parts: parts.length });
    this.deps.closeSockets(nodeId, why);
    await this.notifyPaced(nodeId, [...meetings, ...parts]);
  }

  /**
   * After a node's report: a draining node hands all its meetings over, an overloaded one some
   * of them (policy thresholds, cooldown between rounds, only when another node can take them).
   */
  async afterReport(nodeId: string, now: number): Promise<void> {
    const { store, moves, policy } = this.deps;
    const node = store.get(nodeId);
    if (!node || node.state === 'down') return;
    const rooms = store.roomsOf(nodeId);
    if (node.state === 'draining') {
      // Parts go too: a node serving part of a meeting would otherwise drain only at its deadline,
      // and drop those participants then as a crash would.
      const parts = notPlaced(store.dropParts(nodeId), rooms);
      if (rooms.length + parts.length === 0) return;
      return this.moveRooms(nodeId, [...rooms, ...parts], 'drain', now);
    }
    // Parts are shed like rooms (after them): a node filled by a large meeting's spill, or by far
    // participants of meetings placed elsewhere, may hold nothing but parts.
    const parts = notPlaced(store.partsOf(nodeId), rooms);
    if (rooms.length + parts.length === 0 || !isOverloaded(node, policy)) return;
    const shed = roomsToShed(node, [...rooms, ...parts], store.live(), { now, lastShedAt: moves.lastShedAt(nodeId) }, policy);
    if (shed.length === 0) return;
    moves.recordShedRound(nodeId, now);
    for (const meetingLinkId of shed) if (parts.includes(meetingLinkId)) store.releasePart(meetingLinkId, nodeId);
    await this.moveRooms(nodeId, shed, 'overload', now);
  }

  /**
   * Meetings a (re)connecting node must close: those it holds or that moved off it while it was
   * down, unless it still serves them (placed there, or a part of them) — and except those moved
   * make-before-break, whose clients are still leaving it (closeDue closes those when their grace
   * ends).
   */
  staleMeetings(nodeId: string, reported: readonly string[]): string[] {
    const { store, moves } = this.deps;
    const leaving = moves.inGrace(nodeId);
    const candidates = new Set([...moves.closeOnReturn(nodeId), ...reported]);
    return [...candidates].filter((meetingLinkId) => !leaving.has(meetingLinkId) && store.assignmentOf(meetingLinkId) !== nodeId && !store.hasPart(meetingLinkId, nodeId));
  }

  /**
   * A node back by heartbeat alone (paused, never written off): the meetings taken from it while it
   * was silent close there, or they would run on two nodes. One read per heartbeat when there are none.
   */
  async closeTakenWhileSilent(nodeId: string): Promise<void> {
    if (this.deps.moves.closeOnReturn(nodeId).length === 0) return;
    await this.closeStaleMeetings(nodeId, this.staleMeetings(nodeId, []));
  }

  /** The node said hello: it is told to close `meetings` (from staleMeetings, taken before the hello). */
  async closeStaleMeetings(nodeId: string, meetings: readonly string[]): Promise<void> {
    const { moves } = this.deps;
    for (const meetingLinkId of moves.closeOnReturn(nodeId)) moves.settle(nodeId, meetingLinkId);
    if (meetings.length === 0) return;
    log('warn', 'node.stale_meetings', { nodeId, meetings: meetings.length });
    for (const meetingId of meetings) await this.deps.sendCommand(nodeId, { command: 'closeMeeting', meetingId, reason: MOVED_AWAY, why: 'moved', closedAt: Date.now() });
  }

  /**
   * On the alarm: rooms whose paced notice is due are told their node is gone; make-before-break
   * graces that ended: the old node closes the meeting (unless it got it back).
   */
  async closeDue(now: number): Promise<void> {
    const { store, moves } = this.deps;
    const notices = moves.noticesDue(now);
    for (const nodeId of new Set(notices.map((notice) => notice.nodeId))) {
      await this.notifyRooms(nodeId, notices.filter((notice) => notice.nodeId === nodeId).map((notice) => notice.meetingLinkId));
    }
    for (const { nodeId, meetingLinkId } of moves.due(now)) {
      moves.settle(nodeId, meetingLinkId);
      if (store.assignmentOf(meetingLinkId) === nodeId || store.hasPart(meetingLinkId, nodeId)) continue;
      await this.deps.sendCommand(nodeId, { command: 'closeMeeting', meetingId: meetingLinkId, reason: MOVED_AWAY, why: 'moved', closedAt: now });
    }
  }

  /**
   * Meetings (placed there, or a part of them) leave a live node: their rooms place them anew or
   * send the part's participants on, and the old node closes them after a grace.
   */
  private async moveRooms(nodeId: string, meetings: readonly string[], why: MoveReason, now: number): Promise<void> {
    const { store, moves } = this.deps;
    for (const meetingLinkId of meetings) store.release(meetingLinkId, nodeId);
    const closeAt = now + MIGRATION_GRACE_MS;
    moves.record(nodeId, meetings, closeAt);
    await this.deps.scheduleCheck(closeAt);
    log('info', 'node.rooms_moved', { nodeId, why, rooms: meetings.length });
    await this.notifyPaced(nodeId, meetings);
  }

  /**
   * Tells the rooms to move at the registry's pace (room-moves.ts paceNotice): the first second's
   * worth now, the rest from the alarm — a lost region's rooms must not all ask the next regions'
   * registries at once.
   */
  private async notifyPaced(nodeId: string, meetings: readonly string[]): Promise<void> {
    const { moves } = this.deps;
    const now = Date.now();
    const immediate = moves.queueNotices(nodeId, meetings, now);
    if (immediate.length < meetings.length) await this.deps.scheduleCheck(moves.nextDue() ?? now);
    await this.notifyRooms(nodeId, immediate);
  }

  /**
   * Each room re-places itself (at once when people are connected, else on its next join). A node
   * still alive (draining, overloaded) is leaving: its part serves on while its participants move.
   */
  private async notifyRooms(nodeId: string, meetings: readonly string[]): Promise<void> {
    if (meetings.length === 0) return;
    const leaving = (this.deps.store.get(nodeId)?.state ?? 'down') !== 'down';
    const results = await Promise.allSettled(meetings.map((meetingId) => roomStub(this.deps.env, meetingId).onNodeLost(nodeId, leaving)));
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) log('error', 'node.down_notify_failed', { nodeId, failed });
  }
}

/** The meetings among a node's parts that are not placed on it too (those move as its rooms). */
function notPlaced(parts: readonly string[], placedHere: readonly string[]): string[] {
  const placed = new Set(placedHere);
  return parts.filter((meetingLinkId) => !placed.has(meetingLinkId));
}
