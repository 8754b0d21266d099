import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';

/** Size and SHA-256 (hex) of a local file, streamed (recordings can be gigabytes). */
export async function digestFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const stat = await fs.stat(path);
  if (stat.size !== bytes) throw new Error(`file changed while hashing: ${path}`);
  return { bytes, sha256: hash.digest('hex') };
}
