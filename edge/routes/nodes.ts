import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../schema/wire/errors.js';
import { MEDIA_REGIONS, regionIdSchema } from '../../schema/regions.js';
import type { AppEnv } from '../http/app-env.js';
import { parseQuery } from '../http/validate.js';
import { requireNodeCredential } from '../registry/credentials.js';
import { NODE_ID_HEADER, NODE_REGION_HEADER, regionStub } from '../registry/region-do.js';

/** Media nodes' control socket: the credential is checked here, the socket lives in the RegionDO. */
export const nodeRoutes = new Hono<AppEnv>();

const connectQuerySchema = z.object({
  region: regionIdSchema.refine((id) => MEDIA_REGIONS.some((region) => region.id === id), 'region has no media role'),
});

nodeRoutes.get('/nodes/connect', async (c) => {
  const { region } = parseQuery(c, connectQuerySchema);
  const nodeId = await requireNodeCredential(c.env.NODE_CREDENTIAL_SECRET, c.req.header('Authorization'));
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') throw new AppError('BAD_REQUEST', 'this endpoint takes a WebSocket upgrade');
  // The RegionDO trusts these headers: they are set here, after verification, never copied from the client.
  const headers = new Headers({ Upgrade: 'websocket', [NODE_ID_HEADER]: nodeId, [NODE_REGION_HEADER]: region });
  return regionStub(c.env, region).fetch(new Request(c.req.url, { headers }));
});
