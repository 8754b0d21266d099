import { Hono } from 'hono';
import type { AppEnv } from '../../../edge/http/app-env.js';
import { finishRecordingUpload, grantRecordingUpload } from '../../../edge/files/recording-grants.js';
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
// Test only: what the RoomDO does when it asks a node to record (and when the node reports the
// recording final), so uploads are allowed for that recording and that node only.
app.post('/test/grants/:recordingId', async (c) => {
  const { nodeId, meetingLinkId } = await c.req.json<{ nodeId: string; meetingLinkId: string }>();
  await grantRecordingUpload(c.env.FILES, { recordingId: c.req.param('recordingId'), nodeId, meetingLinkId });
  return c.body(null, 204);
});
app.post('/test/grants/:recordingId/finish', async (c) => {
  await finishRecordingUpload(c.env.FILES, c.req.param('recordingId'));
  return c.body(null, 204);
});
export default { fetch: app.fetch };
