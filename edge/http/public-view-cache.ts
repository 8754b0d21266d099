import type { Context } from 'hono';
import { meetingPublicSchema, type MeetingPublic } from '../../schema/wire/http.js';
import { uuidSchema } from '../../schema/wire/common.js';
import { z } from 'zod';
import type { AppEnv } from './app-env.js';

/**
 * A short-lived edge cache (Cache API, per data centre) of a meeting's public view, so the
 * pre-join page does not put Postgres on the join path. Changes purge the local copy; other
 * data centres may show the old title/passcode flag for up to TTL — the RoomDO still decides
 * every join with the current settings.
 */
const TTL_SECONDS = 15;
const entrySchema = z.object({ view: meetingPublicSchema, hostId: uuidSchema });
type Entry = z.infer<typeof entrySchema>;

function keyOf(c: Context<AppEnv>, linkId: string): Request {
  return new Request(`${new URL(c.req.url).origin}/api/meetings/${linkId}?view=public-cache`);
}

async function cache(): Promise<Cache | null> {
  // Absent in some runtimes/tests: behave as a permanent miss.
  return typeof caches === 'undefined' ? null : caches.default;
}

export const publicViews = {
  async get(c: Context<AppEnv>, linkId: string): Promise<Entry | null> {
    const hit = await (await cache())?.match(keyOf(c, linkId));
    if (!hit) return null;
    const parsed = entrySchema.safeParse(await hit.json().catch(() => null));
    return parsed.success ? parsed.data : null;
  },
  async put(c: Context<AppEnv>, linkId: string, entry: { view: MeetingPublic; hostId: string }): Promise<void> {
    const response = new Response(JSON.stringify(entry satisfies Entry), {
      headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${TTL_SECONDS}` },
    });
    await (await cache())?.put(keyOf(c, linkId), response);
  },
  async forget(c: Context<AppEnv>, linkId: string): Promise<void> {
    await (await cache())?.delete(keyOf(c, linkId));
  },
};
