import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to SVG headless (vega's SVG renderer; no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

type Row = Record<string, string | number>;

const FONT = { config: { font: 'sans-serif', view: { stroke: null } } } as const;

/** One line per series over a numeric x axis, with optional horizontal reference lines. */
export function lineChart(options: { title: string; rows: Row[]; x: string; xTitle: string; y: string; yTitle: string; series: string; rules?: { y: number; label: string }[]; width?: number }): TopLevelSpec {
  const layers: object[] = [
    {
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: options.x, type: 'quantitative', title: options.xTitle },
        y: { field: options.y, type: 'quantitative', title: options.yTitle },
        color: { field: options.series, type: 'nominal', title: null, scale: { scheme: 'tableau20' } },
      },
    },
  ];
  if (options.rules?.length) {
    layers.push({
      data: { values: options.rules },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#b00' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#b00' }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
      ],
    });
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: options.title, width: options.width ?? 640, height: 260, data: { values: options.rows }, layer: layers, ...FONT } as TopLevelSpec;
}

/** Grouped bars: one group per category, one bar per series. */
export function groupedBars(options: { title: string; rows: Row[]; category: string; value: string; valueTitle: string; series: string }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 640,
    height: 260,
    data: { values: options.rows },
    mark: 'bar',
    encoding: {
      x: { field: options.category, type: 'nominal', title: null, sort: null },
      xOffset: { field: options.series },
      y: { field: options.value, type: 'quantitative', title: options.valueTitle },
      color: { field: options.series, type: 'nominal', title: null },
    },
    ...FONT,
  } as TopLevelSpec;
}
