/** Small helpers for the generated docs. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function int(value: number): string {
  return Math.round(value).toLocaleString('en');
}

export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

export function pct(value: number, digits = 0): string {
  return `${(value * 100).toFixed(digits)}%`;
}
