import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../schema/wire/history.js';
import { meetingSchema, recordingDownloadResponseSchema, recordingListResponseSchema } from '../../schema/wire/http.js';
import { edgeConfig } from '../config.js';
import { grantRecordingUpload } from '../files/recording-grants.js';
import { deriveNodeCredential } from '../registry/credentials.js';
import { api, registerUser } from './helpers.js';
import { asDeliveries, deliver } from './history-fixtures.js';

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
    const credential = await deriveNodeCredential(edgeConfig(env).nodeCredentialSecret, 'media-lon-1');
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
    const delivered = await deliver(asDeliveries(records));
    expect(delivered.retryMessages).toEqual([]);

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
});
