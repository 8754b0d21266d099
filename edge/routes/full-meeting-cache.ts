/**
 * A meeting the room just answered MEETING_FULL for, remembered at this Cloudflare location
 * (caches.default is per location) for FULL_MEETING_TTL_S: a flash crowd on one link is refused
 * here instead of each join reaching the meeting's RoomDO, which serves ~1,000 requests/s
 * (docs/simulation.md). The entry holds the host's user id, the one joiner a full meeting still
 * lets in (admission.ts), so everyone else — guests and signed-in people alike — is refused here.
 * A seat that frees up is offered again at most FULL_MEETING_TTL_S later.
 */
export const FULL_MEETING_TTL_S = 5;

const keyOf = (linkId: string) => new Request(`https://full-meetings.edgemeet.internal/${encodeURIComponent(linkId)}`);

/** Whether this joiner would be refused as full: the meeting is remembered full and they are not its host. */
export async function refusedAsFull(linkId: string, userId: string | null): Promise<boolean> {
  const entry = await caches.default.match(keyOf(linkId));
  if (!entry) return false;
  const hostUserId = await entry.text();
  return userId === null || userId !== hostUserId;
}

export async function rememberFull(linkId: string, hostUserId: string): Promise<void> {
  await caches.default.put(keyOf(linkId), new Response(hostUserId, { headers: { 'Cache-Control': `max-age=${FULL_MEETING_TTL_S}` } }));
}
