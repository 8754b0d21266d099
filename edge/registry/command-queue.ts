import { nodeCommandSchema, type NodeCommand } from '../../schema/wire/node-control.js';

/**
 * Commands to a node are kept (RegionDO storage) until the node answers their commandResult, and
 * sent again when it says hello after a reconnect: a removal or a mute issued while the node's
 * socket was briefly down still reaches it. A node that stays away is marked down by the
 * heartbeat alarm (and its meetings move), so a command older than COMMAND_TTL_MS is moot.
 */
export const COMMAND_TTL_MS = 60_000;

export interface QueuedCommand {
  commandId: string;
  command: NodeCommand;
}

export class NodeCommandQueue {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS node_commands (
      command_id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL,
      command TEXT NOT NULL,
      queued_at INTEGER NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS node_commands_by_node ON node_commands (node_id, queued_at)');
  }

  add(nodeId: string, command: NodeCommand, now: number): string {
    const commandId = crypto.randomUUID();
    this.sql.exec('INSERT INTO node_commands (command_id, node_id, command, queued_at) VALUES (?, ?, ?, ?)', commandId, nodeId, JSON.stringify(command), now);
    return commandId;
  }

  /** What the node has not confirmed yet, oldest first (expired ones dropped). */
  pending(nodeId: string, now: number): QueuedCommand[] {
    this.sql.exec('DELETE FROM node_commands WHERE queued_at < ?', now - COMMAND_TTL_MS);
    return this.sql
      .exec<{ command_id: string; command: string }>('SELECT command_id, command FROM node_commands WHERE node_id = ? ORDER BY queued_at, rowid', nodeId)
      .toArray()
      .map((row) => ({ commandId: row.command_id, command: nodeCommandSchema.parse(JSON.parse(row.command)) }));
  }

  /** The node answered (done or failed): never send it again. False if it was not queued for this node. */
  settle(nodeId: string, commandId: string): boolean {
    return this.sql.exec('DELETE FROM node_commands WHERE command_id = ? AND node_id = ?', commandId, nodeId).rowsWritten > 0;
  }

  /** The node is gone for good (down): its meetings move, its commands are moot. */
  forget(nodeId: string): void {
    this.sql.exec('DELETE FROM node_commands WHERE node_id = ?', nodeId);
  }
}
