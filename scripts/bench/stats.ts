/** Small statistics for benchmark figures: percentiles, medians and the spread of repeated runs. */

/** The p-th percentile (0–100) of an ascending list, nearest-rank; NaN for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median, min and max of repeated runs (what a benchmark prints next to its figure). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN, runs: sorted.length };
}

export function formatSpread(s: Spread, digits = 0, unit = ''): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.median)}${unit} (min ${f(s.min)}, max ${f(s.max)}, ${s.runs} runs)`;
}

/** Rounds for the JSON: figures with more digits than the noise are misleading. */
export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Least-squares slope of y over x: a per-unit cost from several noisy steps. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
}
