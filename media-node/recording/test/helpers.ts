import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import type { UploadInput, UploadReceipt, Uploader } from '../types.js';

export const log = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });

const made: string[] = [];
/** A fresh directory under the system's temp dir, removed when the test file is done. */
export const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
};
// Registered at import: the test file's last hook (hooks after tests run in reverse order), once
// everything that wrote into these directories (nodes, recorders) has stopped.
afterAll(() => Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))).then(() => undefined));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Wraps the real uploader and keeps a copy of every local file just before it is uploaded, so a
 * test can compare the stored object with the file the node wrote, byte for byte, even though the
 * recorder deletes its own copy once the upload is confirmed.
 */
export class CopyingUploader implements Uploader {
  readonly name = 'copying';
  readonly copies = new Map<string, string>();
  constructor(
    private readonly inner: Uploader,
    private readonly copyDir: string,
  ) {}
  async upload(input: UploadInput): Promise<UploadReceipt> {
    await mkdir(this.copyDir, { recursive: true });
    const copy = path.join(this.copyDir, `${input.recordingId}-${input.name}`);
    await copyFile(input.path, copy);
    this.copies.set(input.name, copy);
    return this.inner.upload(input);
  }
}
