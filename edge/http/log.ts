/**
 * Structured logs for the Worker: one JSON line per event, with context ids as fields.
 * (pino is for Node; in workerd console output is collected per line.)
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function log(level: Level, event: string, fields: LogFields = {}): void {
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
