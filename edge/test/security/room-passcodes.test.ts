import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSCODE_PER_MEETING, PASSCODE_PER_SOURCE } from '../../room/attempt-limits.js';
import { api, registerUser } from '../helpers.js';
import { connectFakeNode, type FakeNode } from '../kits/fake-node.js';
import { configureMeeting, joinMeeting } from '../kits/room-kit.js';

/**
 * Issue 13, point 4 (room side): wrong passcodes are limited per meeting and per network (the
 * hashed client address), counted before they are compared, and answered with a code and a wait.
 */
// This file's meetings live in Rio; no other security test places media there.
const RIO = { latitude: '-22.9068', longitude: '-43.1729' };
const PASSCODE = 'Rio2026x';

let host: Awaited<ReturnType<typeof registerUser>>;
let node: FakeNode;
let heartbeat: ReturnType<typeof setInterval>;
beforeAll(async () => {
  host = await registerUser('Host Hugo');
  node = await connectFakeNode({ region: 'rio' });
  // The file outlasts the heartbeat timeout: a node that stays quiet would stop taking meetings.
  heartbeat = setInterval(() => node.heartbeat(), 500);
});
afterAll(() => {
  clearInterval(heartbeat);
  node.retire();
});

const attempt = (linkId: string, passcode: string, ip: string) => joinMeeting(linkId, { displayName: 'Guesser', passcode }, { cf: RIO, ip });

describe('wrong passcodes (point 4)', () => {
  it(`refuses a network after ${PASSCODE_PER_SOURCE.max} wrong ones — even the right one — with a retry time; others are unaffected`, async () => {
    const meeting = await configureMeeting(host.user.id, { passcode: PASSCODE });
    for (let i = 0; i < PASSCODE_PER_SOURCE.max; i++) expect((await attempt(meeting.linkId, `wrong${i}1`, '198.51.100.60')).body.error.code).toBe('WRONG_PASSCODE');
    const limited = await attempt(meeting.linkId, PASSCODE, '198.51.100.60');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/try again in \d+ s/) });
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await attempt(meeting.linkId, PASSCODE, '203.0.113.60')).status).toBe(200);
  });

  it('parallel guesses from one network cannot slip past the limit', async () => {
    const meeting = await configureMeeting(host.user.id, { passcode: PASSCODE });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(meeting.linkId, `guess${i}x`, '198.51.100.61')));
    const codes = answers.map((a) => a.body.error?.code);
    expect(codes.filter((code) => code === 'WRONG_PASSCODE').length).toBeLessThanOrEqual(PASSCODE_PER_SOURCE.max);
    expect(codes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(30 - PASSCODE_PER_SOURCE.max);
  });

  it(`limits the meeting after ${PASSCODE_PER_MEETING.max} wrong ones from anywhere; right ones do not count`, async () => {
    const meeting = await configureMeeting(host.user.id, { passcode: PASSCODE });
    // Right passcodes are given back: many joins never spend the meeting's budget.
    for (let i = 0; i < 10; i++) expect((await attempt(meeting.linkId, PASSCODE, `203.0.113.${i}`)).status).toBe(200);
    for (let i = 0; i < PASSCODE_PER_MEETING.max; i++) {
      expect((await attempt(meeting.linkId, `nope${i}xx`, `198.18.${Math.floor(i / 4)}.${i % 4}`)).body.error.code).toBe('WRONG_PASSCODE');
    }
    const limited = await attempt(meeting.linkId, PASSCODE, '203.0.113.99');
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    // The host never needs the passcode, so is never held up by it.
    expect((await joinMeeting(meeting.linkId, {}, { cf: RIO, token: host.token })).status).toBe(200);
  });
});

describe('new passcodes (point 4)', () => {
  it('are at least 6 characters, on create and on change', async () => {
    const short = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Short code', passcode: 'abcd' } });
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('VALIDATION_FAILED');
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Long code', passcode: 'abc123' } });
    expect(created.status).toBe(201);
    const changed = await api('PATCH', `/api/meetings/${created.body.meeting.linkId}`, { token: host.token, json: { passcode: '12345' } });
    expect(changed.status).toBe(400);
  });
});
