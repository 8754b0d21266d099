import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { UploadInput, UploadReceipt, Uploader } from '../types.js';

export const log = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });

export const tempDir = (prefix: string) => mkdtemp(path.join(os.tmpdir(), prefix));
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
