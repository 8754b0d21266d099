import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { AppError, describeIssues, errorBody, httpStatusOf, type ErrorCode } from '../../schema/wire/errors.js';
import { describeError, log } from './log.js';

/** The one place that turns a thrown value into an HTTP answer: code + message, never a stack. */
export function errorResponse(error: unknown, c: Context): Response {
  if (error instanceof AppError) return respondWith(c, error.code, error.message, retryAfterOf(error));
  if (error instanceof z.core.$ZodError) return respondWith(c, 'VALIDATION_FAILED', describeIssues(error as z.ZodError));
  log('error', 'http.unhandled', { method: c.req.method, path: c.req.path, error: describeError(error) });
  return respondWith(c, 'INTERNAL', 'internal error');
}

export function notFoundResponse(c: Context): Response {
  return respondWith(c, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
}

function respondWith(c: Context, code: ErrorCode, message: string, retryAfterSeconds?: number): Response {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  return c.json(errorBody(code, message), httpStatusOf(code) as ContentfulStatusCode, headers);
}

/** An AppError that tells the client when to come back (Retry-After): rate limits, the database away. */
export class RetryLaterError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code: 'RATE_LIMITED' | 'DATABASE_UNAVAILABLE' = 'RATE_LIMITED',
  ) {
    super(code, message);
  }
}

function retryAfterOf(error: AppError): number | undefined {
  return error instanceof RetryLaterError ? Math.max(1, Math.ceil(error.retryAfterSeconds)) : undefined;
}
