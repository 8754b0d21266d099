import { describe, expect, it } from 'vitest';
import { IP_REGISTER_POLICY } from '../../auth/rate-limit.js';
import { api, uniqueEmail } from '../helpers.js';

/** Issue 13, point 8: the registration limit's answer says "try again later" once. */
describe('registration limit message', () => {
  it('tells the client to come back later without repeating itself', async () => {
    const ip = `198.51.100.9-${crypto.randomUUID().slice(0, 8)}`;
    const register = () => api('POST', '/api/auth/register', { json: { email: uniqueEmail('reg'), displayName: 'Reg', password: 'correct horse battery' }, headers: { 'CF-Connecting-IP': ip } });
    for (let i = 0; i < IP_REGISTER_POLICY.maxFailures; i++) expect((await register()).status).toBe(201);
    const refused = await register();
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    const message: string = refused.body.error.message;
    expect(message.match(/try again/g)).toHaveLength(1);
    expect(message).not.toMatch(/(\b.+\b);\s*\1/);
  });
});
