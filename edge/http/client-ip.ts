import type { Context } from 'hono';

/** Cloudflare sets CF-Connecting-IP at the edge; local runs without it share one bucket. */
export function clientIp(c: Context): string {
  return c.req.header('CF-Connecting-IP') ?? 'local';
}
