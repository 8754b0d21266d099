import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { createRecorder } from '../recorder.js';
import { startSyntheticParticipant } from './synthetic-participant.js';

/**
 * A media node's recording, alone in its own process, so a test can SIGKILL it mid-recording:
 * `node --import tsx recorder-child.ts <dir> <recordingId>`. Prints one JSON line once capturing.
 */
const [dir, recordingId] = process.argv.slice(2) as [string, string];
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
const dave = await startSyntheticParticipant(router, { participantId: 'dave-000001', pattern: 'testsrc' });
const recorder = await createRecorder({
  router,
  recordingId,
  meetingId: 'RecKillMeeting00000001',
  dir,
  log: pino({ level: 'warn' }),
  uploader: { name: 'never', upload: () => Promise.reject(new Error('this process is killed before uploading')) },
});
await Promise.all([
  recorder.addProducer(dave.audio, { participantId: dave.participantId, source: 'mic' }),
  recorder.addProducer(dave.video, { participantId: dave.participantId, source: 'camera' }),
]);
process.stdout.write(`${JSON.stringify({ capturing: true, senderPid: dave.ffmpeg.pid })}\n`);
setInterval(() => undefined, 60_000);
