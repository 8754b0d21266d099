import { env } from 'cloudflare:test';
import { count, eq, like } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { meetings, users } from '../../schema/db/index.js';
import { app } from '../worker.js';
import { api, db, registerUser } from './helpers.js';

const BAD_JSON = '{"email": "a@b.c", ';

async function expectCode(response: { status: number; body: any }, status: number, code: string) {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(typeof response.body.error.message).toBe('string');
  expect(JSON.stringify(response.body)).not.toMatch(/at .+\.(ts|js):\d+/); // no stack traces
}

describe('malformed requests get a 4xx with a code and change nothing', () => {
  it('auth routes', async () => {
    const marker = `malformed-${crypto.randomUUID()}`;
    const headers = { 'Content-Type': 'application/json' };
    await expectCode(await api('POST', '/api/auth/register', { body: BAD_JSON, headers }), 400, 'BAD_REQUEST');
    await expectCode(await api('POST', '/api/auth/register', { body: '', headers }), 400, 'BAD_REQUEST');
    for (const json of [
      { email: `${marker}@x.test`, displayName: 'Twenty-one characters', password: 'long enough pw' },
      { email: `${marker}@x.test`, displayName: 'Ok', password: 'short' },
      { email: 'not an email', displayName: 'Ok', password: 'long enough pw' },
      { email: `${marker}@x.test`, displayName: '   ', password: 'long enough pw' },
      // Valid by length, but Postgres cannot store a NUL (was a 500).
      { email: `${marker}@x.test`, displayName: 'Nu\u0000l', password: 'long enough pw' },
      [1, 2, 3],
      null,
    ]) {
      await expectCode(await api('POST', '/api/auth/register', { json }), 400, 'VALIDATION_FAILED');
    }
    const [created] = await db((d) => d.select({ n: count() }).from(users).where(like(users.email, `${marker}%`)));
    expect(created!.n).toBe(0);

    await expectCode(await api('POST', '/api/auth/login', { body: BAD_JSON, headers }), 400, 'BAD_REQUEST');
    await expectCode(await api('POST', '/api/auth/login', { json: { email: 'x@y.z' } }), 400, 'VALIDATION_FAILED');
    await expectCode(await api('GET', '/api/users/not-a-uuid/avatar'), 400, 'VALIDATION_FAILED');
    await expectCode(await api('POST', '/api/auth/logout', { token: 'nope' }), 401, 'UNAUTHENTICATED');
  });

  it('meeting routes', async () => {
    const host = await registerUser('Careful');
    const token = host.token;
    const headers = { 'Content-Type': 'application/json' };
    const created = await api('POST', '/api/meetings', { token, json: { title: 'Original', passcode: 'keep12' } });
    const linkId = created.body.meeting.linkId as string;
    const countMine = async () => (await db((d) => d.select({ n: count() }).from(meetings).where(eq(meetings.hostId, host.user.id))))[0]!.n;

    await expectCode(await api('POST', '/api/meetings', { token, body: BAD_JSON, headers }), 400, 'BAD_REQUEST');
    for (const json of [{}, { title: '' }, { title: 'x', maxParticipants: 1 }, { title: 'x', passcode: 'no!' }, { title: 'x', scheduledStart: 'tomorrow' }, { title: 'x', allowGuests: 'yes' },
      // Valid by the schema's shape, refused by Postgres (were 500s): a NUL, ISO's year 0000.
      { title: 'Plan\u0000ning' }, { title: 'x', scheduledStart: '0000-01-01T00:00:00Z' }]) {
      await expectCode(await api('POST', '/api/meetings', { token, json }), 400, 'VALIDATION_FAILED');
    }
    expect(await countMine()).toBe(1);

    await expectCode(await api('GET', '/api/meetings?scope=someday', { token }), 400, 'VALIDATION_FAILED');
    await expectCode(await api('GET', '/api/meetings/short'), 400, 'VALIDATION_FAILED');
    await expectCode(await api('PATCH', '/api/meetings/short', { token, json: { title: 'x' } }), 400, 'VALIDATION_FAILED');
    await expectCode(await api('PATCH', `/api/meetings/${linkId}`, { token, body: BAD_JSON, headers }), 400, 'BAD_REQUEST');
    for (const json of [{}, { title: 'ok', maxParticipants: 5000 }, { passcode: 'bad code!' }, { waitingRoom: 1 }, { title: 'N\u0000' }, { scheduledStart: '0000-06-01T00:00:00+02:00' }]) {
      await expectCode(await api('PATCH', `/api/meetings/${linkId}`, { token, json }), 400, 'VALIDATION_FAILED');
    }
    await expectCode(await api('POST', '/api/meetings/%20%20/end', { token }), 400, 'VALIDATION_FAILED');
    const after = await api('GET', `/api/meetings/${linkId}`, { token });
    expect(after.body.meeting).toMatchObject({ title: 'Original', passcode: 'keep12', maxParticipants: 100, waitingRoom: false, status: 'scheduled' });
  });

  it('unknown API routes answer NOT_FOUND', async () => {
    await expectCode(await api('GET', '/api/nope'), 404, 'NOT_FOUND');
    await expectCode(await api('DELETE', '/api/meetings'), 404, 'NOT_FOUND');
  });

  it('Postgres unreachable answers 503 DATABASE_UNAVAILABLE with Retry-After, and no driver detail', async () => {
    const broken = { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/edgemeet' };
    const response = await app.request('/api/auth/login', { method: 'POST', body: JSON.stringify({ email: 'a@b.test', password: 'x' }), headers: { 'CF-Connecting-IP': crypto.randomUUID() } }, broken);
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('5');
    expect(await response.json()).toEqual({ error: { code: 'DATABASE_UNAVAILABLE', message: 'the database is unreachable right now; try again shortly' } });
  });

  it('unexpected failures answer a plain INTERNAL 500', async () => {
    // A binding that throws (here: object storage gone) must not leak its error.
    const broken = { ...env, FILES: { get: () => Promise.reject(new Error('R2 exploded at /secret/path')) } };
    const response = await app.request(`/api/users/${crypto.randomUUID()}/avatar`, {}, broken);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
});
