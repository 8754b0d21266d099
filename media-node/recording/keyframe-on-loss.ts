import type { Readable } from 'node:stream';

/**
 * A capture ffmpeg that loses a video packet (late past its reorder window, or dropped) drops
 * every frame until the next key frame, and a WebRTC sender sends one only when asked: a file
 * could stay empty, or frozen, for the rest of the recording. ffmpeg sends no PLI, so the
 * recorder asks for it when ffmpeg says its depacketizer lost sync, as a browser's PLI would.
 */
const LOST_SYNC = /Missed a picture|sequence broken|RTP: missed \d+ packets|RTP: PT=\S+: bad cseq/;
/** At most one request this often: a burst of loss needs one key frame, not one per line. */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 500;

export function requestKeyFramesOnLoss(stderr: Readable, request: () => Promise<void>, now: () => number = Date.now): () => void {
  let lastAt = -Infinity;
  let pending = '';
  const onData = (chunk: Buffer | string) => {
    // Lines can arrive split across chunks: look at whole lines only.
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!.slice(-500);
    if (!lines.some((line) => LOST_SYNC.test(line))) return;
    if (now() - lastAt < KEY_FRAME_REQUEST_INTERVAL_MS) return;
    lastAt = now();
    void request().catch(() => undefined); // consumer closed meanwhile: nothing left to fix
  };
  stderr.on('data', onData);
  return () => stderr.off('data', onData);
}

/**
 * A fresh capture asks for a key frame when it resumes; mediasoup asks the sender again only after
 * 1 s, and Chrome ignores a request that comes within ~300 ms of another (a viewer's, for another
 * layer, when a camera is just published). A browser receiving nothing re-asks every ~200 ms; ffmpeg
 * never does. So until the first frame is forwarded the recorder re-asks every `intervalMs`, at
 * most `tries` times (a paused camera sends nothing however often it is asked).
 */
export const FIRST_KEY_FRAME_RETRY_MS = 400;
export function requestKeyFramesUntilFlowing(request: () => Promise<void>, flowing: Promise<void>, tries = 10, intervalMs = FIRST_KEY_FRAME_RETRY_MS): () => void {
  let left = tries;
  const timer = setInterval(() => {
    if (left-- <= 0) return clearInterval(timer);
    void request().catch(() => clearInterval(timer)); // consumer closed: nothing left to ask for
  }, intervalMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  void flowing.then(stop);
  return stop;
}
