import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** bench-results/ (git-ignored): one JSON per benchmark, exactly the fields the issue names. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RESULTS_DIR = path.join(ROOT, 'bench-results');

const n = z.number();
/** The shapes issue 15 names; `strict` so a stray field is caught where it is written. */
export const resultSchemas = {
  fanout: z.strictObject({ productConsumersPerCore: n, bareConsumersPerCore: n, ratio: n, lossPct: n }),
  join: z.strictObject({ joinsPerSec: n, p50Ms: n, p99Ms: n, rooms: n, baselineReqPerSec: n }),
  ttff: z.strictObject({ firstJoinerMedianMs: n, laterJoinerMedianMs: n, p95Ms: n, floorMedianMs: n }),
  chat: z.strictObject({ deliveriesPerSec: n, p99Ms: n }),
  memory: z.strictObject({ nodeRssPerParticipantKb: n, roomDoBytesPerParticipant: n }),
  // The soak's fields are ours (issue 15 names only what must hold); older results lack the warm-up ones.
  soak: z.strictObject({ minutes: n, warmupMinutes: n.optional(), cycles: n, mediasoupObjectsLeft: n, rssGrowthPct: n, rssGrowthSinceFirstCyclePct: n.optional() }),
} as const;
export type ResultName = keyof typeof resultSchemas;
export type Result<N extends ResultName> = z.infer<(typeof resultSchemas)[N]>;

/** Writes bench-results/<name>.json after checking it has exactly the named fields. */
export async function writeResult<N extends ResultName>(name: N, value: Result<N>, dir = RESULTS_DIR): Promise<string> {
  const parsed = resultSchemas[name].parse(value);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(parsed, null, 2)}\n`);
  return file;
}

export interface Loaded<T> {
  value: T;
  /** When the file was last written (the run it comes from). */
  measuredAt: Date;
}

/** A result file, or null when it does not exist or does not parse (the report says so). */
export async function readResult<T>(file: string, schema: z.ZodType<T>): Promise<Loaded<T> | { error: string } | null> {
  if (!existsSync(file)) return null;
  try {
    const value = schema.parse(JSON.parse(await readFile(file, 'utf8')));
    return { value, measuredAt: statSync(file).mtime };
  } catch (error) {
    return { error: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  }
}
