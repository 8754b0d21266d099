import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError, describeIssues } from '../../schema/wire/errors.js';
import { JSON_BODY_MAX_BYTES } from '../../schema/wire/http.js';
import { readBodyCapped } from './body.js';

const utf8 = new TextDecoder();

/**
 * Parse untrusted request parts with a schema from schema/wire. Bad JSON → BAD_REQUEST, a value
 * that does not match → VALIDATION_FAILED, a JSON body over its cap (JSON_BODY_MAX_BYTES unless
 * the route says otherwise) → PAYLOAD_TOO_LARGE before it is read; nothing is ever cast.
 */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S, options: { optional?: boolean; maxBytes?: number } = {}): Promise<z.output<S>> {
  const text = utf8.decode(await readBodyCapped(c.req.raw, options.maxBytes ?? JSON_BODY_MAX_BYTES, 'JSON body'));
  if (options.optional && text.trim() === '') return parseWith(schema, {});
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError('BAD_REQUEST', 'request body is not valid JSON');
  }
  return parseWith(schema, raw);
}

export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new AppError('VALIDATION_FAILED', describeIssues(result.error));
  return result.data;
}
