import { Hono } from 'hono';
import type { AppEnv } from '../../../edge/http/app-env.js';
import { errorResponse, notFoundResponse } from '../../../edge/http/errors.js';
import { recordingUploadRoutes } from '../../../edge/routes/recording-uploads.js';
import { recordingRoutes } from '../../../edge/routes/recordings.js';

/**
 * The edge's real recordings routes mounted under /api exactly as edge/worker.ts mounts them,
 * bundled for Miniflare (R2 binding FILES) so the recorder's uploads go through workerd + R2.
 */
const api = new Hono<AppEnv>();
api.route('/', recordingRoutes);
api.route('/', recordingUploadRoutes);
api.notFound(notFoundResponse);
api.onError(errorResponse);
const app = new Hono<AppEnv>();
app.route('/api', api);
export default { fetch: app.fetch };
