import { regionIdSchema, type RegionId } from '../../schema/regions.js';
import { mediaKindSchema, mediaSourceSchema, type MediaKind, type MediaSource } from '../../schema/wire/common.js';

/*
 * A meeting's media graph over several nodes (docs/cascading.md), in the RoomDO's SQLite storage:
 * it outlives hibernation and eviction, and each change is one synchronous write. The tables are
 * created on first use, so rooms that never see a node event keep none.
 */

export interface CascadeNode {
  nodeId: string;
  region: RegionId;
  /** A participant connected there (its part of the meeting is open): it gets every producer. */
  roomOpen: boolean;
}

export interface CascadeProducer {
  producerId: string;
  originNodeId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
}

/** A node holding a relayed copy of a producer, and the node it came from over their pipe. */
export interface CascadeCopy {
  producerId: string;
  nodeId: string;
  viaNodeId: string;
}

/** The key of the pipe between two nodes (one per pair, whichever opened it). */
export function pipeKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

type NodeRow = { node_id: string; region: string; room_open: number };
type ProducerRow = { producer_id: string; origin_node_id: string; participant_id: string; kind: string; source: string; paused: number };
type CopyRow = { producer_id: string; node_id: string; via_node_id: string };

export class CascadeGraph {
  private ready = false;

  constructor(private readonly sql: SqlStorage) {}

  private get db(): SqlStorage {
    if (!this.ready) {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS cascade_nodes (node_id TEXT PRIMARY KEY, region TEXT NOT NULL, room_open INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS cascade_producers (
        producer_id TEXT PRIMARY KEY, origin_node_id TEXT NOT NULL, participant_id TEXT NOT NULL,
        kind TEXT NOT NULL, source TEXT NOT NULL, paused INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS cascade_pipes (pair TEXT PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS cascade_admitted (node_id TEXT PRIMARY KEY, region TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS cascade_copies (
        producer_id TEXT NOT NULL, node_id TEXT NOT NULL, via_node_id TEXT NOT NULL, PRIMARY KEY (producer_id, node_id))`);
      this.ready = true;
    }
    return this.sql;
  }

  // ── nodes ────────────────────────────────────────────────────────────────────────────────

  /** A node the room sends participants to besides its placed one (spread). */
  admit(nodeId: string, region: RegionId): void {
    this.db.exec('INSERT OR REPLACE INTO cascade_admitted (node_id, region) VALUES (?, ?)', nodeId, region);
  }

  isAdmitted(nodeId: string): boolean {
    return this.db.exec('SELECT 1 FROM cascade_admitted WHERE node_id = ?', nodeId).toArray().length > 0;
  }

  admitted(): { nodeId: string; region: RegionId }[] {
    return this.db
      .exec<{ node_id: string; region: string }>('SELECT node_id, region FROM cascade_admitted ORDER BY rowid')
      .toArray()
      .map((row) => ({ nodeId: row.node_id, region: regionIdSchema.parse(row.region) }));
  }

  dismiss(nodeId: string): void {
    this.db.exec('DELETE FROM cascade_admitted WHERE node_id = ?', nodeId);
  }

  node(nodeId: string): CascadeNode | null {
    const row = this.db.exec<NodeRow>('SELECT * FROM cascade_nodes WHERE node_id = ?', nodeId).toArray()[0];
    return row ? toNode(row) : null;
  }

  nodes(): CascadeNode[] {
    return this.db.exec<NodeRow>('SELECT * FROM cascade_nodes ORDER BY rowid').toArray().map(toNode);
  }

  /** Records the node (its region as last heard), open when `open`; answers whether it just opened. */
  markNode(nodeId: string, region: RegionId, open: boolean): boolean {
    const before = this.node(nodeId);
    this.db.exec(
      'INSERT INTO cascade_nodes (node_id, region, room_open) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET region = excluded.region, room_open = MAX(room_open, excluded.room_open)',
      nodeId,
      region,
      open ? 1 : 0,
    );
    return open && !before?.roomOpen;
  }

  /** The node's part is gone: it, its pipes and the copies it held. */
  dropNode(nodeId: string): void {
    this.db.exec('DELETE FROM cascade_nodes WHERE node_id = ?', nodeId);
    this.db.exec('DELETE FROM cascade_pipes WHERE a = ? OR b = ?', nodeId, nodeId);
    this.db.exec('DELETE FROM cascade_copies WHERE node_id = ?', nodeId);
  }

  // ── producers ────────────────────────────────────────────────────────────────────────────

  producer(producerId: string): CascadeProducer | null {
    const row = this.db.exec<ProducerRow>('SELECT * FROM cascade_producers WHERE producer_id = ?', producerId).toArray()[0];
    return row ? toProducer(row) : null;
  }

  producers(): CascadeProducer[] {
    return this.db.exec<ProducerRow>('SELECT * FROM cascade_producers ORDER BY rowid').toArray().map(toProducer);
  }

  /** The participant's producers, wherever they originate. */
  producersOf(participantId: string): CascadeProducer[] {
    return this.db.exec<ProducerRow>('SELECT * FROM cascade_producers WHERE participant_id = ? ORDER BY rowid', participantId).toArray().map(toProducer);
  }

  addProducer(producer: CascadeProducer): void {
    this.db.exec(
      'INSERT OR REPLACE INTO cascade_producers (producer_id, origin_node_id, participant_id, kind, source, paused) VALUES (?, ?, ?, ?, ?, ?)',
      producer.producerId,
      producer.originNodeId,
      producer.participantId,
      producer.kind,
      producer.source,
      producer.paused ? 1 : 0,
    );
  }

  setPaused(producerId: string, paused: boolean): void {
    this.db.exec('UPDATE cascade_producers SET paused = ? WHERE producer_id = ?', paused ? 1 : 0, producerId);
  }

  dropProducer(producerId: string): void {
    this.db.exec('DELETE FROM cascade_producers WHERE producer_id = ?', producerId);
    this.db.exec('DELETE FROM cascade_copies WHERE producer_id = ?', producerId);
  }

  // ── pipes and copies ─────────────────────────────────────────────────────────────────────

  hasPipe(a: string, b: string): boolean {
    return this.db.exec('SELECT 1 FROM cascade_pipes WHERE pair = ?', pipeKey(a, b)).toArray().length > 0;
  }

  /** Both ends are open and connected to each other. */
  addPipe(a: string, b: string): void {
    this.db.exec('INSERT OR IGNORE INTO cascade_pipes (pair, a, b) VALUES (?, ?, ?)', pipeKey(a, b), a, b);
  }

  /** The nodes with a pipe to `nodeId`. */
  pipePeers(nodeId: string): string[] {
    return this.db
      .exec<{ a: string; b: string }>('SELECT a, b FROM cascade_pipes WHERE a = ? OR b = ? ORDER BY rowid', nodeId, nodeId)
      .toArray()
      .map((row) => (row.a === nodeId ? row.b : row.a));
  }

  /** Copies of the producer, in the order they were made (a copy's source was made before it). */
  copiesOf(producerId: string): CascadeCopy[] {
    return this.db.exec<CopyRow>('SELECT * FROM cascade_copies WHERE producer_id = ? ORDER BY rowid', producerId).toArray().map(toCopy);
  }

  /** Copies that came over a pipe from `viaNodeId`. */
  copiesVia(viaNodeId: string): CascadeCopy[] {
    return this.db.exec<CopyRow>('SELECT * FROM cascade_copies WHERE via_node_id = ? ORDER BY rowid', viaNodeId).toArray().map(toCopy);
  }

  addCopy(copy: CascadeCopy): void {
    this.db.exec('INSERT OR REPLACE INTO cascade_copies (producer_id, node_id, via_node_id) VALUES (?, ?, ?)', copy.producerId, copy.nodeId, copy.viaNodeId);
  }

  dropCopy(producerId: string, nodeId: string): void {
    this.db.exec('DELETE FROM cascade_copies WHERE producer_id = ? AND node_id = ?', producerId, nodeId);
  }

  /** Nodes holding the producer: its origin first, then its copies. */
  holders(producer: CascadeProducer): string[] {
    return [producer.originNodeId, ...this.copiesOf(producer.producerId).map((copy) => copy.nodeId)];
  }

  /** The meeting ended: nothing of its graph is kept. */
  clear(): void {
    for (const table of ['cascade_nodes', 'cascade_admitted', 'cascade_producers', 'cascade_pipes', 'cascade_copies']) this.db.exec(`DELETE FROM ${table}`);
  }
}

function toNode(row: NodeRow): CascadeNode {
  return { nodeId: row.node_id, region: regionIdSchema.parse(row.region), roomOpen: row.room_open === 1 };
}

function toProducer(row: ProducerRow): CascadeProducer {
  return {
    producerId: row.producer_id,
    originNodeId: row.origin_node_id,
    participantId: row.participant_id,
    kind: mediaKindSchema.parse(row.kind),
    source: mediaSourceSchema.parse(row.source),
    paused: row.paused === 1,
  };
}

function toCopy(row: CopyRow): CascadeCopy {
  return { producerId: row.producer_id, nodeId: row.node_id, viaNodeId: row.via_node_id };
}
