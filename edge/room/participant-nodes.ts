import type { PlacedNode } from '../../schema/wire/node-control.js';
import { regionIdSchema, type RegionId } from '../../schema/regions.js';

/*
 * Which node each participant is sent to when the meeting spreads over several (cascading,
 * docs/cascading.md). Only participants off the meeting's placed node have a row; the table is
 * made by the first such participant, so a meeting on one node keeps none and pays one lookup
 * of the schema per wake to know it.
 */

type Row = { participant_id: string; node_id: string; region: string; signaling_url: string };

export class ParticipantNodes {
  /** Whether the table exists (null: not looked up since this object woke). */
  private exists: boolean | null = null;

  constructor(private readonly sql: SqlStorage) {}

  private hasTable(): boolean {
    this.exists ??= this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'participant_nodes'").toArray().length > 0;
    return this.exists;
  }

  /** Whether the meeting ever sent anyone to a node other than its placed one. */
  everSpread(): boolean {
    return this.hasTable();
  }

  /** The participant goes to `node` rather than the meeting's placed node. */
  set(participantId: string, node: PlacedNode): void {
    if (!this.hasTable()) {
      this.sql.exec('CREATE TABLE IF NOT EXISTS participant_nodes (participant_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, region TEXT NOT NULL, signaling_url TEXT NOT NULL)');
      this.exists = true;
    }
    this.sql.exec('INSERT OR REPLACE INTO participant_nodes VALUES (?, ?, ?, ?)', participantId, node.nodeId, node.region, node.signalingUrl);
  }

  /** The participant's own node, or null when they use the meeting's placed node. */
  get(participantId: string): PlacedNode | null {
    if (!this.hasTable()) return null;
    const row = this.sql.exec<Row>('SELECT * FROM participant_nodes WHERE participant_id = ?', participantId).toArray()[0];
    return row ? { nodeId: row.node_id, region: regionIdSchema.parse(row.region), signalingUrl: row.signaling_url } : null;
  }

  /** The participant uses the meeting's placed node again (or left). */
  delete(participantId: string): void {
    if (this.hasTable()) this.sql.exec('DELETE FROM participant_nodes WHERE participant_id = ?', participantId);
  }

  /** Participants per node of the region (nodes other than the placed one), most first. */
  countsIn(region: RegionId): { nodeId: string; participants: number }[] {
    if (!this.hasTable()) return [];
    return this.sql
      .exec<{ node_id: string; participants: number }>('SELECT node_id, count(*) AS participants FROM participant_nodes WHERE region = ? GROUP BY node_id ORDER BY participants DESC, node_id', region)
      .toArray()
      .map((row) => ({ nodeId: row.node_id, participants: row.participants }));
  }

  /** How many participants use a node other than the placed one. */
  total(): number {
    if (!this.hasTable()) return 0;
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM participant_nodes').one().n;
  }

  /** Everyone sent to a node other than the placed one. */
  participantIds(): Set<string> {
    if (!this.hasTable()) return new Set();
    return new Set(this.sql.exec<{ participant_id: string }>('SELECT participant_id FROM participant_nodes').toArray().map((row) => row.participant_id));
  }

  /** The node is gone: its participants go back to the placed node; answers who they are. */
  dropNode(nodeId: string): string[] {
    if (!this.hasTable()) return [];
    const moved = this.sql.exec<{ participant_id: string }>('SELECT participant_id FROM participant_nodes WHERE node_id = ?', nodeId).toArray();
    this.sql.exec('DELETE FROM participant_nodes WHERE node_id = ?', nodeId);
    return moved.map((row) => row.participant_id);
  }

  clear(): void {
    if (this.hasTable()) this.sql.exec('DELETE FROM participant_nodes');
  }
}
