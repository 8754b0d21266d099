import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../worker.js';
import { meetingPublicSchema, meetingSchema } from '../../schema/wire/http.js';
import { meetings } from '../../schema/db/index.js';
import { api, db, registerUser } from './helpers.js';

async function createMeeting(token: string, json: Record<string, unknown> = { title: 'Standup' }) {
  const response = await api('POST', '/api/meetings', { token, json });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return meetingSchema.parse(response.body.meeting);
}

describe('meetings', () => {
  it('creates a meeting with an unguessable link and a join URL', async () => {
    const host = await registerUser('Host');
    const start = new Date(Date.now() + 3600_000).toISOString();
    const meeting = await createMeeting(host.token, { title: '  Planning ', scheduledStart: start, passcode: 'abc123', allowGuests: false, waitingRoom: true, maxParticipants: 12 });
    expect(meeting).toMatchObject({
      title: 'Planning',
      hostId: host.user.id,
      scheduledStart: start,
      hasPasscode: true,
      passcode: 'abc123',
      allowGuests: false,
      waitingRoom: true,
      maxParticipants: 12,
      status: 'scheduled',
      endedAt: null,
    });
    expect(meeting.linkId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(meeting.joinUrl).toBe(`http://edgemeet.test/m/${meeting.linkId}`);
    const other = await createMeeting(host.token);
    expect(other.linkId).not.toBe(meeting.linkId);
  });

  it('shows the owner view to the host and the public view to anyone else', async () => {
    const host = await registerUser('Owner');
    const stranger = await registerUser('Stranger');
    const meeting = await createMeeting(host.token, { title: 'Secret sauce', passcode: 'pass42' });

    const asHost = await api('GET', `/api/meetings/${meeting.linkId}`, { token: host.token });
    expect(meetingSchema.parse(asHost.body.meeting).passcode).toBe('pass42');

    for (const token of [stranger.token, undefined]) {
      const view = await api('GET', `/api/meetings/${meeting.linkId}`, { token });
      expect(view.status).toBe(200);
      expect(meetingPublicSchema.strict().parse(view.body.meeting)).toEqual({
        linkId: meeting.linkId,
        title: 'Secret sauce',
        hostName: 'Owner',
        scheduledStart: null,
        needsPasscode: true,
        allowGuests: true,
        waitingRoom: false,
        mode: 'meeting',
        status: 'scheduled',
      });
    }
    const missing = await api('GET', '/api/meetings/AAAAAAAAAAAAAAAAAAAAAA');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('MEETING_NOT_FOUND');
  });

  it('lists my upcoming and past meetings only', async () => {
    const host = await registerUser('Lister');
    const other = await registerUser('Other');
    const later = await createMeeting(host.token, { title: 'later', scheduledStart: new Date(Date.now() + 7200_000).toISOString() });
    const sooner = await createMeeting(host.token, { title: 'sooner', scheduledStart: new Date(Date.now() + 3600_000).toISOString() });
    const done = await createMeeting(host.token, { title: 'done' });
    await createMeeting(other.token, { title: 'not mine' });
    expect((await api('POST', `/api/meetings/${done.linkId}/end`, { token: host.token })).status).toBe(200);

    const upcoming = await api('GET', '/api/meetings?scope=upcoming', { token: host.token });
    expect(upcoming.body.meetings.map((m: { title: string }) => m.title)).toEqual(['sooner', 'later']);
    const past = await api('GET', '/api/meetings?scope=past', { token: host.token });
    expect(past.body.meetings.map((m: { linkId: string }) => m.linkId)).toEqual([done.linkId]);
    const all = await api('GET', '/api/meetings', { token: host.token });
    expect(new Set(all.body.meetings.map((m: { linkId: string }) => m.linkId))).toEqual(new Set([later.linkId, sooner.linkId, done.linkId]));
  });

  it('lists a meeting just created among the upcoming ones, however many older ones were never ended', async () => {
    const owner = await registerUser('Busy Bea');
    // 200 earlier meetings people left without "End for all" (a meeting does not end by itself):
    // ad-hoc ones, and ones scheduled weeks ago.
    await db((d) =>
      d.insert(meetings).values(
        Array.from({ length: 200 }, (_, i) => ({
          linkId: `old${crypto.randomUUID().replaceAll('-', '').slice(0, 19)}`,
          hostId: owner.user.id,
          title: `Old ${i}`,
          status: 'live' as const,
          createdAt: new Date(Date.now() - (300 - i) * 86_400_000),
          scheduledStart: i % 2 === 0 ? new Date(Date.now() - (300 - i) * 86_400_000) : null,
        })),
      ),
    );
    const tomorrow = await createMeeting(owner.token, { title: 'Tomorrow', scheduledStart: new Date(Date.now() + 86_400_000).toISOString() });
    const now = await createMeeting(owner.token, { title: 'Now' });
    const upcoming = await api('GET', '/api/meetings?scope=upcoming', { token: owner.token });
    expect(upcoming.status).toBe(200);
    const titles: string[] = upcoming.body.meetings.map((m: { title: string }) => m.title);
    // What is coming up first, then the newest of the rest; the stale ones are what the limit cuts.
    expect(titles.slice(0, 3)).toEqual([tomorrow.title, now.title, 'Old 199']);
    expect(titles).not.toContain('Old 0');
  });

  it('lets only the host update or end, and keeps the RoomDO in step', async () => {
    const host = await registerUser('Boss');
    const intruder = await registerUser('Intruder');
    const meeting = await createMeeting(host.token, { title: 'Board', passcode: 'right1' });

    // The RoomDO was configured: a guest with the wrong passcode is refused by the room itself.
    const wrong = await api('POST', `/api/meetings/${meeting.linkId}/join`, { json: { displayName: 'Guest', passcode: 'wrong1' } });
    expect(wrong.body.error.code).toBe('WRONG_PASSCODE');

    for (const [method, path, json] of [
      ['PATCH', `/api/meetings/${meeting.linkId}`, { title: 'Hijacked' }],
      ['POST', `/api/meetings/${meeting.linkId}/end`, undefined],
    ] as const) {
      const response = await api(method, path, { token: intruder.token, json });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('NOT_HOST');
    }
    expect((await api('GET', `/api/meetings/${meeting.linkId}`, { token: host.token })).body.meeting).toMatchObject({ title: 'Board', status: 'scheduled' });

    const updated = await api('PATCH', `/api/meetings/${meeting.linkId}`, { token: host.token, json: { title: 'Board v2', passcode: null, allowGuests: false } });
    expect(updated.status).toBe(200);
    expect(updated.body.meeting).toMatchObject({ title: 'Board v2', hasPasscode: false, passcode: null, allowGuests: false });
    // New settings reached the room: guests are now refused for being guests.
    const guest = await api('POST', `/api/meetings/${meeting.linkId}/join`, { json: { displayName: 'Guest' } });
    expect(guest.body.error.code).toBe('GUESTS_NOT_ALLOWED');

    const ended = await api('POST', `/api/meetings/${meeting.linkId}/end`, { token: host.token });
    expect(ended.status).toBe(200);
    expect(ended.body.meeting.status).toBe('ended');
    expect(ended.body.meeting.endedAt).not.toBeNull();
    const again = await api('POST', `/api/meetings/${meeting.linkId}/end`, { token: host.token });
    expect(again.body.meeting.endedAt).toBe(ended.body.meeting.endedAt);

    const late = await api('POST', `/api/meetings/${meeting.linkId}/join`, { token: host.token, json: {} });
    expect(late.body.error.code).toBe('MEETING_ENDED');
    const patchEnded = await api('PATCH', `/api/meetings/${meeting.linkId}`, { token: host.token, json: { title: 'too late' } });
    expect(patchEnded.status).toBe(410);
    expect(patchEnded.body.error.code).toBe('MEETING_ENDED');
  });

  it('needs a session to create, list, update or end', async () => {
    const host = await registerUser('Someone');
    const meeting = await createMeeting(host.token);
    for (const [method, path] of [
      ['POST', '/api/meetings'],
      ['GET', '/api/meetings'],
      ['PATCH', `/api/meetings/${meeting.linkId}`],
      ['POST', `/api/meetings/${meeting.linkId}/end`],
    ] as const) {
      const response = await api(method, path, { json: method === 'GET' ? undefined : { title: 'x' } });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers the pre-join view from the edge cache, and purges it on change', async () => {
    const host = await registerUser('Cached');
    const meeting = await createMeeting(host.token, { title: 'Cached title' });
    expect((await api('GET', `/api/meetings/${meeting.linkId}`)).body.meeting.title).toBe('Cached title');

    // With Postgres unreachable, a guest still gets the public view (no Postgres on the join path)…
    const broken = { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/edgemeet' };
    const get = async (token?: string) => {
      const ctx = createExecutionContext();
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      const response = await app.fetch(new Request(`http://edgemeet.test/api/meetings/${meeting.linkId}`, { headers }), broken, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    };
    const guest = await get();
    expect(guest.status).toBe(200);
    expect(((await guest.json()) as { meeting: unknown }).meeting).toMatchObject({ title: 'Cached title', hostName: 'Cached' });
    // …while the host's owner view always comes from Postgres: a clear 503 until it is back.
    const owner = await get(host.token);
    expect(owner.status).toBe(503);
    expect(((await owner.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');

    await api('PATCH', `/api/meetings/${meeting.linkId}`, { token: host.token, json: { title: 'New title', passcode: 'abcdef' } });
    expect((await api('GET', `/api/meetings/${meeting.linkId}`)).body.meeting).toMatchObject({ title: 'New title', needsPasscode: true });
  });
});
