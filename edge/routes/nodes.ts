import { Hono } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import { z } from 'zod';
import { MEDIA_REGIONS, regionIdSchema } from '../../schema/regions.js';
import type { AppEnv } from '../http/app-env.js';
import { nodeRegistryStub } from '../durable-objects.js';
import { NODE_ID_HEADER, NODE_REGION_HEADER } from '../registry/region-do.js';
import { defineRoute } from './define-route.js';

/** Media nodes' control socket: the credential is checked here, the socket lives in the RegionDO. */
export const nodeRoutes = new Hono<AppEnv>();

const connectQuerySchema = z.object({
  region: regionIdSchema.refine((id) => MEDIA_REGIONS.some((region) => region.id === id), 'region has no media role'),
});

defineRoute(nodeRoutes, {
  method: 'get', path: '/nodes/connect', tag: 'fleet', summary: "A media node's control WebSocket to its RegionDO shard (schema/wire/node-control.ts)", auth: 'node', websocket: true,
  query: connectQuerySchema, responses: { 101: 'WebSocket upgrade' }, errors: ['FORBIDDEN'],
}, (c, { nodeId, nodeRegion, query: { region } }) => {
  // A credential is bound to its region: a node registers there and nowhere else.
  if (region !== nodeRegion) throw new AppError('FORBIDDEN', `this node's credential registers in ${nodeRegion} only`);
  // The RegionDO trusts these headers: they are set here, after verification, never copied from the client.
  const headers = new Headers({ Upgrade: 'websocket', [NODE_ID_HEADER]: nodeId, [NODE_REGION_HEADER]: region });
  // Each node reports to one shard of its region's registry (edge/registry/shards.ts).
  return nodeRegistryStub(c.env, region, nodeId).fetch(new Request(c.req.url, { headers }));
});
