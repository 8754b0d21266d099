import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import type { User } from '../../schema/wire/http.js';
import { accountStub } from '../durable-objects.js';
import type { AppEnv } from '../http/app-env.js';
import { sessionTokenUserId } from './session-token.js';

/**
 * Session check at the edge: the token names its AccountDO, which answers from its own storage —
 * no Postgres. `optionalAuth` lets guests through (c.var.user undefined); `requireAuth` answers
 * UNAUTHENTICATED without a valid session.
 */
export const optionalAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  await authenticate(c, false);
  await next();
};

export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  await authenticate(c, true);
  await next();
};

/** The signed-in user of a route behind requireAuth. */
export function currentUser(c: Context<AppEnv>): User {
  const user = c.get('user');
  if (!user) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return user;
}

async function authenticate(c: Context<AppEnv>, required: boolean): Promise<void> {
  c.set('user', undefined);
  c.set('sessionToken', undefined);
  const token = bearerToken(c.req.header('Authorization'));
  if (!token) {
    if (required) throw new AppError('UNAUTHENTICATED', 'missing Authorization: Bearer <session token>');
    return;
  }
  const userId = sessionTokenUserId(token);
  const user = userId ? await accountStub(c.env, userId).verifySession(token) : null;
  if (!user) {
    // A stale token on an optional route is treated like no token, so guests still get in.
    if (required) throw new AppError('UNAUTHENTICATED', 'session is invalid or has ended; sign in again');
    return;
  }
  c.set('user', user);
  c.set('sessionToken', token);
}

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match ? match[1]! : null;
}
