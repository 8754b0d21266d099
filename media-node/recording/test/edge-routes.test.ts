import { createHash, randomBytes } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDownload } from '../../../edge/routes/recording-links.js';
import { EdgeUploader, isPermanentUploadError, uploadConfirmed, UploadRefusedError } from '../uploader.js';
import { startEdgeUploadTarget, type EdgeUploadTarget } from './edge-upload-target.js';
import { log, tempDir } from './helpers.js';

const RECORDING = '7e3f9a10-2b4c-4d5e-8f60-718293a4b5c6';

describe('edge recordings routes in workerd (Miniflare + R2)', () => {
  let target: EdgeUploadTarget;
  let file: string;
  let bytes: Buffer;
  beforeAll(async () => {
    target = await startEdgeUploadTarget();
    await target.grant(RECORDING);
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

  it('uploads a file past 15 MiB whole (a few minutes of composite): its request gets a longer time limit, a whole number of ms', async () => {
    const large = randomBytes(16 * 1024 * 1024 + 12_345);
    const largeFile = path.join(path.dirname(file), 'large-composite.mp4');
    await writeFile(largeFile, large);
    const uploader = new EdgeUploader(target.url, target.nodeCredential);
    const receipt = await uploadConfirmed(uploader, { recordingId: RECORDING, name: 'large-composite.mp4', path: largeFile, contentType: 'video/mp4', bytes: large.length, sha256: sha(large) }, log);
    expect(receipt.bytes).toBe(large.length);
    expect((await target.stored(receipt.key))?.equals(large)).toBe(true);
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

  it('a refusal no retry can change (recording final, never started) fails at once and says so; files stay', async () => {
    const finished = '7e3f9a10-2b4c-4d5e-8f60-718293a4b5c7';
    await target.grant(finished);
    await target.finish(finished);
    const outcomes: unknown[] = [];
    const inner = new EdgeUploader(target.url, target.nodeCredential);
    const recording = { name: 'recording', upload: (input: Parameters<typeof inner.upload>[0]) => inner.upload(input).catch((error: unknown) => Promise.reject(outcomes.push(error) && error)) };
    const input = (recordingId: string) => ({ recordingId, name: 'late-000.webm', path: file, contentType: 'video/webm', bytes: bytes.length, sha256: sha(bytes) });
    const closed = await uploadConfirmed(recording, input(finished), log).catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(UploadRefusedError);
    expect(closed).toMatchObject({ status: 409 });
    expect(isPermanentUploadError(closed)).toBe(true);
    // No attempt after the refusal (a transient error before it, on a loaded box, is retried).
    expect(outcomes.at(-1)).toBe(closed);
    expect(outcomes.filter(isPermanentUploadError)).toHaveLength(1);
    const neverStarted = await uploadConfirmed(recording, input('7e3f9a10-2b4c-4d5e-8f60-718293a4b5c8'), log).catch((error: unknown) => error);
    expect(neverStarted).toMatchObject({ status: 404 });
    expect(isPermanentUploadError(neverStarted)).toBe(true);
    await expect(stat(file)).resolves.toBeTruthy();
  });

  describe('big files: R2 multipart through the edge, every part checked', () => {
    const MiB = 1024 * 1024;
    const big = randomBytes(11 * MiB + 12_345); // three parts of 5 MiB, 5 MiB and the rest
    let bigFile: string;
    beforeAll(async () => {
      bigFile = path.join(await tempDir('edgemeet-edge-multipart-'), 'composite.webm');
      await writeFile(bigFile, big);
    });
    const inParts = () => new EdgeUploader(target.url, target.nodeCredential, { singleUploadMaxBytes: 6 * MiB, partBytes: 5 * MiB });
    const bigInput = (name: string) => ({ recordingId: RECORDING, name, path: bigFile, contentType: 'video/webm', bytes: big.length, sha256: sha(big) });
    const auth = () => ({ authorization: `Bearer ${target.nodeCredential}` });
    const start = (name: string, body: unknown) =>
      fetch(`${target.url}/api/nodes/recordings/${RECORDING}/files/${name}/multipart`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it('uploads in parts and confirms the whole file; a retry gets the same receipt without uploading again', async () => {
      const receipt = await uploadConfirmed(inParts(), bigInput('big-composite.webm'), log);
      expect(receipt).toEqual({ key: `recordings/${RECORDING}/big-composite.webm`, bytes: big.length, sha256: sha(big) });
      expect((await target.stored(receipt.key))?.equals(big)).toBe(true);
      const again = await start('big-composite.webm', { contentType: 'video/webm', bytes: big.length, sha256: sha(big) });
      expect(await again.json()).toEqual({ status: 'stored', receipt });
      expect(await uploadConfirmed(inParts(), bigInput('big-composite.webm'), log)).toEqual(receipt);
    });

    it('refuses a part that does not match its hash; the part sent again completes the file', async () => {
      const name = 'big-retried.webm';
      const started = (await (await start(name, { contentType: 'video/webm', bytes: big.length, sha256: sha(big) })).json()) as { status: string; uploadId: string };
      expect(started.status).toBe('started');
      const partUrl = (n: number) => `${target.url}/api/nodes/recordings/${RECORDING}/files/${name}/multipart/${encodeURIComponent(started.uploadId)}/parts/${n}`;
      const chunks = [big.subarray(0, 5 * MiB), big.subarray(5 * MiB, 10 * MiB), big.subarray(10 * MiB)];
      const sendPart = (n: number, body: Buffer, declared: string) => fetch(partUrl(n), { method: 'PUT', headers: { ...auth(), 'x-content-sha256': declared }, body });

      const damaged = Buffer.from(chunks[1]!);
      damaged[1234] = damaged[1234]! ^ 0xff; // a flipped byte on the way
      const refused = await sendPart(2, damaged, sha(chunks[1]!));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');

      const etags: { partNumber: number; etag: string }[] = [];
      for (const [index, chunk] of chunks.entries()) {
        const answer = await sendPart(index + 1, chunk, sha(chunk));
        expect(answer.status).toBe(200);
        const part = (await answer.json()) as { partNumber: number; etag: string; sha256: string };
        expect(part.sha256).toBe(sha(chunk));
        etags.push({ partNumber: part.partNumber, etag: part.etag });
      }
      const completeUrl = `${target.url}/api/nodes/recordings/${RECORDING}/files/${name}/multipart/${encodeURIComponent(started.uploadId)}/complete`;
      const completed = await fetch(completeUrl, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ parts: etags }) });
      expect(completed.status).toBe(201);
      expect(await completed.json()).toEqual({ key: `recordings/${RECORDING}/${name}`, bytes: big.length, sha256: sha(big) });
      expect((await target.stored(`recordings/${RECORDING}/${name}`))?.equals(big)).toBe(true);
    });

    it('refuses malformed multipart requests and a forged credential, storing nothing', async () => {
      expect((await start('big-bad.webm', { contentType: 'video/webm', bytes: -1, sha256: sha(big) })).status).toBe(400);
      expect((await start('big-bad.webm', { contentType: 'video/webm', bytes: big.length, sha256: 'nope' })).status).toBe(400);
      const forged = await fetch(`${target.url}/api/nodes/recordings/${RECORDING}/files/big-bad.webm/multipart`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.nodeCredential.slice(0, -2)}xx`, 'content-type': 'application/json' },
        body: JSON.stringify({ contentType: 'video/webm', bytes: big.length, sha256: sha(big) }),
      });
      expect(forged.status).toBe(401);
      const badPart = await fetch(`${target.url}/api/nodes/recordings/${RECORDING}/files/big-bad.webm/multipart/x/parts/0`, { method: 'PUT', headers: { ...auth(), 'x-content-sha256': sha(big) }, body: 'x' });
      expect(badPart.status).toBe(400);
      expect(((await badPart.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      const emptyComplete = await fetch(`${target.url}/api/nodes/recordings/${RECORDING}/files/big-bad.webm/multipart/x/complete`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ parts: [] }) });
      expect(emptyComplete.status).toBe(400);
      expect(await target.stored(`recordings/${RECORDING}/big-bad.webm`)).toBeNull();
    });
  });
});
