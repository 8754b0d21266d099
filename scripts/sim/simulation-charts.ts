import type { TopLevelSpec } from 'vega-lite';
import { DO_REQUESTS_PER_SECOND } from './admission.js';
import { lineChart } from './charts.js';
import type { DayResult } from './day-run.js';
import type { PeakPoint } from './result.js';

/** Charts of docs/simulation.md. Points every 10 minutes keep the SVGs small. */
const everyTen = <T extends { minute: number }>(rows: readonly T[]) => rows.filter((row) => row.minute % 10 === 0);

export function dayLoadChart(series: DayResult['series']): TopLevelSpec {
  return lineChart({
    title: 'Mean node load by region over the day (consumers ÷ node budget)',
    rows: everyTen(series).map((row) => ({ hour: row.minute / 60, load: Math.round(row.utilMean * 1000) / 1000, region: row.region })),
    x: 'hour',
    xTitle: 'hour (UTC)',
    y: 'load',
    yTitle: 'mean node load',
    series: 'region',
    rules: [{ y: 0.85, label: 'placement stops (0.85)' }],
  });
}

export function dayRegionDoChart(series: DayResult['series']): TopLevelSpec {
  return lineChart({
    title: 'Requests per second to one registry shard (RegionDO) of each region over the day (minute means, the mean shard)',
    rows: everyTen(series).map((row) => ({ hour: row.minute / 60, requests: Math.round(row.shardPerSecond), region: row.region })),
    x: 'hour',
    xTitle: 'hour (UTC)',
    y: 'requests',
    yTitle: 'requests/s',
    series: 'region',
    rules: [
      { y: DO_REQUESTS_PER_SECOND, label: '~1,000/s per object' },
      { y: DO_REQUESTS_PER_SECOND / 2, label: 'goal: half of it' },
    ],
  });
}

export function peakLoadChart(points: readonly PeakPoint[], region: string, faultMinute: number): TopLevelSpec {
  const rows = points.flatMap((point) => [
    { minute: point.minute - faultMinute, load: Math.round(point.utilMax * 1000) / 1000, series: `${point.scenario} max` },
    { minute: point.minute - faultMinute, load: Math.round(point.utilMean * 1000) / 1000, series: `${point.scenario} mean` },
  ]);
  return lineChart({
    title: `${region}: node load around its peak (mean and most loaded node), by scenario`,
    rows,
    x: 'minute',
    xTitle: 'minutes from the fault',
    y: 'load',
    yTitle: 'node load',
    series: 'series',
    rules: [{ y: 1, label: 'node budget' }],
  });
}
