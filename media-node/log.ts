import { pino, type Logger } from 'pino';
import type { FieldsArgument, LogContext, NodeLogEvent } from './log-events.js';

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * The node's structured JSON log (pino underneath). Takes only the events of log-events.ts with
 * their fields: `log.info('room opened', { workerPid })` writes `{"msg":"room opened","workerPid":…}`.
 * Children bind context ids (meetingId, participantId, …) to every line.
 */
export class Log {
  private constructor(private readonly logger: Logger) {}

  /** A typed log over an existing pino logger (e.g. one a recorder test made). */
  static wrap(logger: Logger): Log {
    return new Log(logger);
  }

  debug<E extends NodeLogEvent>(event: E, ...fields: FieldsArgument<E>): void {
    this.write('debug', event, fields);
  }

  info<E extends NodeLogEvent>(event: E, ...fields: FieldsArgument<E>): void {
    this.write('info', event, fields);
  }

  warn<E extends NodeLogEvent>(event: E, ...fields: FieldsArgument<E>): void {
    this.write('warn', event, fields);
  }

  error<E extends NodeLogEvent>(event: E, ...fields: FieldsArgument<E>): void {
    this.write('error', event, fields);
  }

  fatal<E extends NodeLogEvent>(event: E, ...fields: FieldsArgument<E>): void {
    this.write('fatal', event, fields);
  }

  child(context: LogContext): Log {
    return new Log(this.logger.child(context));
  }

  /** The pino logger underneath: handed to the recorder, which types its own events over it. */
  get pino(): Logger {
    return this.logger;
  }

  private write(level: Level, event: NodeLogEvent, [fields]: [object?]): void {
    if (fields) this.logger[level](fields, event);
    else this.logger[level](event);
  }
}

export function createLog(level: string, nodeId: string): Log {
  return Log.wrap(pino({ level, base: { nodeId } }));
}
