/**
 * Structured logs for the Worker: one JSON line per event, with context ids as fields.
 * (pino is for Node; in workerd console output is collected per line.)
 * Every event and its fields are listed in EdgeLogEvents: what operators query cannot drift
 * from what the code writes. A new event is added there first.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
type Text = string;
/** An optional id or value: absent when not known at the call site. */
type Maybe<T> = T | null | undefined;

export interface EdgeLogEvents {
  // ── HTTP ──
  'http.unhandled': { method: Text; path: Text; error: Text };
  // ── Postgres and the history queue ──
  'db.connect_failed': { error: Text };
  'db.deadline': { error: Text };
  'history.written': { queue: Text; messages: number; records: number };
  'history.retry': { queue: Text; messages: number; attempts: number; error: Text };
  'history.isolating': { queue: Text; messages: number; error: Text };
  'history.dead_lettered': { queue: Text; records: number };
  'history.dead_letter_failed': { queue: Text; records: number; error: Text };
  'history.dlq_retry': { records: number; error: Text };
  // ── region registry (RegionDO) ──
  'node.hello': { nodeId: Text; region: Text; state: Text };
  'node.socket_closed': { nodeId: Maybe<Text>; code: number };
  'node.command_failed': { nodeId: Text; commandId: Text; code: Maybe<Text>; error: Maybe<Text> };
  'node.command_queued': { nodeId: Text; command: Text };
  'node.command_unanswered': { nodeId: Text; command: Text; timeoutMs: number };
  'node.worker_died': { nodeId: Text; pid: number; error: Text };
  'node.event_for_foreign_meeting': { nodeId: Text; meetingId: Text; event: Text };
  'node.down': { nodeId: Text; rooms: number; parts: number };
  /** The alarm fired late or every node went silent together: one more heartbeat interval first. */
  'node.silence_deferred': { why: Text; recheckAt: number };
  'node.down_notify_failed': { nodeId: Text; failed: number };
  'node.drain_not_delivered': { nodeId: Text; code: Text };
  /** Meetings left a live node (drain, overload), make-before-break. */
  'node.rooms_moved': { nodeId: Text; why: Text; rooms: number };
  /** A node came back holding meetings that moved meanwhile; it is told to close them. */
  'node.stale_meetings': { nodeId: Text; meetings: number };
  'node.send_failed': { error: Text };
  'room.placed': { meetingLinkId: Text; nodeId: Text };
  'room.part_placed': { meetingLinkId: Text; nodeId: Text; spill: boolean };
  'room.part_lost': { linkId: Text; nodeId: Text; participants: number };
  'room.part_refused': { linkId: Text; nodeId: Text };
  /** The meeting's connected participants were sent to its new node. */
  'room.moved': { linkId: Text; nodeId: Text; participants: number };
  // ── meetings (RoomDO) ──
  'room.node_event': { event: Text; meetingId: Text };
  'room.message_failed': { type: Text; error: Text };
  'room.place_failed': { linkId: Text; region: Text; error: Text };
  'room.place_newcomer_failed': { linkId: Text; region: Text; error: Text };
  'room.node_command_failed': { nodeId: Text; command: Text; code?: Text; error?: Text };
  'room.timer_failed': { timer: Text; error: Text };
  'room.release_failed': { nodeId: Text; error: Text };
  'room.unreserve_failed': { nodeId: Text; error: Text };
  'room.confirm_failed': { nodeId: Text; error: Text };
  'room.node_replaced': { from: Text; to: Text | null };
  'room.replace_failed': { linkId: Text; code: Text; retryInMs: number };
  'room.send_failed': { error: Text };
  'room.cascade_step_failed': { nodeId: Text; command: Text; code: Text; error: Text };
  'room.cascade_event_ignored': { nodeId: Text; nodeEvent: Text; why: Text };
  'room.cascade_relayed': { producerId: Text; from: Text; to: Text };
  'outbox.send_failed': { pending: number; error: Text };
}

export type EdgeLogEvent = keyof EdgeLogEvents;

export function log<E extends EdgeLogEvent>(level: LogLevel, event: E, fields: EdgeLogEvents[E]): void {
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/**
 * A short description of any thrown value, without stack or payload. Query errors are described
 * by their root cause (Postgres' SQLSTATE and message), not by drizzle's wrapper, which quotes
 * the query's parameters (user content) in its message.
 */
export function describeError(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause instanceof Error; depth++) current = current.cause;
  if (!(current instanceof Error)) return String(current).slice(0, 300);
  const code = (current as { code?: unknown }).code;
  return `${typeof code === 'string' ? `[${code}] ` : ''}${current.name}: ${current.message}`.slice(0, 300);
}
