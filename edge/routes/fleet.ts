import { Hono, type MiddlewareHandler } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import { drainNodeParamsSchema, drainNodeRequestSchema, type fleetResponseSchema } from '../../schema/wire/http.js';
import { baselineNodes, REGIONS, reserveNodes } from '../../schema/regions.js';
import type { z } from 'zod';
import type { AppEnv } from '../http/app-env.js';
import { parseParams, parseWith } from '../http/validate.js';
import { bearerToken, safeEqual } from '../registry/credentials.js';
import { regionStub } from '../registry/region-do.js';

/** Operators' view of the media fleet and node drain, behind the admin token. */
export const fleetRoutes = new Hono<AppEnv>();

const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  if (!token || !c.env.ADMIN_TOKEN || !(await safeEqual(token, c.env.ADMIN_TOKEN))) {
    throw new AppError('UNAUTHENTICATED', 'fleet API needs Authorization: Bearer <admin token>');
  }
  await next();
};

fleetRoutes.use('/fleet/*', requireAdmin);

fleetRoutes.get('/fleet/regions', async (c) => {
  const regions = await Promise.all(
    REGIONS.map(async (region) => {
      const baseline = baselineNodes(region);
      const nodes = region.roles.includes('media') ? await regionStub(c.env, region.id).fleet() : [];
      return { id: region.id, name: region.name, roles: [...region.roles], baselineNodes: baseline, reserveNodes: reserveNodes(baseline), nodes };
    }),
  );
  return c.json({ regions } satisfies z.infer<typeof fleetResponseSchema>);
});

fleetRoutes.post('/fleet/regions/:region/nodes/:nodeId/drain', async (c) => {
  const { region, nodeId } = parseParams(c, drainNodeParamsSchema);
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new AppError('BAD_REQUEST', 'request body is not valid JSON');
    }
  }
  const body = parseWith(drainNodeRequestSchema, raw);
  const result = await regionStub(c.env, region).drain(nodeId, body.deadline ? Date.parse(body.deadline) : null);
  if (!result.ok) throw new AppError(result.code, result.message);
  return c.json({ node: result.value });
});
