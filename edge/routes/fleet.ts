import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../schema/wire/errors.js';
import { drainNodeParamsSchema, drainNodeRequestSchema, fleetNodeSchema, fleetResponseSchema } from '../../schema/wire/http.js';
import { baselineNodes, REGIONS, reserveNodes, type RegionId } from '../../schema/regions.js';
import type { AppEnv } from '../http/app-env.js';
import { nodeRegistryStub, regionShardStubs } from '../durable-objects.js';
import { defineRoute } from './define-route.js';

/** Operators' view of the media fleet and node drain, behind the admin token. */
export const fleetRoutes = new Hono<AppEnv>();

/** A region's nodes are spread over its registry shards: its view is all of them, by node id as one shard lists them. */
async function regionFleet(env: Env, region: RegionId) {
  const perShard = await Promise.all(regionShardStubs(env, region).map((shard) => shard.fleet()));
  return perShard.flat().sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}

defineRoute(fleetRoutes, {
  method: 'get', path: '/fleet/regions', tag: 'fleet', summary: 'Regions and their media nodes', auth: 'admin', responses: { 200: fleetResponseSchema },
}, async (c) => {
  const regions = await Promise.all(
    REGIONS.map(async (region) => {
      const baseline = baselineNodes(region);
      const nodes = region.roles.includes('media') ? await regionFleet(c.env, region.id) : [];
      return { id: region.id, name: region.name, roles: [...region.roles], baselineNodes: baseline, reserveNodes: reserveNodes(baseline), nodes };
    }),
  );
  return c.json({ regions } satisfies z.infer<typeof fleetResponseSchema>);
});

defineRoute(fleetRoutes, {
  method: 'post', path: '/fleet/regions/:region/nodes/:nodeId/drain', tag: 'fleet', summary: 'Drain a media node (optional JSON body with a deadline)', auth: 'admin',
  params: drainNodeParamsSchema, body: drainNodeRequestSchema, bodyOptional: true, responses: { 200: z.object({ node: fleetNodeSchema }) }, errors: ['NODE_NOT_FOUND'],
}, async (c, { params: { region, nodeId }, body }) => {
  const result = await nodeRegistryStub(c.env, region, nodeId).drain(nodeId, body.deadline ? Date.parse(body.deadline) : null);
  if (!result.ok) throw new AppError(result.code, result.message);
  return c.json({ node: result.value });
});

defineRoute(fleetRoutes, {
  method: 'post', path: '/fleet/regions/:region/nodes/:nodeId/undrain', tag: 'fleet', summary: 'Lift an operator drain: the node takes new meetings again (those that moved stay moved)', auth: 'admin',
  params: drainNodeParamsSchema, responses: { 200: z.object({ node: fleetNodeSchema }) }, errors: ['NODE_NOT_FOUND'],
}, async (c, { params: { region, nodeId } }) => {
  const result = await nodeRegistryStub(c.env, region, nodeId).undrain(nodeId);
  if (!result.ok) throw new AppError(result.code, result.message);
  return c.json({ node: result.value });
});
