import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { PLAN } from '../../schema/regions.js';

/** A figure the capacity model uses, and where it came from. */
export interface Figure {
  value: number;
  source: string;
}

export interface MediaFigures {
  consumersPerCore: Figure;
  rssPerParticipantKb: Figure;
}

/** Guidance when nothing is measured: mediasoup's ~500 consumers per worker; ~3 MB per participant (assumption). */
export const GUIDANCE = { consumersPerCore: PLAN.consumersPerCore, rssPerParticipantKb: 3_000 } as const;

const fanoutSchema = z.object({ productConsumersPerCore: z.number().positive() }).loose();
const memorySchema = z.object({ nodeRssPerParticipantKb: z.number().positive() }).loose();

function readJson<T>(path: string, schema: z.ZodType<T>): T | null {
  if (!existsSync(path)) return null;
  const parsed = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : null;
}

/** The fan-out and memory benchmarks' results (bench-results/*.json) when present, else guidance. */
export function loadMediaFigures(resultsDir: string): MediaFigures {
  const fanout = readJson(`${resultsDir}/fanout.json`, fanoutSchema);
  const memory = readJson(`${resultsDir}/memory.json`, memorySchema);
  return {
    consumersPerCore: fanout
      ? { value: fanout.productConsumersPerCore, source: `measured (${resultsDir}/fanout.json productConsumersPerCore)` }
      : { value: GUIDANCE.consumersPerCore, source: 'mediasoup guidance (~500 consumers per worker); no bench-results/fanout.json' },
    rssPerParticipantKb: memory
      ? { value: memory.nodeRssPerParticipantKb, source: `measured (${resultsDir}/memory.json nodeRssPerParticipantKb)` }
      : { value: GUIDANCE.rssPerParticipantKb, source: 'assumption (3 MB per participant); no bench-results/memory.json' },
  };
}
