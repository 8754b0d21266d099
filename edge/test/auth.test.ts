import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../../schema/db/index.js';
import { ACCOUNT_LOGIN_POLICY, IP_LOGIN_POLICY, IP_REGISTER_POLICY } from '../auth/rate-limit.js';
import { accountStub } from '../durable-objects.js';
import { api, db, registerUser, uniqueEmail } from './helpers.js';

const ip = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;

describe('register / login / logout / me', () => {
  it('registers, signs in, answers me, and revokes the session on logout', async () => {
    const email = uniqueEmail('Mixed.Case');
    const registered = await api('POST', '/api/auth/register', { json: { email, displayName: '  Grace  ', password: 'hunter2hunter2' } });
    expect(registered.status).toBe(201);
    expect(registered.body.user).toMatchObject({ email: email.toLowerCase(), displayName: 'Grace', avatarUrl: null });
    expect(registered.body.token).toMatch(new RegExp(`^${registered.body.user.id}\\.[A-Za-z0-9_-]{43}$`));

    // the password is stored as PBKDF2, never in the clear
    const [row] = await db((d) => d.select().from(users).where(eq(users.id, registered.body.user.id)));
    expect(row!.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(row!.passwordHash).not.toContain('hunter2');

    const login = await api('POST', '/api/auth/login', { json: { email, password: 'hunter2hunter2' }, headers: { 'CF-Connecting-IP': ip() } });
    expect(login.status).toBe(200);
    expect(login.body.token).not.toBe(registered.body.token);

    const me = await api('GET', '/api/auth/me', { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(registered.body.user.id);

    expect((await api('POST', '/api/auth/logout', { token: login.body.token })).status).toBe(204);
    const after = await api('GET', '/api/auth/me', { token: login.body.token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('UNAUTHENTICATED');
    // the other session is untouched
    expect((await api('GET', '/api/auth/me', { token: registered.body.token })).status).toBe(200);
  });

  it('refuses a taken email, a wrong password and an unknown email', async () => {
    const { user, password } = await registerUser('Taken');
    const again = await api('POST', '/api/auth/register', { json: { email: user.email, displayName: 'Other', password } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('EMAIL_TAKEN');

    const wrong = await api('POST', '/api/auth/login', { json: { email: user.email, password: 'not the password' }, headers: { 'CF-Connecting-IP': ip() } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');

    const unknown = await api('POST', '/api/auth/login', { json: { email: uniqueEmail(), password }, headers: { 'CF-Connecting-IP': ip() } });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('refuses forged, malformed and missing tokens', async () => {
    const { user } = await registerUser();
    const forged = `${user.id}.${'A'.repeat(43)}`;
    for (const token of [forged, 'garbage', `${crypto.randomUUID()}.${'B'.repeat(43)}`]) {
      const response = await api('GET', '/api/auth/me', { token });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHENTICATED');
    }
    expect((await api('GET', '/api/auth/me')).body.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('login rate limits', () => {
  it('locks an account after repeated wrong passwords, even for the right one, with Retry-After', async () => {
    const { user, password } = await registerUser('Locked');
    for (let i = 0; i < ACCOUNT_LOGIN_POLICY.maxFailures; i++) {
      // a different IP each time: this is the per-account limit
      const response = await api('POST', '/api/auth/login', { json: { email: user.email, password: 'wrong-password' }, headers: { 'CF-Connecting-IP': ip() } });
      expect(response.body.error.code).toBe('INVALID_CREDENTIALS');
    }
    const limited = await api('POST', '/api/auth/login', { json: { email: user.email, password }, headers: { 'CF-Connecting-IP': ip() } });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(ACCOUNT_LOGIN_POLICY.windowMs / 1000);
  });

  it('limits new accounts per client IP; a refused registration creates nothing', async () => {
    const address = ip();
    const register = (email: string, from = address) =>
      api('POST', '/api/auth/register', { json: { email, displayName: 'Many', password: 'correct horse battery' }, headers: { 'CF-Connecting-IP': from } });
    for (let i = 0; i < IP_REGISTER_POLICY.maxFailures; i++) expect((await register(uniqueEmail('many'))).status).toBe(201);
    const refusedEmail = uniqueEmail('refused');
    const refused = await register(refusedEmail);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('Retry-After'))).toBeLessThanOrEqual(IP_REGISTER_POLICY.windowMs / 1000);
    const login = await api('POST', '/api/auth/login', { json: { email: refusedEmail, password: 'correct horse battery' }, headers: { 'CF-Connecting-IP': ip() } });
    expect(login.body.error.code).toBe('INVALID_CREDENTIALS');
    // another address is not affected
    expect((await register(uniqueEmail('other'), ip())).status).toBe(201);
  });

  it('limits failed sign-ins per client IP across accounts', async () => {
    const address = ip();
    for (let i = 0; i < IP_LOGIN_POLICY.maxFailures; i++) {
      const response = await api('POST', '/api/auth/login', { json: { email: uniqueEmail('nobody'), password: 'whatever1' }, headers: { 'CF-Connecting-IP': address } });
      expect(response.body.error.code).toBe('INVALID_CREDENTIALS');
    }
    const { user, password } = await registerUser('Victim');
    const limited = await api('POST', '/api/auth/login', { json: { email: user.email, password }, headers: { 'CF-Connecting-IP': address } });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    // another address is not affected
    expect((await api('POST', '/api/auth/login', { json: { email: user.email, password }, headers: { 'CF-Connecting-IP': ip() } })).status).toBe(200);
  });
});

describe('sessions live in the AccountDO, hashed', () => {
  it('stores only the SHA-256 of the token', async () => {
    const { user, token } = await registerUser();
    const stub = accountStub(env, user.id);
    const { runInDurableObject } = await import('cloudflare:test');
    const stored = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ token_hash: string }>('SELECT token_hash FROM sessions').toArray());
    expect(stored).toHaveLength(1);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
    expect(stored[0]!.token_hash).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''));
  });
});
