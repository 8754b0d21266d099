/**
 * The fuzzer's tally, and how one server answer is judged: an internal error, or text that lets
 * internals or the sender's own input through.
 */

export interface FuzzCounters {
  messages: number;
  crashes: number;
  unauthorizedChanges: number;
  serverErrors: number;
  leakedInternals: number;
}

export function newCounters(): FuzzCounters {
  return { messages: 0, crashes: 0, unauthorizedChanges: 0, serverErrors: 0, leakedInternals: 0 };
}

/** The first few findings of each kind, for the report. */
export class Findings {
  readonly counters = newCounters();
  readonly examples: Record<Exclude<keyof FuzzCounters, 'messages'>, string[]> = { crashes: [], unauthorizedChanges: [], serverErrors: [], leakedInternals: [] };

  add(kind: Exclude<keyof FuzzCounters, 'messages'>, example: string): void {
    this.counters[kind] += 1;
    if (this.examples[kind].length < 5) this.examples[kind].push(example.slice(0, 300));
  }
}

/**
 * Marks every string the fuzzer sends, so an answer that carries one back has echoed client
 * input. (Only error texts and close reasons are searched; chat is meant to be repeated.)
 */
export const FUZZ_MARK = 'fz9q';

/** Stack frames, source paths, runtime error names, SQL and the like: internals a client must not see. */
const INTERNAL_TEXT = [
  /\bat \S+ \(/,
  /\.(ts|js|mjs|cjs):\d+/,
  /node_modules|workerd|miniflare|mediasoup-worker/i,
  /\b(TypeError|ReferenceError|RangeError|SyntaxError|SqliteError|SQLITE_\w+)\b/,
  /\b(SELECT|INSERT|UPDATE|DELETE) .*\b(FROM|INTO|SET)\b/,
  /\[object Object\]/,
  /-----BEGIN|"d"\s*:\s*"/,
];

/** Whether a human-readable text from the server leaks internals or echoes what the client sent. */
export function leaks(text: string, secrets: readonly string[] = []): string | null {
  if (text.includes(FUZZ_MARK)) return 'echoes client input';
  for (const pattern of INTERNAL_TEXT) if (pattern.test(text)) return `matches ${pattern}`;
  for (const secret of secrets) if (secret.length >= 8 && text.includes(secret)) return 'contains a secret';
  return null;
}

/** Server-side failure codes: a fuzzed message should never cause one. */
export const SERVER_ERROR_CODES: ReadonlySet<string> = new Set(['INTERNAL']);
/** WebSocket close codes of a server failure (1011: internal error; 4500: our INTERNAL). */
export const SERVER_ERROR_CLOSES: ReadonlySet<number> = new Set([1011, 4500]);

/**
 * Judges one message a participant received on the room socket: errors and close notices are
 * checked for internal failures and leaks.
 */
export function judgeRoomMessage(message: unknown, findings: Findings, where: string, secrets: readonly string[]): void {
  if (typeof message !== 'object' || message === null) return;
  const m = message as { type?: unknown; code?: unknown; message?: unknown; reason?: unknown };
  if (m.type !== 'error' && m.type !== 'closed') return;
  if (typeof m.code === 'string' && SERVER_ERROR_CODES.has(m.code)) findings.add('serverErrors', `${where}: ${JSON.stringify(message)}`);
  const text = typeof m.message === 'string' ? m.message : typeof m.reason === 'string' ? m.reason : '';
  const leak = leaks(text, secrets);
  if (leak) findings.add('leakedInternals', `${where}: ${leak}: ${text}`);
}
