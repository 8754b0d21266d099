import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError, describeIssues } from '../../schema/wire/errors.js';

/**
 * Parse untrusted request parts with a schema from schema/wire. Bad JSON → BAD_REQUEST, a body
 * that does not match → VALIDATION_FAILED; nothing is ever cast.
 */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new AppError('BAD_REQUEST', 'request body is not valid JSON');
  }
  return parseWith(schema, raw);
}

export function parseParams<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.param());
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query());
}

export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new AppError('VALIDATION_FAILED', describeIssues(result.error));
  return result.data;
}
