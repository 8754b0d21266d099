import type { Context } from 'hono';
import { z } from 'zod';
import { uuidSchema } from '../../schema/wire/common.js';
import { meetingPublicSchema, type MeetingPublic } from '../../schema/wire/http.js';
import type { AppEnv } from './app-env.js';

/**
 * A short-lived edge cache (Cache API, per data centre) of a meeting's public view — and of the
 * answer "no such meeting" — so neither the pre-join page nor someone trying link after link
 * puts Postgres on the join path. Changes purge the local copy; other data centres may show the
 * old title/passcode flag for up to VIEW_TTL — the RoomDO still decides every join with the
 * current settings. A miss is kept only briefly: links are random, so a kept miss only ever
 * spares a repeated guess.
 */
const VIEW_TTL_SECONDS = 15;
const MISS_TTL_SECONDS = 10;

const entrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('meeting'), view: meetingPublicSchema, hostId: uuidSchema }),
  z.object({ kind: z.literal('missing') }),
]);
export type PublicViewEntry = z.infer<typeof entrySchema>;

function keyOf(c: Context<AppEnv>, linkId: string): Request {
  return new Request(`${new URL(c.req.url).origin}/api/meetings/${linkId}?view=public-cache`);
}

function cache(): Cache | null {
  // Absent in some runtimes/tests: behave as a permanent miss.
  return typeof caches === 'undefined' ? null : caches.default;
}

async function store(c: Context<AppEnv>, linkId: string, entry: PublicViewEntry, ttlSeconds: number): Promise<void> {
  const response = new Response(JSON.stringify(entry), {
    headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${ttlSeconds}` },
  });
  await cache()?.put(keyOf(c, linkId), response);
}

export const publicViews = {
  async get(c: Context<AppEnv>, linkId: string): Promise<PublicViewEntry | null> {
    const hit = await cache()?.match(keyOf(c, linkId));
    if (!hit) return null;
    const parsed = entrySchema.safeParse(await hit.json().catch(() => null));
    return parsed.success ? parsed.data : null;
  },
  put(c: Context<AppEnv>, linkId: string, found: { view: MeetingPublic; hostId: string }): Promise<void> {
    return store(c, linkId, { kind: 'meeting', ...found }, VIEW_TTL_SECONDS);
  },
  putMissing(c: Context<AppEnv>, linkId: string): Promise<void> {
    return store(c, linkId, { kind: 'missing' }, MISS_TTL_SECONDS);
  },
  async forget(c: Context<AppEnv>, linkId: string): Promise<void> {
    await cache()?.delete(keyOf(c, linkId));
  },
};
