import { describe, expect, it } from 'vitest';
import { addressBlock } from '../../http/client-ip.js';
import { ACCOUNT_LOGIN_POLICY, IP_LOGIN_POLICY, IP_REGISTER_POLICY } from '../../auth/rate-limit.js';
import { api, registerUser, uniqueEmail } from '../helpers.js';

/**
 * The sign-in and registration limits: they must not tell which emails have accounts, and one
 * IPv6 client (a /64, the smallest block a network hands out) must not get a fresh allowance per
 * address it picks.
 */
const address = () => `203.0.113.9-${crypto.randomUUID().slice(0, 8)}`;
const login = (email: string, password: string) => api('POST', '/api/auth/login', { json: { email, password }, headers: { 'CF-Connecting-IP': address() } });

async function codesFor(email: string): Promise<string[]> {
  const codes: string[] = [];
  // Each attempt from its own address: the per-IP limit never applies.
  for (let i = 0; i < ACCOUNT_LOGIN_POLICY.maxFailures + 1; i++) codes.push((await login(email, 'wrong-password')).body.error.code);
  return codes;
}

describe('login answers do not reveal which emails have accounts', () => {
  it('answers an unknown email exactly as a registered one after repeated wrong passwords', async () => {
    const { user } = await registerUser('Known');
    const known = await codesFor(user.email);
    const unknown = await codesFor(uniqueEmail('nobody'));
    expect(known).toEqual(unknown);
    expect(known.at(-1)).toBe('RATE_LIMITED');
  });
});

const prefix = () => `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;

describe('per-address limits and IPv6', () => {
  it('counts an IPv6 address as its /64, and IPv4 as it is', () => {
    expect(addressBlock('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(addressBlock('2001:DB8:A:B::9')).toBe('2001:db8:a:b::/64');
    expect(addressBlock('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBlock('::1')).toBe('0:0:0:0::/64');
    expect(addressBlock('203.0.113.9')).toBe('203.0.113.9');
    expect(addressBlock('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
  });
  it('refuses registrations beyond the limit from one /64', async () => {
    const net = prefix();
    const statuses: number[] = [];
    for (let i = 1; i <= IP_REGISTER_POLICY.maxFailures + 1; i++) {
      const response = await api('POST', '/api/auth/register', {
        json: { email: uniqueEmail('v6'), displayName: 'Six', password: 'correct horse battery' },
        headers: { 'CF-Connecting-IP': `${net}::${i.toString(16)}` },
      });
      statuses.push(response.status);
    }
    expect(statuses.at(-1)).toBe(429);
  });

  it('refuses failed sign-ins beyond the limit from one /64', async () => {
    const net = prefix();
    const codes: string[] = [];
    for (let i = 1; i <= IP_LOGIN_POLICY.maxFailures + 1; i++) {
      const response = await api('POST', '/api/auth/login', { json: { email: uniqueEmail('nobody'), password: 'whatever1' }, headers: { 'CF-Connecting-IP': `${net}::${i.toString(16)}` } });
      codes.push(response.body.error.code);
    }
    expect(codes.at(-1)).toBe('RATE_LIMITED');
  });
});
