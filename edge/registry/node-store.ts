import { nodeIdentitySchema, nodeLoadSchema, type NodeIdentity, type NodeLoad, type NodeState } from '../../schema/wire/node-control.js';
import type { NodeCandidate } from './placement.js';

export type EffectiveNodeState = NodeState | 'down';

/** How long the fleet keeps showing a written-off node that holds nothing before it is forgotten. */
export const WRITTEN_OFF_RETENTION_MS = 7 * 24 * 3_600_000;

export interface StoredNode extends NodeCandidate {
  identity: NodeIdentity;
  drainDeadline: number | null;
}

type NodeRow = {
  node_id: string;
  identity: string;
  reported_state: string;
  admin_draining: number;
  down: number;
  load: string;
  last_heartbeat_at: number;
  drain_deadline: number | null;
  assigned_rooms: number;
  assigned_since_report: number;
};

/**
 * The RegionDO's registry in its SQLite storage: media nodes (identity, last load, liveness) and
 * which node serves which meeting (the per-node room counts placement reads).
 */
export class NodeStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS nodes (
      node_id TEXT PRIMARY KEY,
      identity TEXT NOT NULL,
      reported_state TEXT NOT NULL,
      admin_draining INTEGER NOT NULL DEFAULT 0,
      drain_deadline INTEGER,
      down INTEGER NOT NULL DEFAULT 0,
      load TEXT NOT NULL,
      last_heartbeat_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS node_rooms (
      meeting_link_id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL,
      assigned_at INTEGER NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS node_rooms_by_node ON node_rooms (node_id)');
    // Parts: nodes serving some of a meeting's participants besides its placed node (cascading,
    // edge/registry/spread.ts). Not counted as rooms: their load shows in the node's heartbeats.
    sql.exec(`CREATE TABLE IF NOT EXISTS node_parts (
      meeting_link_id TEXT NOT NULL,
      node_id TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (meeting_link_id, node_id)
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS node_parts_by_node ON node_parts (node_id)');
    // The node's newest control socket: only its closing says the node is gone.
    sql.exec('CREATE TABLE IF NOT EXISTS node_connections (node_id TEXT PRIMARY KEY, connection_id TEXT NOT NULL)');
  }

  /** A control socket opened for the node; it replaces any earlier one. */
  setConnection(nodeId: string, connectionId: string): void {
    this.sql.exec(
      'INSERT INTO node_connections (node_id, connection_id) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET connection_id = excluded.connection_id',
      nodeId,
      connectionId,
    );
  }

  isCurrentConnection(nodeId: string, connectionId: string): boolean {
    const rows = this.sql.exec<{ connection_id: string }>('SELECT connection_id FROM node_connections WHERE node_id = ?', nodeId).toArray();
    return rows[0]?.connection_id === connectionId;
  }

  /** A node said hello: (re)register it as live with its own state and load. */
  upsertHello(identity: NodeIdentity, state: NodeState, load: NodeLoad, now: number): void {
    this.sql.exec(
      `INSERT INTO nodes (node_id, identity, reported_state, load, last_heartbeat_at, down)
       VALUES (?, ?, ?, ?, ?, 0)
       ON CONFLICT (node_id) DO UPDATE SET identity = excluded.identity, reported_state = excluded.reported_state,
         load = excluded.load, last_heartbeat_at = excluded.last_heartbeat_at, down = 0`,
      identity.nodeId,
      JSON.stringify(identity),
      state,
      JSON.stringify(load),
      now,
    );
  }

  /**
   * Records a heartbeat; answers false for a node that never said hello or was marked down since
   * (it must say hello again, which is when it learns which of its meetings moved).
   */
  recordHeartbeat(nodeId: string, state: NodeState, load: NodeLoad, now: number): boolean {
    const cursor = this.sql.exec(
      'UPDATE nodes SET reported_state = ?, load = ?, last_heartbeat_at = ? WHERE node_id = ? AND down = 0',
      state,
      JSON.stringify(load),
      now,
      nodeId,
    );
    return cursor.rowsWritten > 0;
  }

  /** Every node the registry knows, written-off ones included (the fleet view). */
  list(): StoredNode[] {
    return this.sql.exec<NodeRow>(`${selectNodes()} ORDER BY n.node_id`).toArray().map(toStoredNode);
  }

  /**
   * Nodes not written off: the only ones placement can choose. Placement runs on every room's
   * first join, and each row costs a parse of its identity and load; a region that replaces nodes
   * keeps the written-off ones in the fleet for days.
   */
  live(): StoredNode[] {
    return this.sql.exec<NodeRow>(`${selectNodes('WHERE n.down = 0')} ORDER BY n.node_id`).toArray().map(toStoredNode);
  }

  /**
   * Forgets nodes written off before `before` that hold nothing (retired, or replaced by new
   * ones), so the registry does not keep every node the region ever had. One that comes back
   * later registers afresh with its hello. Answers the forgotten node ids.
   */
  forgetWrittenOff(before: number): string[] {
    const gone = this.sql
      .exec<{ node_id: string }>(
        `SELECT node_id FROM nodes n WHERE down = 1 AND last_heartbeat_at < ?
           AND NOT EXISTS (SELECT 1 FROM node_rooms r WHERE r.node_id = n.node_id)
           AND NOT EXISTS (SELECT 1 FROM node_parts p WHERE p.node_id = n.node_id)`,
        before,
      )
      .toArray()
      .map((row) => row.node_id);
    for (const nodeId of gone) {
      this.sql.exec('DELETE FROM nodes WHERE node_id = ?', nodeId);
      this.sql.exec('DELETE FROM node_connections WHERE node_id = ?', nodeId);
    }
    return gone;
  }

  get(nodeId: string): StoredNode | null {
    const rows = this.sql.exec<NodeRow>(selectNodes('WHERE n.node_id = ?'), nodeId).toArray();
    return rows[0] ? toStoredNode(rows[0]) : null;
  }

  /** Live nodes whose last heartbeat is older than the cutoff. */
  staleNodeIds(cutoff: number): string[] {
    return this.sql
      .exec<{ node_id: string }>('SELECT node_id FROM nodes WHERE down = 0 AND last_heartbeat_at < ?', cutoff)
      .toArray()
      .map((row) => row.node_id);
  }

  /** How many nodes are live (not written off). */
  liveCount(): number {
    return this.sql.exec<{ live: number }>('SELECT count(*) AS live FROM nodes WHERE down = 0').one().live;
  }

  /** Newest heartbeat among live nodes (when the registry last heard from any), or null. */
  latestLiveHeartbeat(): number | null {
    return this.sql.exec<{ latest: number | null }>('SELECT max(last_heartbeat_at) AS latest FROM nodes WHERE down = 0').one().latest;
  }

  /** Oldest heartbeat among live nodes (when the next staleness check is due), or null. */
  oldestLiveHeartbeat(): number | null {
    const row = this.sql.exec<{ oldest: number | null }>('SELECT min(last_heartbeat_at) AS oldest FROM nodes WHERE down = 0').one();
    return row.oldest;
  }

  /** Marks a node down and forgets its rooms; answers the meetings that must move. */
  markDown(nodeId: string): string[] {
    const meetings = this.roomsOf(nodeId);
    this.sql.exec('UPDATE nodes SET down = 1 WHERE node_id = ?', nodeId);
    this.sql.exec('DELETE FROM node_rooms WHERE node_id = ?', nodeId);
    return meetings;
  }

  /** The operator's drain of the node, if one holds: its deadline (null: the node's own timeout). */
  adminDrain(nodeId: string): { deadline: number | null } | null {
    const row = this.sql.exec<{ drain_deadline: number | null }>('SELECT drain_deadline FROM nodes WHERE node_id = ? AND admin_draining = 1', nodeId).toArray()[0];
    return row ? { deadline: row.drain_deadline } : null;
  }

  markDraining(nodeId: string, deadline: number | null): boolean {
    return this.sql.exec('UPDATE nodes SET admin_draining = 1, drain_deadline = ? WHERE node_id = ?', deadline, nodeId).rowsWritten > 0;
  }

  /** Lifts an operator's drain (a node that reports draining itself stays draining). */
  clearDraining(nodeId: string): boolean {
    return this.sql.exec('UPDATE nodes SET admin_draining = 0, drain_deadline = NULL WHERE node_id = ?', nodeId).rowsWritten > 0;
  }

  /** The node's meetings, newest assignment first. */
  roomsOf(nodeId: string): string[] {
    return this.sql
      .exec<{ meeting_link_id: string }>('SELECT meeting_link_id FROM node_rooms WHERE node_id = ? ORDER BY assigned_at DESC, rowid DESC', nodeId)
      .toArray()
      .map((row) => row.meeting_link_id);
  }

  assignmentOf(meetingLinkId: string): string | null {
    const rows = this.sql.exec<{ node_id: string }>('SELECT node_id FROM node_rooms WHERE meeting_link_id = ?', meetingLinkId).toArray();
    return rows[0]?.node_id ?? null;
  }

  assign(meetingLinkId: string, nodeId: string, now: number): void {
    this.sql.exec(
      `INSERT INTO node_rooms (meeting_link_id, node_id, assigned_at) VALUES (?, ?, ?)
       ON CONFLICT (meeting_link_id) DO UPDATE SET node_id = excluded.node_id, assigned_at = excluded.assigned_at`,
      meetingLinkId,
      nodeId,
      now,
    );
  }

  release(meetingLinkId: string, nodeId: string): void {
    this.sql.exec('DELETE FROM node_rooms WHERE meeting_link_id = ? AND node_id = ?', meetingLinkId, nodeId);
  }

  /** The node serves part of the meeting (participants the room spread onto it). */
  addPart(meetingLinkId: string, nodeId: string, now: number): void {
    this.sql.exec('INSERT OR IGNORE INTO node_parts (meeting_link_id, node_id, added_at) VALUES (?, ?, ?)', meetingLinkId, nodeId, now);
  }

  hasPart(meetingLinkId: string, nodeId: string): boolean {
    return this.sql.exec('SELECT 1 FROM node_parts WHERE meeting_link_id = ? AND node_id = ?', meetingLinkId, nodeId).toArray().length > 0;
  }

  /** The meeting no longer uses the node (its part closed, or the meeting ended). */
  releasePart(meetingLinkId: string, nodeId: string): void {
    this.sql.exec('DELETE FROM node_parts WHERE meeting_link_id = ? AND node_id = ?', meetingLinkId, nodeId);
  }

  /** The meetings the node serves a part of, newest part first. */
  partsOf(nodeId: string): string[] {
    return this.sql
      .exec<{ meeting_link_id: string }>('SELECT meeting_link_id FROM node_parts WHERE node_id = ? ORDER BY added_at DESC, rowid DESC', nodeId)
      .toArray()
      .map((row) => row.meeting_link_id);
  }

  /** Forgets every part the node served (it is written off); answers their meetings. */
  dropParts(nodeId: string): string[] {
    const meetings = this.sql
      .exec<{ meeting_link_id: string }>('SELECT meeting_link_id FROM node_parts WHERE node_id = ?', nodeId)
      .toArray()
      .map((row) => row.meeting_link_id);
    this.sql.exec('DELETE FROM node_parts WHERE node_id = ?', nodeId);
    return meetings;
  }
}

/** Nodes (those `where` keeps) with their room counts, in one pass over each node's rooms. */
function selectNodes(where = ''): string {
  return `SELECT n.*, count(r.meeting_link_id) AS assigned_rooms, coalesce(sum(r.assigned_at > n.last_heartbeat_at), 0) AS assigned_since_report
    FROM nodes n LEFT JOIN node_rooms r ON r.node_id = n.node_id ${where} GROUP BY n.node_id`;
}

function toStoredNode(row: NodeRow): StoredNode {
  // Rows were validated on the way in; parse again so a schema change cannot smuggle in bad data.
  const identity = nodeIdentitySchema.parse(JSON.parse(row.identity));
  const load = nodeLoadSchema.parse(JSON.parse(row.load));
  const state: EffectiveNodeState = row.down ? 'down' : row.admin_draining || row.reported_state === 'draining' ? 'draining' : 'serving';
  return {
    nodeId: row.node_id,
    identity,
    state,
    load,
    lastHeartbeatAt: row.last_heartbeat_at,
    assignedRooms: row.assigned_rooms,
    assignedSinceReport: row.assigned_since_report,
    drainDeadline: row.drain_deadline,
  };
}
