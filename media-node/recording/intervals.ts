/** Half-open wall-clock spans in epoch ms, [from, to). Pure helpers for coverage arithmetic. */
export interface Interval {
  from: number;
  to: number;
}

/** Sorted, merged, without empty spans. */
export function union(spans: readonly Interval[]): Interval[] {
  const sorted = spans.filter((s) => s.to > s.from).sort((a, b) => a.from - b.from);
  const merged: Interval[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.from <= last.to) last.to = Math.max(last.to, span.to);
    else merged.push({ ...span });
  }
  return merged;
}

/** The parts of `spans` inside `window`. */
export function clip(spans: readonly Interval[], window: Interval): Interval[] {
  return union(spans.map((s) => ({ from: Math.max(s.from, window.from), to: Math.min(s.to, window.to) })));
}

/** The parts of `spans` not covered by `minus`. */
export function subtract(spans: readonly Interval[], minus: readonly Interval[]): Interval[] {
  const holes = union(minus);
  const out: Interval[] = [];
  for (const span of union(spans)) {
    let cursor = span.from;
    for (const hole of holes) {
      if (hole.to <= cursor || hole.from >= span.to) continue;
      if (hole.from > cursor) out.push({ from: cursor, to: hole.from });
      cursor = Math.max(cursor, hole.to);
    }
    if (cursor < span.to) out.push({ from: cursor, to: span.to });
  }
  return out;
}

export function totalMs(spans: readonly Interval[]): number {
  return union(spans).reduce((sum, s) => sum + (s.to - s.from), 0);
}
