import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../sim/charts.js';

export { renderSvg };

const FONT = { config: { font: 'sans-serif', view: { stroke: null } } } as const;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Horizontal bars of goal scores (measured relative to the goal) with the line at 1 = met. */
export function goalChart(rows: { goal: string; score: number; met: string }[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Where each goal stands (1 = goal met; capped at 3)',
    width: 560,
    height: { step: 22 },
    data: { values: rows.map((row) => ({ ...row, shown: Math.min(row.score, 3) })) },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'goal', type: 'nominal', sort: null, title: null },
          x: { field: 'shown', type: 'quantitative', title: 'measured relative to goal', scale: { domain: [0, 3] } },
          color: { field: 'met', type: 'nominal', title: null, scale: { domain: ['met', 'not met'], range: ['#4c9a2a', '#c0392b'] } },
        },
      },
      { mark: { type: 'rule', color: '#333', strokeDash: [4, 4] }, encoding: { x: { datum: 1 } } },
    ],
    ...FONT,
  } as TopLevelSpec;
}

/** The product next to its reference from the same run, one group per figure. */
export function referenceChart(title: string, unit: string, rows: { figure: string; series: string; value: number }[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    width: { step: 48 },
    height: 220,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'figure', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'series', sort: null },
      y: { field: 'value', type: 'quantitative', title: unit },
      color: { field: 'series', type: 'nominal', title: null, sort: null },
    },
    ...FONT,
  } as TopLevelSpec;
}
