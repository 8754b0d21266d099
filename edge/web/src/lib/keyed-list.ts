/**
 * A list whose rows are made once per key and then updated in place. Rebuilding rows on every
 * change replaces the buttons under a pointer: a press on the old button and a release on its
 * replacement is no click at all, so a host's "Make co-host" was lost whenever a roster update
 * (a hand lowered, a join) landed mid-click. A reorder moves as few rows as it can (a moved row
 * loses its click the same way): those outside the longest run already in order.
 */
export class KeyedList<T, Row extends { readonly element: HTMLElement; update(item: T): void }> {
  private readonly rows = new Map<string, Row>();

  constructor(
    readonly element: HTMLElement,
    private readonly keyOf: (item: T) => string,
    private readonly create: (item: T) => Row,
  ) {}

  /** Shows `items` in this order: new rows made, gone rows removed, the fewest rows moved. */
  render(items: readonly T[]): void {
    const wanted = items.map((item) => {
      const key = this.keyOf(item);
      let row = this.rows.get(key);
      if (!row) {
        row = this.create(item);
        this.rows.set(key, row);
      }
      row.update(item);
      return { key, row };
    });
    const keys = new Set(wanted.map(({ key }) => key));
    for (const [key, row] of this.rows) {
      if (keys.has(key)) continue;
      row.element.remove();
      this.rows.delete(key);
    }
    const shownAt = new Map<Element, number>([...this.element.children].map((child, index) => [child, index]));
    const stay = increasingRun(wanted.map(({ row }) => shownAt.get(row.element) ?? -1));
    let anchor: Element | null = null;
    for (let index = wanted.length - 1; index >= 0; index -= 1) {
      const element = wanted[index]!.row.element;
      const inPlace = element.parentElement === this.element && element.nextElementSibling === anchor;
      if (!stay.has(index) && !inPlace) this.element.insertBefore(element, anchor);
      anchor = element;
    }
  }
}

/**
 * The indexes of a longest strictly increasing subsequence of `positions` (-1: not shown yet,
 * never part of it), in O(n log n): the rows that can stay where they are.
 */
export function increasingRun(positions: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k]: index ending the best run of length k + 1
  const previous = new Array<number>(positions.length).fill(-1);
  positions.forEach((position, index) => {
    if (position < 0) return;
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (positions[tails[middle]!]! < position) low = middle + 1;
      else high = middle;
    }
    if (low > 0) previous[index] = tails[low - 1]!;
    tails[low] = index;
  });
  const run = new Set<number>();
  for (let index = tails.at(-1) ?? -1; index >= 0; index = previous[index]!) run.add(index);
  return run;
}
