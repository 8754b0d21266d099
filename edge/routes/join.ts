import { Hono } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import { joinRequestSchema, meetingLinkParamsSchema, roomSocketQuerySchema, type JoinResponse } from '../../schema/wire/http.js';
import { optionalAuth } from '../auth/middleware.js';
import type { Env } from '../env.js';
import { sha256Hex } from '../auth/encoding.js';
import type { AppEnv } from '../http/app-env.js';
import { clientIp } from '../http/client-ip.js';
import { parseJsonBody, parseParams, parseQuery } from '../http/validate.js';
import { registryConfig } from '../registry/config.js';
import { regionsByDistance } from '../registry/region-choice.js';

/**
 * Joining a meeting and its room socket. Both go straight to the meeting's RoomDO — no Postgres
 * on this path. The client's location (request.cf) orders the media regions to try.
 */
export const joinRoutes = new Hono<AppEnv>();

export function roomStub(env: Env, linkId: string) {
  return env.ROOM.get(env.ROOM.idFromName(linkId));
}

joinRoutes.post('/meetings/:linkId/join', optionalAuth, async (c) => {
  const { linkId } = parseParams(c, meetingLinkParamsSchema);
  const body = await parseJsonBody(c, joinRequestSchema);
  const user = c.get('user');
  const cf = (c.req.raw.cf ?? {}) as Partial<IncomingRequestCfProperties>;
  const location = { latitude: cf.latitude, longitude: cf.longitude, country: cf.country, continent: cf.continent };
  const regions = regionsByDistance(location, registryConfig(c.env).defaultRegion);
  const result = await roomStub(c.env, linkId).join({
    user: user ? { id: user.id, displayName: user.displayName } : null,
    displayName: body.displayName,
    passcode: body.passcode,
    regions,
    // Guests are also known by browser and network (hashed with the meeting: no raw address is kept).
    ...(user ? {} : { guestKey: body.guestKey, networkHash: await sha256Hex(`${linkId}:${clientIp(c)}`) }),
  });
  if (!result.ok) throw new AppError(result.code, result.message);
  return c.json(result.value satisfies JoinResponse);
});

joinRoutes.get('/meetings/:linkId/ws', async (c) => {
  const { linkId } = parseParams(c, meetingLinkParamsSchema);
  parseQuery(c, roomSocketQuerySchema);
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') throw new AppError('BAD_REQUEST', 'this endpoint takes a WebSocket upgrade');
  return roomStub(c.env, linkId).fetch(c.req.raw);
});
