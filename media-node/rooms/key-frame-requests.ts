import type { MediaKind } from '../../schema/wire/index.js';

/**
 * How long a producer holds a key frame request made soon after the one it last sent to the
 * browser, and sends it then.
 *
 * Why: Chrome's encoder acts on at most one key frame request per 300 ms and silently drops the
 * rest (libwebrtc's EncoderRtcpFeedback, kMinKeyframeSendIntervalMs), while mediasoup, having sent
 * a request, sends the next one for that stream only after 1 s without a key frame. So a second
 * consumer asking within 300 ms of a first that was already served (a recording and a viewer of a
 * camera just published, two people joining at once) got its first frame over a second late: a
 * recording of a guest who joined mid-meeting lost 1.1 s of their camera, about one time in four
 * on a loaded box (recording-integrity e2e). Held this long, the request reaches the browser after
 * its window has passed. The cost: a held request is sent even when a key frame in flight served
 * its consumer meanwhile, so a new consumer may bring one extra key frame (at most one per 350 ms
 * per layer). The limit: mediasoup holds requests per stream (simulcast layer), while Chrome's
 * window covers the whole camera, so a request for another layer within 300 ms (a consumer moving
 * up a layer) is still dropped and waits 1 s; new consumers of a young camera, recordings included,
 * start on the same lowest layer (layer-start.ts), which is the case this covers.
 */
export const KEY_FRAME_REQUEST_SPACING_MS = 350;

/** mediasoup's per-producer key frame request delay: only video has key frames to ask for. */
export function keyFrameRequestDelay(kind: MediaKind): number {
  return kind === 'video' ? KEY_FRAME_REQUEST_SPACING_MS : 0;
}
