import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { increasingRun, KeyedList } from '../src/lib/keyed-list.js';

/**
 * The people list keeps its rows (and their buttons) across updates and moves as few as it can:
 * a button replaced or moved between a press and its release loses the click. The browser test
 * (meeting.e2e.test.ts, a press across a roster update) checks the click itself in Chromium.
 */

/** Just the part of the DOM a KeyedList touches: children in order, insertBefore, remove. */
class FakeElement {
  parentElement: FakeElement | null = null;
  readonly children: FakeElement[] = [];
  moves = 0;
  constructor(readonly name = '') {}
  get nextElementSibling(): FakeElement | null {
    const siblings = this.parentElement?.children ?? [];
    return siblings[siblings.indexOf(this) + 1] ?? null;
  }
  insertBefore(child: FakeElement, anchor: FakeElement | null): void {
    if (child.parentElement) child.remove();
    this.moves += 1;
    const at = anchor ? this.children.indexOf(anchor) : this.children.length;
    this.children.splice(at, 0, child);
    child.parentElement = this;
  }
  remove(): void {
    const siblings = this.parentElement!.children;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentElement = null;
  }
}

class Row {
  readonly element: HTMLElement;
  shown = '';
  constructor(key: string) {
    this.element = new FakeElement(key) as unknown as HTMLElement;
  }
  update(item: string): void {
    this.shown = item;
  }
}

function list() {
  const parent = new FakeElement();
  const made: Row[] = [];
  const keyed = new KeyedList<string, Row>(parent as unknown as HTMLElement, (key) => key, (key) => {
    const row = new Row(key);
    made.push(row);
    return row;
  });
  return { parent, made, render: (keys: string[]) => keyed.render(keys) };
}

/** Longest strictly increasing subsequence length, the slow way (non-negative entries only). */
function longestRun(positions: number[]): number {
  const best = positions.map(() => 1);
  positions.forEach((position, i) => {
    for (let j = 0; j < i; j += 1) if (positions[j]! >= 0 && positions[j]! < position) best[i] = Math.max(best[i]!, best[j]! + 1);
  });
  return Math.max(0, ...best.filter((_, i) => positions[i]! >= 0));
}

describe('a keyed list', () => {
  it('a hand lowered reorders the list by moving that one row; the others keep their elements', () => {
    const { parent, made, render } = list();
    render(['gail', 'hana', 'bob']);
    const bob = parent.children[2];
    parent.moves = 0;
    render(['hana', 'bob', 'gail']);
    expect(parent.children.map((child) => child.name)).toEqual(['hana', 'bob', 'gail']);
    expect(parent.moves).toBe(1);
    expect(parent.children[1]).toBe(bob);
    expect(made).toHaveLength(3);
  });

  it('any sequence of lists: shown in order, one row per key made once, the fewest rows moved', () => {
    const keys = fc.uniqueArray(fc.constantFrom(...'abcdefghijkl'), { maxLength: 12 });
    fc.assert(
      fc.property(fc.array(keys, { minLength: 1, maxLength: 6 }), (lists) => {
        const { parent, render } = list();
        for (const wanted of lists) {
          const before = new Map(parent.children.map((child, index) => [child.name, { child, index }]));
          parent.moves = 0;
          render(wanted);
          expect(parent.children.map((child) => child.name)).toEqual(wanted);
          // A key still shown keeps its element; only keys new to the list get one.
          const kept = wanted.filter((key) => before.has(key));
          for (const key of kept) expect(parent.children[wanted.indexOf(key)]).toBe(before.get(key)!.child);
          const stay = longestRun(kept.map((key) => before.get(key)!.index));
          expect(parent.moves).toBe(wanted.length - kept.length + kept.length - stay);
        }
      }),
    );
  });

  it('increasingRun picks an increasing run of the longest length, skipping rows not shown', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 30 }), { maxLength: 40 }), (positions) => {
        const run = [...increasingRun(positions)].sort((a, b) => a - b);
        expect(run.length).toBe(longestRun(positions));
        for (const index of run) expect(positions[index]).toBeGreaterThanOrEqual(0);
        for (let i = 1; i < run.length; i += 1) expect(positions[run[i]!]!).toBeGreaterThan(positions[run[i - 1]!]!);
      }),
    );
  });
});
