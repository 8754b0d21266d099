import { describe, expect, it } from 'vitest';
import { ACCOUNT_LOGIN_POLICY, IP_LOGIN_POLICY } from '../../auth/rate-limit.js';
import { api, registerUser, uniqueEmail } from '../helpers.js';

/** Issue 13, point 5: a login limit's check and count are one step, so a burst cannot race it. */
const PARALLEL = 60;
const address = () => `203.0.113.7-${crypto.randomUUID().slice(0, 8)}`;
const login = (email: string, password: string, ip: string) => api('POST', '/api/auth/login', { json: { email, password }, headers: { 'CF-Connecting-IP': ip } });

function tally(responses: { status: number; body: { error?: { code: string } } }[]) {
  const codes = responses.map((r) => r.body.error?.code ?? String(r.status));
  return { evaluated: codes.filter((code) => code === 'INVALID_CREDENTIALS').length, limited: codes.filter((code) => code === 'RATE_LIMITED').length };
}

describe('login limits under parallel attempts', () => {
  it(`evaluates at most ${ACCOUNT_LOGIN_POLICY.maxFailures} of ${PARALLEL} parallel wrong passwords for one account`, async () => {
    const { user, password } = await registerUser('Raced');
    // Every attempt from its own address: only the per-account limit applies.
    const responses = await Promise.all(Array.from({ length: PARALLEL }, () => login(user.email, 'wrong-password', address())));
    const { evaluated, limited } = tally(responses);
    expect(evaluated).toBeGreaterThan(0);
    expect(evaluated).toBeLessThanOrEqual(ACCOUNT_LOGIN_POLICY.maxFailures);
    expect(evaluated + limited).toBe(PARALLEL);
    // The account is locked now, even for its own password.
    expect((await login(user.email, password, address())).body.error.code).toBe('RATE_LIMITED');
  });

  it(`evaluates at most ${IP_LOGIN_POLICY.maxFailures} of ${PARALLEL} parallel failed sign-ins from one address`, async () => {
    const ip = address();
    const responses = await Promise.all(Array.from({ length: PARALLEL }, () => login(uniqueEmail('nobody'), 'whatever1', ip)));
    const { evaluated, limited } = tally(responses);
    expect(evaluated).toBeGreaterThan(0);
    expect(evaluated).toBeLessThanOrEqual(IP_LOGIN_POLICY.maxFailures);
    expect(evaluated + limited).toBe(PARALLEL);
  });

  it('a successful sign-in does not use up the address’s allowance', async () => {
    const { user, password } = await registerUser('Regular');
    const ip = address();
    for (let i = 0; i < IP_LOGIN_POLICY.maxFailures + 2; i++) expect((await login(user.email, password, ip)).status).toBe(200);
  });
});
