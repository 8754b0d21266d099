import type { Context } from 'hono';
import { assertNever } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import type { User } from '../../schema/wire/http.js';
import { currentUser, optionalAuth, requireAuth } from '../auth/middleware.js';
import { edgeConfig } from '../config.js';
import type { AppEnv } from '../http/app-env.js';
import type { RouteAuth } from '../http/route-docs.js';
import { bearerToken, requireNodeIdentity, safeEqual } from '../registry/credentials.js';
import type { RegionId } from '../../schema/regions.js';

/** Who asked, as far as the route's auth tells: the signed-in user or the media node. */
export interface Principal {
  user?: User | undefined;
  nodeId?: string;
  /** The region the node's credential is bound to (issue 13, point 12). */
  nodeRegion?: RegionId;
}

const proceed = async (): Promise<void> => {};

/** Runs the check a route's declared `auth` stands for; throws its error code when it fails. */
export async function authenticate(c: Context<AppEnv>, auth: RouteAuth): Promise<Principal> {
  switch (auth) {
    case 'none':
      return {};
    case 'session':
      await requireAuth(c, proceed);
      return { user: currentUser(c) };
    case 'optional-session':
      await optionalAuth(c, proceed);
      return { user: c.get('user') };
    case 'admin':
      await requireAdmin(c);
      return {};
    case 'node': {
      const { nodeId, region } = await requireNodeIdentity(edgeConfig(c.env).nodeCredentialSecret, c.req.header('Authorization'));
      return { nodeId, nodeRegion: region };
    }
    default:
      return assertNever(auth, 'route auth');
  }
}

async function requireAdmin(c: Context<AppEnv>): Promise<void> {
  const token = bearerToken(c.req.header('Authorization'));
  const { adminToken } = edgeConfig(c.env);
  if (!token || !adminToken || !(await safeEqual(token, adminToken))) {
    throw new AppError('UNAUTHENTICATED', 'fleet API needs Authorization: Bearer <admin token>');
  }
}
