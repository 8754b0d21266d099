import { readFile } from 'node:fs/promises';

/**
 * The kernel's caps on a socket's buffers (Linux: net.core.rmem_max / wmem_max) that are lower
 * than `wantedBytes`: a worker asking for more silently gets the cap. Empty when none is lower
 * or the system does not say (not Linux).
 */
export async function lowKernelUdpLimits(wantedBytes: number): Promise<{ name: string; bytes: number }[]> {
  if (wantedBytes <= 0) return [];
  const low: { name: string; bytes: number }[] = [];
  for (const name of ['net.core.rmem_max', 'net.core.wmem_max']) {
    const text = await readFile(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').catch(() => '');
    const bytes = Number.parseInt(text, 10);
    if (Number.isFinite(bytes) && bytes < wantedBytes) low.push({ name, bytes });
  }
  return low;
}
