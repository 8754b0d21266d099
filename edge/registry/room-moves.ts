import { MOVES_PER_SHARD_PER_SECOND } from './shards.js';

/**
 * What the RegionDO remembers about meetings it moved off a node (RegionDO storage), so the old
 * node closes them and no meeting is served by two nodes:
 *  - moved off a node that is down: closed when that node says hello again (closeAt null);
 *  - moved off a live node (drain, overload): closed there once clients had MIGRATION_GRACE_MS to
 *    connect to the new node (make-before-break).
 * Also when each node last shed rooms for overload (the cooldown between rounds), and the rooms
 * still to be told that their node is gone (paced: paceNotice).
 */
export const MIGRATION_GRACE_MS = 20_000;

/**
 * When to tell the next room that its node is gone, given until when notices are queued: one every
 * 1/perSecond s, the first second's worth at once. A region lost at once then reaches the next
 * regions' registries spread over tens of seconds, not as one burst (docs/simulation.md).
 */
export function paceNotice(queuedUntil: number, now: number, perSecond: number = MOVES_PER_SHARD_PER_SECOND): { notifyAt: number; queuedUntil: number } {
  const slot = Math.max(now, queuedUntil);
  return { notifyAt: slot < now + 1_000 ? now : slot, queuedUntil: slot + 1_000 / perSecond };
}

export interface MovedMeeting {
  meetingLinkId: string;
  nodeId: string;
}

/**
 * A graceful close waits for its room's notice (paced: a region's loss can queue minutes of them):
 * closing the old node first would cut its people off before their room moved them.
 */
const NOT_WAITING_FOR_NOTICE = 'NOT EXISTS (SELECT 1 FROM move_notices n WHERE n.meeting_link_id = m.meeting_link_id AND n.node_id = m.node_id)';

export class RoomMoves {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS moved_meetings (
      meeting_link_id TEXT NOT NULL,
      node_id TEXT NOT NULL,
      close_at INTEGER,
      PRIMARY KEY (meeting_link_id, node_id)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS moved_meetings_by_node ON moved_meetings (node_id)');
    sql.exec('CREATE TABLE IF NOT EXISTS node_shed_rounds (node_id TEXT PRIMARY KEY, last_shed_at INTEGER NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS move_notices (
      meeting_link_id TEXT NOT NULL,
      node_id TEXT NOT NULL,
      due_at INTEGER NOT NULL,
      PRIMARY KEY (meeting_link_id, node_id)
    )`);
    // Until when notices are handed out (a notice told at once still takes its place in the pace).
    sql.exec('CREATE TABLE IF NOT EXISTS notice_pace (id INTEGER PRIMARY KEY CHECK (id = 1), queued_until REAL NOT NULL)');
  }

  /**
   * The meetings must leave the node: answers those to tell now; the rest are queued at the pace
   * (noticesDue hands them out, nextDue says when).
   */
  queueNotices(nodeId: string, meetingLinkIds: readonly string[], now: number): string[] {
    const stored = this.sql.exec<{ queued_until: number }>('SELECT queued_until FROM notice_pace WHERE id = 1').toArray()[0];
    let queuedUntil = stored?.queued_until ?? now;
    const immediate: string[] = [];
    for (const meetingLinkId of meetingLinkIds) {
      const paced = paceNotice(queuedUntil, now);
      queuedUntil = paced.queuedUntil;
      if (paced.notifyAt <= now) immediate.push(meetingLinkId);
      else {
        this.sql.exec(
          'INSERT INTO move_notices (meeting_link_id, node_id, due_at) VALUES (?, ?, ?) ON CONFLICT (meeting_link_id, node_id) DO UPDATE SET due_at = excluded.due_at',
          meetingLinkId,
          nodeId,
          Math.ceil(paced.notifyAt),
        );
      }
    }
    this.sql.exec('INSERT INTO notice_pace (id, queued_until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET queued_until = excluded.queued_until', queuedUntil);
    return immediate;
  }

  /** Queued notices whose time has come, taken off the queue. */
  noticesDue(now: number): MovedMeeting[] {
    const due = this.sql
      .exec<{ meeting_link_id: string; node_id: string }>('SELECT meeting_link_id, node_id FROM move_notices WHERE due_at <= ? ORDER BY due_at', now)
      .toArray()
      .map((row) => ({ meetingLinkId: row.meeting_link_id, nodeId: row.node_id }));
    this.sql.exec('DELETE FROM move_notices WHERE due_at <= ?', now);
    // Told only now: its clients get the whole grace from here to leave the old node.
    for (const { meetingLinkId, nodeId } of due) {
      this.sql.exec('UPDATE moved_meetings SET close_at = max(close_at, ?) WHERE meeting_link_id = ? AND node_id = ? AND close_at IS NOT NULL', now + MIGRATION_GRACE_MS, meetingLinkId, nodeId);
    }
    return due;
  }

  /** The meetings left the node; close them there at closeAt (null: when it says hello again). */
  record(nodeId: string, meetingLinkIds: readonly string[], closeAt: number | null): void {
    for (const meetingLinkId of meetingLinkIds) {
      this.sql.exec(
        `INSERT INTO moved_meetings (meeting_link_id, node_id, close_at) VALUES (?, ?, ?)
         ON CONFLICT (meeting_link_id, node_id) DO UPDATE SET close_at = excluded.close_at`,
        meetingLinkId,
        nodeId,
        closeAt,
      );
    }
  }

  /** Moved off the node while it was down: to close as soon as it is back. */
  closeOnReturn(nodeId: string): string[] {
    return this.sql
      .exec<{ meeting_link_id: string }>('SELECT meeting_link_id FROM moved_meetings WHERE node_id = ? AND close_at IS NULL', nodeId)
      .toArray()
      .map((row) => row.meeting_link_id);
  }

  /** Moved off the node while it lived, and its clients are still being given time to leave it. */
  inGrace(nodeId: string): Set<string> {
    const rows = this.sql.exec<{ meeting_link_id: string }>('SELECT meeting_link_id FROM moved_meetings WHERE node_id = ? AND close_at IS NOT NULL', nodeId).toArray();
    return new Set(rows.map((row) => row.meeting_link_id));
  }

  /** Graceful closes whose time has come; not one whose room has not been told yet (its notice still queued). */
  due(now: number): MovedMeeting[] {
    return this.sql
      .exec<{ meeting_link_id: string; node_id: string }>(`SELECT meeting_link_id, node_id FROM moved_meetings m WHERE close_at IS NOT NULL AND close_at <= ? AND ${NOT_WAITING_FOR_NOTICE}`, now)
      .toArray()
      .map((row) => ({ meetingLinkId: row.meeting_link_id, nodeId: row.node_id }));
  }

  /** When the next graceful close or queued notice is due, or null. */
  nextDue(): number | null {
    const close = this.sql.exec<{ next: number | null }>(`SELECT min(close_at) AS next FROM moved_meetings m WHERE close_at IS NOT NULL AND ${NOT_WAITING_FOR_NOTICE}`).one().next;
    const notice = this.sql.exec<{ next: number | null }>('SELECT min(due_at) AS next FROM move_notices').one().next;
    return close === null ? notice : notice === null ? close : Math.min(close, notice);
  }

  /** The node went down before a graceful close was sent: close it when the node is back instead. */
  deferToReturn(nodeId: string): void {
    this.sql.exec('UPDATE moved_meetings SET close_at = NULL WHERE node_id = ?', nodeId);
  }

  /** The close was sent (the command queue keeps it until the node answers), or is moot. */
  settle(nodeId: string, meetingLinkId: string): void {
    this.sql.exec('DELETE FROM moved_meetings WHERE node_id = ? AND meeting_link_id = ?', nodeId, meetingLinkId);
  }

  /** The node is forgotten (NodeStore.forgetWrittenOff): its moves and shed rounds go with it. */
  forget(nodeId: string): void {
    this.sql.exec('DELETE FROM moved_meetings WHERE node_id = ?', nodeId);
    this.sql.exec('DELETE FROM node_shed_rounds WHERE node_id = ?', nodeId);
  }

  lastShedAt(nodeId: string): number | null {
    const rows = this.sql.exec<{ last_shed_at: number }>('SELECT last_shed_at FROM node_shed_rounds WHERE node_id = ?', nodeId).toArray();
    return rows[0]?.last_shed_at ?? null;
  }

  recordShedRound(nodeId: string, now: number): void {
    this.sql.exec(
      'INSERT INTO node_shed_rounds (node_id, last_shed_at) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET last_shed_at = excluded.last_shed_at',
      nodeId,
      now,
    );
  }
}
