import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../schema/wire/history.js';
import { meetingSchema, recordingDownloadResponseSchema, recordingListResponseSchema } from '../../schema/wire/http.js';
import { edgeConfig } from '../config.js';
import { grantRecordingUpload } from '../files/recording-grants.js';
import { mintNodeCredential } from '../registry/credentials.js';
import { api, registerUser } from './helpers.js';
import { asDeliveries, deliver, participantRows } from './history-fixtures.js';

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The recordings API end to end inside workerd: a node uploads a file (node credential → R2), the
 * node's status reaches Postgres through the history queue consumer (as the RoomDO's outbox sends
 * it), and people list the meeting's recordings and play the file through a signed link.
 */
describe('recordings API', () => {
  it('lists a meeting’s recordings for its host and participants only, and plays them through signed links', async () => {
    const host = await registerUser('Host');
    const guest = await registerUser('Guest');
    const stranger = await registerUser('Stranger');
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Recorded' } });
    const meeting = meetingSchema.parse(created.body.meeting);
    const recordingId = crypto.randomUUID();

    // The room asked node media-lon-1 to record (it granted the upload); the node uploads the composite.
    await grantRecordingUpload(env.FILES, { recordingId, nodeId: 'media-lon-1', meetingLinkId: meeting.linkId });
    const bytes = new Uint8Array(200_000);
    for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    const credential = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId: 'media-lon-1', region: 'lon' });
    const upload = await SELF.fetch(`http://edgemeet.test/api/nodes/recordings/${recordingId}/files/composite.mp4`, {
      method: 'PUT',
      body: bytes,
      headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'video/mp4', 'x-content-sha256': sha256 },
    });
    expect(upload.status).toBe(201);
    const receipt = (await upload.json()) as { key: string; bytes: number; sha256: string };
    expect(receipt).toEqual({ key: `recordings/${recordingId}/composite.mp4`, bytes: bytes.length, sha256 });

    // What the RoomDO's outbox sends: the guest joined; the recording went recording → ready.
    const base = { meetingId: meeting.id, meetingLinkId: meeting.linkId };
    const now = Date.now();
    const records: HistoryRecord[] = [
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 60_000, participantId: 'guest-participant-1', userId: guest.user.id, displayName: 'Guest', role: 'participant' },
      { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 30_000, recordingId, status: 'recording', durationMs: null, files: [], error: null },
      {
        kind: 'recording',
        key: crypto.randomUUID(),
        ...base,
        at: now,
        recordingId,
        status: 'ready',
        durationMs: 30_000,
        files: [{ key: receipt.key, kind: 'composite', contentType: 'video/mp4', bytes: receipt.bytes, sha256: receipt.sha256 }],
        error: null,
      },
    ];
    // Removed by the host: no longer among those who may see the recordings; back in after the
    // host lifted the removal, again among them.
    const removed = await registerUser('Removed');
    const forgiven = await registerUser('Forgiven');
    records.push(
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 50_000, participantId: 'removed-participant-1', userId: removed.user.id, displayName: 'Removed', role: 'participant' },
      { kind: 'participantLeft', key: crypto.randomUUID(), ...base, at: now - 40_000, participantId: 'removed-participant-1', reason: 'removed' },
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 50_000, participantId: 'forgiven-participant-1', userId: forgiven.user.id, displayName: 'Forgiven', role: 'participant' },
      { kind: 'participantLeft', key: crypto.randomUUID(), ...base, at: now - 45_000, participantId: 'forgiven-participant-1', reason: 'removed' },
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 20_000, participantId: 'forgiven-participant-2', userId: forgiven.user.id, displayName: 'Forgiven', role: 'participant' },
    );
    const delivered = await deliver(asDeliveries(records));
    expect(delivered.retryMessages).toEqual([]);
    const removedView = await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: removed.token });
    expect({ status: removedView.status, code: removedView.body.error?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect((await api('GET', `/api/recordings/${recordingId}/download`, { token: removed.token })).status).toBe(403);
    expect((await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: forgiven.token })).status).toBe(200);

    const asHost = await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: host.token });
    expect(asHost.status).toBe(200);
    const [listed] = recordingListResponseSchema.parse(asHost.body).recordings;
    expect(listed).toMatchObject({ id: recordingId, meetingId: meeting.id, status: 'ready', durationMs: 30_000, bytes: bytes.length, error: null });
    expect((await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: guest.token })).status).toBe(200);
    const refused = await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: stranger.token });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await api('GET', `/api/meetings/${meeting.linkId}/recordings`)).status).toBe(401);
    expect((await api('GET', `/api/recordings/${recordingId}/download`, { token: stranger.token })).status).toBe(403);
    expect((await api('GET', `/api/recordings/${crypto.randomUUID()}/download`, { token: host.token })).body.error.code).toBe('RECORDING_NOT_FOUND');

    // A signed link, then a seek (Range) as a <video> element would do.
    const link = recordingDownloadResponseSchema.parse((await api('GET', `/api/recordings/${recordingId}/download`, { token: guest.token })).body);
    expect(link.url.startsWith(`http://edgemeet.test/api/recordings/${recordingId}/files/composite.mp4?`)).toBe(true);
    expect(new Date(link.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const whole = await SELF.fetch(link.url);
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(bytes);
    const part = await SELF.fetch(link.url, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(100, 200));
    expect((await SELF.fetch(link.url.replace(/sig=[^&]+/, 'sig=' + 'A'.repeat(43)))).status).toBe(403);
  });

  it('someone the host removed cannot list or download the recordings, even though another session of theirs (a second device) joined later and left normally', async () => {
    const host = await registerUser('Host Two Devices');
    const removed = await registerUser('Removed Two Devices');
    const meeting = meetingSchema.parse((await api('POST', '/api/meetings', { token: host.token, json: { title: 'Recorded' } })).body.meeting);
    const base = { meetingId: meeting.id, meetingLinkId: meeting.linkId };
    const now = Date.now();
    const recordingId = crypto.randomUUID();
    // What the room's outbox sends: the person joins on a laptop, then also on a phone; the phone
    // leaves; the host removes the laptop session (only the sessions still joined are marked
    // removed — the phone's row stays 'left', and it joined after the laptop).
    const records: HistoryRecord[] = [
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 60_000, participantId: 'laptop-1', userId: removed.user.id, displayName: 'Removed', role: 'participant' },
      { kind: 'participantJoined', key: crypto.randomUUID(), ...base, at: now - 50_000, participantId: 'phone-01', userId: removed.user.id, displayName: 'Removed', role: 'participant' },
      { kind: 'participantLeft', key: crypto.randomUUID(), ...base, at: now - 45_000, participantId: 'phone-01', reason: 'left' },
      { kind: 'participantLeft', key: crypto.randomUUID(), ...base, at: now - 40_000, participantId: 'laptop-1', reason: 'removed' },
      { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 30_000, recordingId, status: 'recording', durationMs: null, files: [], error: null },
    ];
    expect((await deliver(asDeliveries(records))).retryMessages).toEqual([]);
    expect((await participantRows(meeting.id)).map((row) => [row.participantId, row.leaveReason]).sort()).toEqual([['laptop-1', 'removed'], ['phone-01', 'left']]);
    const listed = await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: removed.token });
    expect({ status: listed.status, code: listed.body.error?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect((await api('GET', `/api/recordings/${recordingId}/download`, { token: removed.token })).status).toBe(403);
  });

  it('says when a recording is not whole (incomplete + notes); the room’s own deadline keeps the node’s files and length, and the node’s later verdict wins', async () => {
    const host = await registerUser('Host');
    const meeting = meetingSchema.parse((await api('POST', '/api/meetings', { token: host.token, json: { title: 'Partly recorded' } })).body.meeting);
    const base = { meetingId: meeting.id, meetingLinkId: meeting.linkId };
    const list = async () => recordingListResponseSchema.parse((await api('GET', `/api/meetings/${meeting.linkId}/recordings`, { token: host.token })).body).recordings;
    const composite = (recordingId: string) => ({ key: `recordings/${recordingId}/composite.mp4`, kind: 'composite' as const, contentType: 'video/mp4', bytes: 5_000, sha256: 'c'.repeat(64) });
    const now = Date.now();

    // Incomplete: failed, but its files play, and the notes say what is missing.
    const partial = crypto.randomUUID();
    const notes = ["Ann's microphone: missing from 0:02 to 0:05 (silence there)"];
    await grantRecordingUpload(env.FILES, { recordingId: partial, nodeId: 'media-lon-1', meetingLinkId: meeting.linkId });
    const partialRecords: HistoryRecord[] = [
      { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 20_000, recordingId: partial, status: 'recording', durationMs: null, files: [], error: null },
      { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 10_000, recordingId: partial, status: 'failed', durationMs: 9_000, files: [composite(partial)], error: 'the recording is not whole', incomplete: true, notes },
    ];
    expect((await deliver(asDeliveries(partialRecords))).retryMessages).toEqual([]);
    expect((await list()).find((r) => r.id === partial)).toMatchObject({ status: 'failed', incomplete: true, notes, durationMs: 9_000, bytes: 5_000 });
    // Its composite can still be played.
    expect((await api('GET', `/api/recordings/${partial}/download`, { token: host.token })).status).toBe(200);

    // The node reported uploading with its files, then went quiet: the room's deadline marks it
    // failed without files or length (it has neither); what the node said stays.
    const quiet = crypto.randomUUID();
    const deadlineNote = 'The media node did not finish this recording in time (last reported: uploading); it may still arrive later.';
    await deliver(
      asDeliveries([
        { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 9_000, recordingId: quiet, status: 'recording', durationMs: null, files: [], error: null },
        { kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 8_000, recordingId: quiet, status: 'uploading', durationMs: 7_000, files: [composite(quiet)], error: null },
      ]),
    );
    await deliver(asDeliveries([{ kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 7_000, recordingId: quiet, status: 'failed', durationMs: null, files: [], error: 'the media node did not finish the recording in time', notes: [deadlineNote] }]));
    expect((await list()).find((r) => r.id === quiet)).toMatchObject({ status: 'failed', incomplete: false, notes: [deadlineNote], durationMs: 7_000, files: [composite(quiet)] });
    // …and the node's verdict, when it comes, replaces the room's.
    await deliver(asDeliveries([{ kind: 'recording', key: crypto.randomUUID(), ...base, at: now - 1_000, recordingId: quiet, status: 'ready', durationMs: 7_000, files: [composite(quiet)], error: null }]));
    expect((await list()).find((r) => r.id === quiet)).toMatchObject({ status: 'ready', incomplete: false, notes: [], error: null });
  });
});
