import { Hono, type Context } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import {
  AVATAR_MAX_BYTES,
  AVATAR_MAX_SIDE,
  avatarResponseSchema,
  loginRequestSchema,
  meResponseSchema,
  registerRequestSchema,
  sessionResponseSchema,
  type User,
} from '../../schema/wire/http.js';
import { uuidSchema } from '../../schema/wire/common.js';
import { z } from 'zod';
import { readImageInfo } from '../auth/image-size.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../auth/password.js';
import { ACCOUNT_LOGIN_POLICY, IP_LOGIN_POLICY, IP_REGISTER_POLICY } from '../auth/rate-limit.js';
import { withDb } from '../db/client.js';
import { accountStub, limiterStub } from '../durable-objects.js';
import { findUserByEmail, insertUser, setAvatar, toUser } from '../db/users.js';
import type { AppEnv } from '../http/app-env.js';
import { readBodyCapped } from '../http/body.js';
import { clientIp } from '../http/client-ip.js';
import { RetryLaterError } from '../http/errors.js';
import { defineRoute } from './define-route.js';

/** Accounts: register, login, logout, me, avatar. Users live in Postgres, sessions in AccountDOs. */
export const authRoutes = new Hono<AppEnv>();

const userParamsSchema = z.object({ id: uuidSchema });

defineRoute(authRoutes, {
  method: 'post', path: '/auth/register', tag: 'auth', summary: 'Create an account and sign in (rate-limited per IP)', auth: 'none',
  body: registerRequestSchema, responses: { 201: sessionResponseSchema }, errors: ['EMAIL_TAKEN', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE'],
}, async (c, { body }) => {
  const ipLimiter = limiterStub(c.env, `register-ip:${clientIp(c)}`);
  refuseWhileLimited(await ipLimiter.takeAttempt(IP_REGISTER_POLICY), 'too many new accounts from this address');
  const passwordHash = await hashPassword(body.password);
  const row = await withDb(c.env, (db) => insertUser(db, { email: body.email, displayName: body.displayName, passwordHash }));
  if (!row) throw new AppError('EMAIL_TAKEN', 'an account with this email exists; sign in instead');
  return c.json(await openSession(c, toUser(row)), 201);
});

defineRoute(authRoutes, {
  method: 'post', path: '/auth/login', tag: 'auth', summary: 'Sign in (rate-limited per account and per IP)', auth: 'none',
  body: loginRequestSchema, responses: { 200: sessionResponseSchema }, errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE'],
}, async (c, { body }) => {
  // Each limit hands out a slot before the password is checked (counted as a failure until the
  // attempt proves otherwise), so parallel attempts cannot slip past a limit that is about to fill.
  const ipLimiter = limiterStub(c.env, `login-ip:${clientIp(c)}`);
  const ip = await ipLimiter.reserve(IP_LOGIN_POLICY);
  refuseWhileLimited(ip.retryAfterMs, 'too many failed sign-ins from this address');
  let wrongCredentials = false;
  try {
    const row = await withDb(c.env, (db) => findUserByEmail(db, body.email));
    const account = row ? accountStub(c.env, row.id) : null;
    // An unknown email is limited as an account would be: the answers never tell which emails have one.
    const reserved = account ? await account.reserveLoginAttempt() : await limiterStub(c.env, `login-email:${body.email}`).reserve(ACCOUNT_LOGIN_POLICY);
    refuseWhileLimited(reserved.retryAfterMs, 'too many failed sign-ins for this account');
    const ok = row ? await verifyPassword(body.password, row.passwordHash) : (await burnPasswordCheck(body.password), false);
    if (!row || !account || !ok) {
      wrongCredentials = true;
      throw new AppError('INVALID_CREDENTIALS', 'email or password is wrong');
    }
    await account.recordLoginSuccess();
    return c.json(await openSession(c, toUser(row)), 200);
  } finally {
    // Only a wrong email or password counts against the address.
    if (!wrongCredentials && ip.slot !== null) await ipLimiter.release(ip.slot);
  }
});

defineRoute(authRoutes, {
  method: 'post', path: '/auth/logout', tag: 'auth', summary: 'End this session', auth: 'session', responses: { 204: 'session revoked' },
}, async (c, { user }) => {
  const token = c.get('sessionToken');
  if (token) await accountStub(c.env, user.id).revokeSession(token);
  return c.body(null, 204);
});

defineRoute(authRoutes, {
  method: 'get', path: '/auth/me', tag: 'auth', summary: 'The signed-in user', auth: 'session', responses: { 200: meResponseSchema },
}, (c, { user }) => c.json({ user }));

defineRoute(authRoutes, {
  method: 'put', path: '/auth/avatar', tag: 'auth', auth: 'session',
  summary: `Upload an avatar (PNG/JPEG, ≤ ${AVATAR_MAX_SIDE}×${AVATAR_MAX_SIDE}, ≤ ${AVATAR_MAX_BYTES} bytes)`,
  body: { contentTypes: ['image/png', 'image/jpeg'], description: 'the image bytes' }, responses: { 200: avatarResponseSchema },
  errors: ['UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED', 'NOT_FOUND', 'DATABASE_UNAVAILABLE'],
}, async (c, { user }) => {
  const contentType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'image/png' && contentType !== 'image/jpeg') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'avatar must be image/png or image/jpeg');
  }
  const bytes = await readBodyCapped(c.req.raw, AVATAR_MAX_BYTES, 'avatar');

  const info = readImageInfo(bytes);
  if (!info || info.type !== contentType) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `body is not a ${contentType} image`);
  if (info.width > AVATAR_MAX_SIDE || info.height > AVATAR_MAX_SIDE) {
    throw new AppError('VALIDATION_FAILED', `avatar is ${info.width}×${info.height}; at most ${AVATAR_MAX_SIDE}×${AVATAR_MAX_SIDE} allowed`);
  }

  const key = `avatars/${user.id}`;
  await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: info.type, cacheControl: 'public, max-age=300' } });
  const row = await withDb(c.env, (db) => setAvatar(db, user.id, key, new Date()));
  if (!row) throw new AppError('NOT_FOUND', 'account no longer exists');
  const updated = toUser(row);
  await accountStub(c.env, user.id).updateProfile(updated);
  return c.json({ avatarUrl: updated.avatarUrl! });
});

defineRoute(authRoutes, {
  method: 'get', path: '/users/:id/avatar', tag: 'auth', summary: "A user's avatar image", auth: 'none',
  params: userParamsSchema, responses: { 200: 'image/png or image/jpeg' }, errors: ['NOT_FOUND'],
}, async (c, { params: { id } }) => {
  const object = await c.env.FILES.get(`avatars/${id.toLowerCase()}`);
  if (!object) throw new AppError('NOT_FOUND', 'this user has no avatar');
  const headers = new Headers({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'public, max-age=300' });
  object.writeHttpMetadata(headers);
  headers.set('ETag', object.httpEtag);
  return new Response(object.body, { headers });
});

async function openSession(c: Context<AppEnv>, user: User) {
  const { token, expiresAt } = await accountStub(c.env, user.id).createSession(user);
  return { user, token, expiresAt: new Date(expiresAt).toISOString() };
}

function refuseWhileLimited(retryAfterMs: number, message: string): void {
  if (retryAfterMs > 0) throw new RetryLaterError(`${message}; try again later`, retryAfterMs / 1000);
}
