import type { z } from 'zod';
import { describeIssues, type ErrorCode } from './errors.js';

/**
 * Parsing of JSON WebSocket frames against a discriminated-union schema, shared by every socket
 * the edge reads (browser ↔ RoomDO, node ↔ RegionDO).
 */

/** Largest WebSocket frame either Durable Object reads; anything bigger is refused unread. */
export const MAX_SOCKET_MESSAGE_BYTES = 64 * 1024;

export type ParsedMessage<T> = { ok: true; message: T } | { ok: false; code: ErrorCode; message: string; ref?: string };

/**
 * Parses one WebSocket frame with a discriminated-union schema. Never throws: a bad frame becomes
 * a stable code (BAD_REQUEST for non-JSON, UNKNOWN_MESSAGE for a type the schema lacks,
 * VALIDATION_FAILED for a known type with bad fields, PAYLOAD_TOO_LARGE) for the sender.
 */
export function parseSocketMessage<S extends z.ZodType>(
  schema: S,
  knownTypes: ReadonlySet<string>,
  frame: string | ArrayBuffer,
  discriminator = 'type',
): ParsedMessage<z.output<S>> {
  if (typeof frame !== 'string') return { ok: false, code: 'BAD_REQUEST', message: 'binary frames are not accepted; send JSON text' };
  if (utf8LengthExceeds(frame, MAX_SOCKET_MESSAGE_BYTES)) return { ok: false, code: 'PAYLOAD_TOO_LARGE', message: `messages are limited to ${MAX_SOCKET_MESSAGE_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(frame);
  } catch {
    return { ok: false, code: 'BAD_REQUEST', message: 'message is not valid JSON' };
  }
  const ref = refOf(raw);
  const type = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[discriminator] : undefined;
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    return { ok: false, code: 'UNKNOWN_MESSAGE', message: `unknown message ${discriminator}; expected one of ${[...knownTypes].join(', ')}`, ...(ref ? { ref } : {}) };
  }
  const result = schema.safeParse(raw);
  if (!result.success) return { ok: false, code: 'VALIDATION_FAILED', message: describeIssues(result.error), ...(ref ? { ref } : {}) };
  return { ok: true, message: result.data };
}

/**
 * Whether `text` takes more than `limit` bytes as UTF-8 (what the wire carries), not UTF-16
 * code units: one unit is 1 to 3 bytes (a surrogate pair is 4 bytes for 2 units), so only a
 * string between limit / 3 and limit units needs counting, and the count stops at the limit.
 * (Counted by hand: schema/ runs in the browser, the Worker and Node alike, without DOM types.)
 */
export function utf8LengthExceeds(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3; // the rest of the BMP, and a lone surrogate (sent as U+FFFD)
  }
  return bytes > limit;
}

/** The client's correlation ref, echoed on errors even when the rest of the message is bad. */
function refOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const ref = (raw as Record<string, unknown>).ref;
  return typeof ref === 'string' && ref.length <= 64 ? ref : undefined;
}

/** Types listed in a zod discriminated union (for the UNKNOWN_MESSAGE check). */
export function unionTypes(schema: { options: readonly { shape: Record<string, unknown> }[] }, discriminator = 'type'): ReadonlySet<string> {
  const types = new Set<string>();
  for (const option of schema.options) {
    const literal = option.shape[discriminator] as { value?: unknown } | undefined;
    if (literal && typeof literal.value === 'string') types.add(literal.value);
  }
  return types;
}

/** Result of a Durable Object RPC: errors cross the RPC boundary as data, keeping their code. */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };
