import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** Median and worst of one kind of round, ms. */
const figuresSchema = z.strictObject({ median: z.number().int().nonnegative(), max: z.number().int().nonnegative() });

/**
 * bench-results/failover.json: exactly the fields issue 11 names (`strict`, so a stray field fails
 * where it is written). Each figure is ms from the fault to remote video decoding again on the
 * slowest page of a round (for drain: the longest frame gap); rounds is the count of each kind.
 */
export const failoverResultSchema = z.strictObject({
  crashRecoveryMs: figuresSchema,
  partitionRecoveryMs: figuresSchema,
  drainMaxGapMs: figuresSchema,
  rounds: z.number().int().positive(),
});
export type FailoverResult = z.infer<typeof failoverResultSchema>;

export function summary(values: readonly number[]): { median: number; max: number } {
  if (values.length === 0) throw new Error('no rounds to summarise');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median: Math.round(median), max: Math.round(sorted[sorted.length - 1]!) };
}

/** The result of one drill from each round's figure (one per round, in ms). */
export function failoverResult(rounds: { crash: readonly number[]; partition: readonly number[]; drain: readonly number[] }): FailoverResult {
  const counts = new Set([rounds.crash.length, rounds.partition.length, rounds.drain.length]);
  if (counts.size !== 1) throw new Error(`uneven rounds: crash ${rounds.crash.length}, partition ${rounds.partition.length}, drain ${rounds.drain.length}`);
  return failoverResultSchema.parse({
    crashRecoveryMs: summary(rounds.crash),
    partitionRecoveryMs: summary(rounds.partition),
    drainMaxGapMs: summary(rounds.drain),
    rounds: rounds.crash.length,
  });
}

export async function writeFailoverResult(file: string, result: FailoverResult): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(failoverResultSchema.parse(result), null, 2)}\n`);
}
