import { readFile } from 'node:fs/promises';

/** USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}

/** Resident set size of a process in bytes (VmRSS), 0 once it is gone. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Measures a window: the CPU share (cores) a process used while `during` ran, and the wall time. */
export async function cpuShare(pid: number, during: () => Promise<void>): Promise<{ cores: number; seconds: number }> {
  const cpuBefore = await cpuSeconds(pid);
  const started = performance.now();
  await during();
  const seconds = (performance.now() - started) / 1000;
  return { cores: ((await cpuSeconds(pid)) - cpuBefore) / seconds, seconds };
}
