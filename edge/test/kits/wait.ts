/**
 * Polls `probe` until `done` holds and answers that value. When the deadline passes it throws,
 * naming what it waited for and the last value seen (a probe that throws counts as not yet).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last ${describe(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describe(last: { value: unknown } | { error: unknown } | null): string {
  if (last === null) return 'probe never answered';
  if ('error' in last) return `probe failed: ${String(last.error)}`;
  return `value: ${JSON.stringify(last.value)?.slice(0, 500)}`;
}
