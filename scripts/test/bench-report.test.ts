import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flatten, writeReport } from '../bench/report.js';
import { writeResult } from '../bench/results.js';
import { runStep } from '../bench/runner.js';
import { percentile, spread } from '../bench/stats.js';

describe('benchmark report (docs/benchmarks.md from bench-results/)', () => {
  let dir: string;
  let results: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-report-'));
    results = path.join(dir, 'results');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('tables every result, judges each goal and renders the charts as SVG', async () => {
    await writeResult('fanout', { productConsumersPerCore: 2000, bareConsumersPerCore: 2900, ratio: 0.69, lossPct: 0.2 }, results);
    await writeResult('ttff', { firstJoinerMedianMs: 1300, laterJoinerMedianMs: 380, p95Ms: 1400, floorMedianMs: 200 }, results);
    await writeFile(path.join(results, 'failover.json'), JSON.stringify({ crashRecoveryMs: { median: 8978, max: 12482 }, rounds: 5 }));
    const { markdown, charts } = await writeReport({ resultsDir: results, docsDir: dir });
    expect(await readFile(path.join(dir, 'benchmarks.md'), 'utf8')).toBe(markdown);
    expect(markdown).toContain('| productConsumersPerCore | 2,000 |');
    expect(markdown).toMatch(/ratio ≥ 0\.9 \(product ÷ bare consumers per core\) \| 0\.77 \| \*\*not met\*\*/);
    expect(markdown).toMatch(/lossPct < 1 % \| 5\.00 \| met/);
    expect(markdown).toMatch(/later joiners median < 1\.5 × floor \| 0\.79 \| \*\*not met\*\*/);
    expect(markdown).toContain('| crashRecoveryMs.median | 8,978 |');
    // Benchmarks without a result are listed, not dropped.
    expect(markdown.split('_Not measured yet._').length - 1).toBe(7); // join, chat, memory, soak, recording, webinar, fuzz
    expect(charts.sort()).toEqual(['benchmarks-fanout.svg', 'benchmarks-goals.svg', 'benchmarks-ttff.svg']);
    for (const chart of charts) expect(await readFile(path.join(dir, chart), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });

  it('keeps the figures the page already showed for a benchmark without a result file in this run', async () => {
    await writeResult('soak', { minutes: 30, warmupMinutes: 3, cycles: 331, mediasoupObjectsLeft: 0, rssGrowthPct: 4.8, rssGrowthSinceFirstCyclePct: 16.5 }, results);
    await writeFile(path.join(results, 'failover.json'), JSON.stringify({ crashRecoveryMs: { median: 2605, max: 4936 }, rounds: 5 }));
    const first = (await writeReport({ resultsDir: results, docsDir: dir })).markdown;
    expect(first).toContain('| rssGrowthPct | 4.8 |');
    // A fresh checkout: bench-results/ holds only what this run measured.
    const fresh = path.join(dir, 'fresh');
    await writeResult('chat', { deliveriesPerSec: 55000, p99Ms: 50 }, fresh);
    const second = (await writeReport({ resultsDir: fresh, docsDir: dir })).markdown;
    const soak = second.slice(second.indexOf('## Join/leave soak'), second.indexOf('## Failover'));
    expect(soak).toContain("kept from this page's previous version");
    expect(soak).toContain('| rssGrowthPct | 4.8 |');
    expect(soak).toMatch(/RSS within 5 % of the baseline after the warm-up \| 1\.04 \| met/);
    expect(second).toContain('| crashRecoveryMs.median | 2,605 |');
    expect(second).toContain('| p99Ms | 50 |');
    // Kept again by a third run, said once, not stacked.
    const third = (await writeReport({ resultsDir: fresh, docsDir: dir })).markdown;
    expect(third).toBe(second);
    expect(third.split("kept from this page's previous version").length - 1).toBe(2); // soak and failover
    expect(third.split('_Not measured yet._').length - 1).toBe(7); // never measured: fanout, join, ttff, memory, recording, webinar, fuzz
  });

  it('says a result is unreadable instead of failing the page', async () => {
    await writeFile(path.join(dir, 'chat.json'), '{"deliveriesPerSec": "fast"}');
    const { markdown } = await writeReport({ resultsDir: dir, docsDir: dir });
    expect(markdown).toContain('_Result unreadable:');
  });

  it('refuses to write a result with fields the issue does not name', async () => {
    await expect(writeResult('chat', { deliveriesPerSec: 1, p99Ms: 2, extra: 3 } as never, results)).rejects.toThrow();
    expect(existsSync(path.join(results, 'chat.json'))).toBe(false);
  });

  it('reports a benchmark whose script does not exist as missing', async () => {
    expect(await runStep({ name: 'does-not-exist', args: [], timeoutMs: 1000 })).toMatchObject({ status: 'missing' });
  });

  it('computes nearest-rank percentiles and spreads', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
    expect(flatten({ a: { b: 1 }, c: [1, 2] })).toEqual([['a.b', '1'], ['c', '1, 2']]);
  });
});
