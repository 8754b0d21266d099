import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What the tools that run the built Worker in Miniflare (benchmarks, the fuzzer) take from
 * wrangler.toml, so they run with the runtime behaviour and bindings that ship and cannot drift
 * from them — e.g. a compatibility flag such as `no_web_socket_compression`.
 */
const WRANGLER_TOML = fileURLToPath(new URL('../wrangler.toml', import.meta.url));

export function wranglerCompat(file = WRANGLER_TOML): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(file, 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error(`${file}: no compatibility_date`);
  return { compatibilityDate: date, compatibilityFlags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((match) => match[1]!) };
}

/**
 * The Worker's Durable Objects, queues and bucket as Miniflare options (wrangler.toml's bindings).
 * `roomClass`: a subclass of RoomDO the caller's entry exports (a benchmark that weighs storage).
 */
export function edgeResources(roomClass = 'RoomDO') {
  return {
    durableObjects: {
      ROOM: { className: roomClass, useSQLite: true },
      REGION: { className: 'RegionDO', useSQLite: true },
      ACCOUNT: { className: 'AccountDO', useSQLite: true },
      LIMITER: { className: 'RateLimiterDO', useSQLite: true },
    },
    queueProducers: { HISTORY: { queueName: 'edgemeet-history' }, HISTORY_DLQ: { queueName: 'edgemeet-history-dlq' } },
    r2Buckets: ['FILES'],
  };
}
