import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signDownload } from '../../routes/recording-links.js';
import { edgeConfig } from '../../config.js';
import { finishRecordingUpload, grantRecordingUpload } from '../../files/recording-grants.js';
import { mintNodeCredential } from '../../registry/credentials.js';
import { randomBytes, toBase64Url } from '../../auth/encoding.js';

/**
 * Issue 13, point 13: a recording's files are written only by the node that recorded it, only
 * until the recording is finished, never over a stored file; and they are served with our own
 * content type as downloads.
 */
const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (bytes: Uint8Array) => hex(await crypto.subtle.digest('SHA-256', bytes));
const base = 'http://edgemeet.test/api/nodes/recordings';

async function nodeAuth(nodeId: string) {
  return { Authorization: `Bearer ${await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId, region: 'lon' })}` };
}

/** A recording the RoomDO asked `nodeId` to make. */
async function startedRecording(nodeId: string) {
  const recordingId = crypto.randomUUID();
  await grantRecordingUpload(env.FILES, { recordingId, nodeId, meetingLinkId: toBase64Url(randomBytes(16)) });
  return recordingId;
}

async function put(nodeId: string, recordingId: string, name: string, bytes: Uint8Array, contentType = 'video/webm') {
  return SELF.fetch(`${base}/${recordingId}/files/${name}`, {
    method: 'PUT',
    body: bytes,
    headers: { ...(await nodeAuth(nodeId)), 'Content-Type': contentType, 'x-content-sha256': await sha256(bytes) },
  });
}

async function multipart(nodeId: string, recordingId: string, name: string, bytes: Uint8Array) {
  const auth = await nodeAuth(nodeId);
  const json = { ...auth, 'Content-Type': 'application/json' };
  const fileUrl = `${base}/${recordingId}/files/${name}/multipart`;
  const started = await SELF.fetch(fileUrl, { method: 'POST', headers: json, body: JSON.stringify({ contentType: 'video/mp4', bytes: bytes.length, sha256: await sha256(bytes) }) });
  const { uploadId } = (await started.json()) as { uploadId: string };
  const partUrl = `${fileUrl}/${encodeURIComponent(uploadId)}/parts/1`;
  const part = await SELF.fetch(partUrl, { method: 'PUT', headers: { ...auth, 'x-content-sha256': await sha256(bytes) }, body: bytes });
  const { etag } = (await part.json()) as { etag: string };
  const complete = () => SELF.fetch(`${fileUrl}/${encodeURIComponent(uploadId)}/complete`, { method: 'POST', headers: json, body: JSON.stringify({ parts: [{ partNumber: 1, etag }] }) });
  return { started, part, complete };
}

const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
const bytesOf = (text: string) => new TextEncoder().encode(text);

describe('recording uploads', () => {
  it('accepts files only from the node that records, and none for a recording nobody started', async () => {
    const recordingId = await startedRecording('media-rec-owner');
    const intruder = await put('media-rec-intruder', recordingId, 'track-1.webm', bytesOf('forged'));
    expect(intruder.status).toBe(403);
    expect(await codeOf(intruder)).toBe('FORBIDDEN');
    expect(await env.FILES.head(`recordings/${recordingId}/track-1.webm`)).toBeNull();

    const intruderParts = await SELF.fetch(`${base}/${recordingId}/files/composite.mp4/multipart`, {
      method: 'POST',
      headers: { ...(await nodeAuth('media-rec-intruder')), 'Content-Type': 'application/json' },
      body: JSON.stringify({ contentType: 'video/mp4', bytes: 10, sha256: await sha256(bytesOf('0123456789')) }),
    });
    expect(intruderParts.status).toBe(403);

    expect((await put('media-rec-owner', recordingId, 'track-1.webm', bytesOf('real track'))).status).toBe(201);

    const unknown = await put('media-rec-owner', crypto.randomUUID(), 'track-1.webm', bytesOf('nobody asked'));
    expect(unknown.status).toBe(404);
    expect(await codeOf(unknown)).toBe('RECORDING_NOT_FOUND');
  });

  it('completes a multipart upload once, and never over a file stored meanwhile', async () => {
    const recordingId = await startedRecording('media-rec-owner');
    const first = await multipart('media-rec-owner', recordingId, 'composite.mp4', bytesOf('the composite'));
    expect(first.started.status).toBe(201);
    expect(first.part.status).toBe(200);
    expect((await first.complete()).status).toBe(201);
    const twice = await first.complete();
    expect(twice.status).toBe(409);
    expect(await codeOf(twice)).toBe('CONFLICT');

    // An upload started before the file was stored by another request cannot replace it.
    const stale = await multipart('media-rec-owner', recordingId, 'track-2.webm', bytesOf('stale bytes'));
    expect((await put('media-rec-owner', recordingId, 'track-2.webm', bytesOf('stored bytes'))).status).toBe(201);
    const over = await stale.complete();
    expect(over.status).toBe(409);
    expect(await (await env.FILES.get(`recordings/${recordingId}/track-2.webm`))!.text()).toBe('stored bytes');
  });

  it('takes no upload into a finished recording', async () => {
    const recordingId = await startedRecording('media-rec-owner');
    const pending = await multipart('media-rec-owner', recordingId, 'composite.mp4', bytesOf('late composite'));
    await finishRecordingUpload(env.FILES, recordingId);
    const late = await put('media-rec-owner', recordingId, 'track-9.webm', bytesOf('late track'));
    expect(late.status).toBe(409);
    expect(await codeOf(late)).toBe('CONFLICT');
    expect((await pending.complete()).status).toBe(409);
    expect(await env.FILES.head(`recordings/${recordingId}/composite.mp4`)).toBeNull();
    expect(await env.FILES.head(`recordings/${recordingId}/track-9.webm`)).toBeNull();
  });

  it('serves files with the content type of our table, as downloads, Range still working', async () => {
    const recordingId = await startedRecording('media-rec-owner');
    const page = bytesOf('<script>alert(document.cookie)</script>');
    expect((await put('media-rec-owner', recordingId, 'page.html', page, 'text/html')).status).toBe(201);
    expect((await put('media-rec-owner', recordingId, 'track-1.webm', bytesOf('webm bytes here'), 'text/html')).status).toBe(201);
    const link = async (name: string) => `http://edgemeet.test${await signDownload(edgeConfig(env).urlSigningSecret, recordingId, name, Math.floor(Date.now() / 1000) + 60)}`;

    const html = await SELF.fetch(await link('page.html'));
    expect(html.status).toBe(200);
    expect(html.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(html.headers.get('Content-Disposition')).toBe('attachment; filename="page.html"');
    expect(html.headers.get('X-Content-Type-Options')).toBe('nosniff');
    await html.arrayBuffer();

    const track = await SELF.fetch(await link('track-1.webm'), { headers: { Range: 'bytes=0-3' } });
    expect(track.status).toBe(206);
    expect(track.headers.get('Content-Type')).toBe('video/webm');
    expect(track.headers.get('Content-Disposition')).toBe('attachment; filename="track-1.webm"');
    expect(await track.text()).toBe('webm');
  });
});
