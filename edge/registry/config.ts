import { z } from 'zod';
import { NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import type { Env } from '../env.js';
import { parseDefaultRegion } from './region-choice.js';

const registryConfigSchema = z.object({
  NODE_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(NODE_HEARTBEAT_TIMEOUT_MS),
  DEFAULT_REGION: z.string().optional(),
});

export interface RegistryConfig {
  heartbeatTimeoutMs: number;
  defaultRegion: ReturnType<typeof parseDefaultRegion>;
}

const parsedConfigs = new WeakMap<Env, RegistryConfig>();

/** The registry's settings, parsed once per env object (per isolate) from the Worker env. */
export function registryConfig(env: Env): RegistryConfig {
  const cached = parsedConfigs.get(env);
  if (cached) return cached;
  const parsed = registryConfigSchema.parse({ NODE_HEARTBEAT_TIMEOUT_MS: env.NODE_HEARTBEAT_TIMEOUT_MS || undefined, DEFAULT_REGION: env.DEFAULT_REGION });
  const config = { heartbeatTimeoutMs: parsed.NODE_HEARTBEAT_TIMEOUT_MS, defaultRegion: parseDefaultRegion(parsed.DEFAULT_REGION) };
  parsedConfigs.set(env, config);
  return config;
}
