import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './results.js';

/**
 * The Worker's compatibility date and flags as wrangler.toml declares them, so the benchmarks'
 * Miniflare instances (the product and its floors) run with the runtime behaviour that ships —
 * e.g. `no_web_socket_compression` — and cannot drift from it.
 */
export function wranglerCompat(file = path.join(ROOT, 'wrangler.toml')): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(file, 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error(`${file}: no compatibility_date`);
  return { compatibilityDate: date, compatibilityFlags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((match) => match[1]!) };
}
