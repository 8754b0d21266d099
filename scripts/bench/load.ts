import { percentile } from './stats.js';

export interface LoadOutcome {
  label: string;
  total: number;
  concurrency: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

/** Runs `total` tasks with at most `concurrency` in flight; rate and latency of each. */
export async function measureLoad(label: string, total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<LoadOutcome> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        try {
          await task(i);
        } catch (error) {
          failures++;
          if (failures <= 3) console.error(`${label}: ${(error as Error).message}`);
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { label, total, concurrency, perSec: total / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), failures };
}

export function describeLoad(o: LoadOutcome, unit = 'requests'): string {
  return (
    `${o.label.padEnd(44)} ${String(o.total).padStart(5)} ${unit}  c=${String(o.concurrency).padStart(3)}  ${o.perSec.toFixed(0).padStart(5)}/s  ` +
    `p50 ${o.p50Ms.toFixed(1)} ms  p99 ${o.p99Ms.toFixed(1)} ms  failures ${o.failures}`
  );
}
