import { readFile } from 'node:fs/promises';

/**
 * The kernel's caps on a socket's buffers (Linux: net.core.rmem_max / wmem_max) that are lower
 * than `wantedBytes` (a worker asking for more silently gets the cap), or unreadable (`bytes`
 * null: not Linux, or a container without them, where the host's cap still applies).
 */
export async function lowKernelUdpLimits(wantedBytes: number): Promise<{ name: string; bytes: number | null }[]> {
  if (wantedBytes <= 0) return [];
  const low: { name: string; bytes: number | null }[] = [];
  for (const name of ['net.core.rmem_max', 'net.core.wmem_max']) {
    const text = await readFile(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').catch(() => '');
    const bytes = Number.parseInt(text, 10);
    if (!Number.isFinite(bytes)) low.push({ name, bytes: null });
    else if (bytes < wantedBytes) low.push({ name, bytes });
  }
  return low;
}
