import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDownload } from '../../../edge/routes/recording-links.js';
import { EdgeUploader, uploadConfirmed } from '../uploader.js';
import { startEdgeUploadTarget, type EdgeUploadTarget } from './edge-upload-target.js';
import { log, tempDir } from './helpers.js';

const RECORDING = '7e3f9a10-2b4c-4d5e-8f60-718293a4b5c6';

describe('edge recordings routes in workerd (Miniflare + R2)', () => {
  let target: EdgeUploadTarget;
  let file: string;
  let bytes: Buffer;
  beforeAll(async () => {
    target = await startEdgeUploadTarget();
    bytes = randomBytes(300_000);
    file = path.join(await tempDir('edgemeet-edge-routes-'), 'track.webm');
    await writeFile(file, bytes);
  });
  afterAll(async () => {
    await target?.close();
  });

  const put = (name: string, body: Buffer, headers: Record<string, string>) =>
    fetch(`${target.url}/api/nodes/recordings/${RECORDING}/files/${name}`, { method: 'PUT', body, headers: { 'content-type': 'video/webm', ...headers } });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('stores an upload and confirms size + sha256; a retry of the same bytes gets the same receipt', async () => {
    const uploader = new EdgeUploader(target.url, target.nodeCredential);
    const input = { recordingId: RECORDING, name: 'ok-000.webm', path: file, contentType: 'video/webm', bytes: bytes.length, sha256: sha(bytes) };
    const receipt = await uploadConfirmed(uploader, input, log);
    expect(receipt).toEqual({ key: `recordings/${RECORDING}/ok-000.webm`, bytes: bytes.length, sha256: sha(bytes) });
    expect((await target.stored(receipt.key))?.equals(bytes)).toBe(true);
    expect(await uploadConfirmed(uploader, input, log)).toEqual(receipt);
  });

  it('refuses a body that does not match its sha256, a bad credential and a bad name — storing nothing', async () => {
    const wrongHash = await put('corrupt-000.webm', bytes, { authorization: `Bearer ${target.nodeCredential}`, 'x-content-sha256': sha(Buffer.from('other')) });
    expect(wrongHash.status).toBe(400);
    expect(await target.stored(`recordings/${RECORDING}/corrupt-000.webm`)).toBeNull();

    const forged = await put('forged-000.webm', bytes, { authorization: `Bearer ${target.nodeCredential.slice(0, -2)}xx`, 'x-content-sha256': sha(bytes) });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('INVALID_CREDENTIALS');

    const badName = await put('..hidden', bytes, { authorization: `Bearer ${target.nodeCredential}`, 'x-content-sha256': sha(bytes) });
    expect(badName.status).toBe(400);

    const different = await put('ok-000.webm', randomBytes(10), { authorization: `Bearer ${target.nodeCredential}`, 'x-content-sha256': sha(randomBytes(10)) });
    expect(different.status).toBe(409);
  });

  it('serves a signed link with Range (206) for playback, and refuses tampered or expired links', async () => {
    const now = Math.floor(Date.now() / 1000);
    const link = await signDownload(target.signingSecret, RECORDING, 'ok-000.webm', now + 60);
    const whole = await fetch(`${target.url}${link}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const part = await fetch(`${target.url}${link}`, { headers: { Range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);

    const tail = await fetch(`${target.url}${link}`, { headers: { Range: 'bytes=-500' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 500))).toBe(true);

    const otherFile = link.replace('ok-000.webm', 'corrupt-000.webm');
    expect((await fetch(`${target.url}${otherFile}`)).status).toBe(403);
    const expired = await signDownload(target.signingSecret, RECORDING, 'ok-000.webm', now - 1);
    expect((await fetch(`${target.url}${expired}`)).status).toBe(403);
    const forged = await signDownload('another-secret', RECORDING, 'ok-000.webm', now + 60);
    expect((await fetch(`${target.url}${forged}`)).status).toBe(403);
  });
});
