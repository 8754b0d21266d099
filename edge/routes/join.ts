import { Hono } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import { joinRequestSchema, joinResponseSchema, LOCATION_HEADER, locationHeaderSchema, meetingLinkParamsSchema, roomSocketHeadersSchema, type JoinResponse } from '../../schema/wire/http.js';
import { sha256Hex } from '../auth/encoding.js';
import { edgeConfig } from '../config.js';
import { roomStub } from '../durable-objects.js';
import type { AppEnv } from '../http/app-env.js';
import { clientIp } from '../http/client-ip.js';
import { regionsByDistance, type ClientLocation } from '../registry/region-choice.js';
import { defineRoute } from './define-route.js';
import { RetryLaterError } from '../http/errors.js';
import { refusedAsFull, rememberFull } from './full-meeting-cache.js';

/**
 * Joining a meeting and its room socket. Both go straight to the meeting's RoomDO — no Postgres
 * on this path. The client's location (request.cf) orders the media regions to try.
 */
export const joinRoutes = new Hono<AppEnv>();

/**
 * Where the client is: request.cf (anycast brought the request to the nearest Cloudflare
 * location, which knows roughly where the client is), or on a local run that trusts it the
 * X-Edgemeet-Location header, which must then be well-formed when present.
 */
function clientLocation(request: Request, trustHeader: boolean): ClientLocation {
  const header = trustHeader ? request.headers.get(LOCATION_HEADER) : null;
  if (header !== null) {
    const parsed = locationHeaderSchema.safeParse(header);
    if (!parsed.success) throw new AppError('VALIDATION_FAILED', `${LOCATION_HEADER}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    return parsed.data;
  }
  const cf = (request.cf ?? {}) as Partial<IncomingRequestCfProperties>;
  return { latitude: cf.latitude, longitude: cf.longitude, country: cf.country, continent: cf.continent };
}

defineRoute(joinRoutes, {
  method: 'post', path: '/meetings/:linkId/join', tag: 'rooms', summary: 'Join a meeting (signed in or as a guest)', auth: 'optional-session',
  params: meetingLinkParamsSchema, body: joinRequestSchema, responses: { 200: joinResponseSchema },
  errors: ['MEETING_NOT_FOUND', 'MEETING_ENDED', 'WRONG_PASSCODE', 'GUESTS_NOT_ALLOWED', 'MEETING_FULL', 'NO_MEDIA_CAPACITY', 'RATE_LIMITED', 'REMOVED_BY_HOST', 'ADMISSION_DENIED', 'MEETING_LOCKED'],
}, async (c, { user, params: { linkId }, body }) => {
  // A flash crowd on a full meeting is answered here, not by its RoomDO (full-meeting-cache.ts).
  if (await refusedAsFull(linkId, user?.id ?? null)) throw new AppError('MEETING_FULL', 'this meeting is full; try again in a little while');
  const location = clientLocation(c.req.raw, edgeConfig(c.env).trustLocationHeader);
  const regions = regionsByDistance(location, edgeConfig(c.env).defaultRegion);
  const result = await roomStub(c.env, linkId).join({
    user: user ? { id: user.id, displayName: user.displayName } : null,
    displayName: body.displayName,
    passcode: body.passcode,
    regions,
    location,
    // Everyone is also known by browser and network (hashed with the meeting: no raw address is
    // kept): the browser key lets a removal bar a signed-in user who comes back as a guest; the
    // network only throttles passcode guesses and knocks.
    guestKey: body.guestKey,
    networkHash: await sha256Hex(`${linkId}:${clientIp(c)}`),
  });
  if (!result.ok) {
    if ('retryAfterSeconds' in result) throw new RetryLaterError(result.message, result.retryAfterSeconds);
    if ('hostUserId' in result) await rememberFull(linkId, result.hostUserId);
    throw new AppError(result.code, result.message);
  }
  return c.json(result.value satisfies JoinResponse);
});

defineRoute(joinRoutes, {
  method: 'get', path: '/meetings/:linkId/ws', tag: 'rooms', summary: 'Room signaling WebSocket (schema/wire/room.ts)', auth: 'none', websocket: true,
  // The session comes as a subprotocol (Sec-WebSocket-Protocol), never as ?session= (schema/wire/http.ts).
  params: meetingLinkParamsSchema, headers: roomSocketHeadersSchema, responses: { 101: 'WebSocket upgrade' }, errors: ['TOKEN_INVALID'],
}, (c, { params: { linkId } }) => roomStub(c.env, linkId).fetch(c.req.raw));
