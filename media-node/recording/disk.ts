import { promises as fs } from 'node:fs';

/** Bytes available to this (unprivileged) process on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

export const DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024;
