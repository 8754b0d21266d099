import { Hono } from 'hono';
import { consumeDeadLetters, consumeHistory, HISTORY_DLQ } from './db/history-consumer.js';
import type { AppEnv } from './http/app-env.js';
import { errorResponse, notFoundResponse } from './http/errors.js';
import { securityHeaders } from './http/security-headers.js';
import { authRoutes } from './routes/auth.js';
import { fleetRoutes } from './routes/fleet.js';
import { joinRoutes } from './routes/join.js';
import { meetingRoutes } from './routes/meetings.js';
import { nodeRoutes } from './routes/nodes.js';
import { openApiRoutes } from './routes/openapi.js';
import { recordingUploadRoutes } from './routes/recording-uploads.js';
import { recordingRoutes } from './routes/recordings.js';

export { RoomDO } from './room/room-do.js';
export { RegionDO } from './registry/region-do.js';
export { AccountDO } from './auth/account-do.js';
export { RateLimiterDO } from './auth/rate-limiter-do.js';

/** Every API route lives under /api; anything else is the web app (static assets). */
const api = new Hono<AppEnv>();
api.use(securityHeaders);
api.route('/', authRoutes);
api.route('/', meetingRoutes);
api.route('/', joinRoutes);
api.route('/', recordingRoutes);
api.route('/', recordingUploadRoutes);
api.route('/', nodeRoutes);
api.route('/', fleetRoutes);
api.route('/', openApiRoutes);
api.notFound(notFoundResponse);
api.onError(errorResponse);

export const app = new Hono<AppEnv>();
app.route('/api', api);
app.notFound((c) => (c.req.path.startsWith('/api/') || c.req.path === '/api' ? notFoundResponse(c) : c.env.ASSETS.fetch(c.req.raw)));
app.onError(errorResponse);

export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    if (batch.queue === HISTORY_DLQ) await consumeDeadLetters(batch, env);
    else await consumeHistory(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
