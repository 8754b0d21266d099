import { nodeCommandSchema, type NodeCommand, type NodeCommandData, type NodeUpMessage } from '../../schema/wire/node-control.js';
import type { RpcResult } from '../../schema/wire/socket-frame.js';
import { log } from '../http/log.js';

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

/** How long sendCommandAndWait waits for the node's commandResult before answering an error. */
export const COMMAND_ANSWER_TIMEOUT_MS = 10_000;

/** A node's answer to a command: done (with the data some commands answer) or refused. */
export type CommandOutcome = RpcResult<{ data?: NodeCommandData }>;

/**
 * Callers waiting for a node's answer to their command, by command id. In memory only: the RPC in
 * flight keeps the RegionDO alive meanwhile, and a waiter whose answer never comes times out (or
 * is answered when its node is written off).
 */
export class CommandAnswers {
  private readonly waiters = new Map<string, { nodeId: string; answer: (outcome: CommandOutcome) => void }>();

  /** The node's answer to `commandId`, or MEDIA_ERROR after timeoutMs (the command stays queued). */
  wait(nodeId: string, commandId: string, what: NodeCommand['command'], timeoutMs: number): Promise<CommandOutcome> {
    return new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(commandId);
        log('warn', 'node.command_unanswered', { nodeId, command: what, timeoutMs });
        resolve({ ok: false, code: 'MEDIA_ERROR', message: `node ${nodeId} did not answer ${what} within ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiters.set(commandId, {
        nodeId,
        answer: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      });
    });
  }

  /**
   * The node is written off (its socket closed, its heartbeats stopped): its answers will never
   * come, so every caller still waiting on it is answered now (NODE_NOT_FOUND) rather than at its
   * timeout — a cascade step in flight to a dead node held every other node of the meeting.
   */
  abandon(nodeId: string, why: string): void {
    for (const [commandId, waiter] of this.waiters) {
      if (waiter.nodeId !== nodeId) continue;
      this.waiters.delete(commandId);
      waiter.answer({ ok: false, code: 'NODE_NOT_FOUND', message: `node ${nodeId} is gone (${why})` });
    }
  }

  /** A commandResult arrived from `nodeId`: its waiter (if any, and only for that node's command) gets it. */
  settle(nodeId: string, result: Extract<NodeUpMessage, { type: 'commandResult' }>): void {
    const waiter = this.waiters.get(result.commandId);
    if (!waiter || waiter.nodeId !== nodeId) return;
    this.waiters.delete(result.commandId);
    waiter.answer(
      result.ok
        ? { ok: true, value: result.data ? { data: result.data } : {} }
        : { ok: false, code: result.error?.code ?? 'INTERNAL', message: result.error?.message ?? 'the node refused the command' },
    );
  }
}
