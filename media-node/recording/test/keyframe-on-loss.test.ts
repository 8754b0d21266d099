import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KEY_FRAME_REQUEST_INTERVAL_MS, requestKeyFramesOnLoss, requestKeyFramesUntilFlowing } from '../keyframe-on-loss.js';

/** What a capture ffmpeg (5.1, -loglevel warning) wrote when a VP8 packet came too late to reorder. */
const LOSS_LINES = [
  '[sdp @ 0x559a6bc5fac0] max delay reached. need to consume packet\n',
  '[sdp @ 0x559a6bc5fac0] RTP: missed 1 packets\n',
  '[sdp @ 0x559a6bc5fac0] Missed a picture, sequence broken\n',
];

describe('requestKeyFramesOnLoss', () => {
  it('asks for a key frame when ffmpeg lost video sync, once per burst, again after the interval', async () => {
    const stderr = new PassThrough();
    let clock = 1_000;
    let requests = 0;
    const stop = requestKeyFramesOnLoss(stderr, async () => void requests++, () => clock);
    for (const line of LOSS_LINES) stderr.write(line);
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(1);
    clock += KEY_FRAME_REQUEST_INTERVAL_MS;
    // A line split across two chunks still counts once it is whole.
    stderr.write('[sdp @ 0x1] Missed a pic');
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(1);
    stderr.write('ture, sequence broken\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(2);
    stop();
    clock += KEY_FRAME_REQUEST_INTERVAL_MS;
    stderr.write(LOSS_LINES[2]!);
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(2);
  });

  it('ignores what is not a loss of sync, and survives a request that fails', async () => {
    const stderr = new PassThrough();
    let requests = 0;
    requestKeyFramesOnLoss(stderr, async () => {
      requests++;
      throw new Error('consumer closed');
    });
    stderr.write('[sdp @ 0x1] max delay reached. need to consume packet\nInput #0, sdp, from file.sdp:\n  Stream #0:0: Video: vp8, yuv420p, 640x360\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(0);
    stderr.write(LOSS_LINES[1]!);
    await new Promise((resolve) => setImmediate(resolve));
    expect(requests).toBe(1);
  });
});

describe('requestKeyFramesUntilFlowing', () => {
  it('re-asks every interval until the first frame is forwarded, then stops; gives up after its tries', async () => {
    let requests = 0;
    let markFlowing!: () => void;
    const flowing = new Promise<void>((resolve) => (markFlowing = resolve));
    requestKeyFramesUntilFlowing(async () => void requests++, flowing, 10, 20);
    await new Promise((resolve) => setTimeout(resolve, 75));
    expect(requests).toBeGreaterThanOrEqual(2);
    markFlowing();
    await flowing;
    const asked = requests;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(requests).toBe(asked);

    let more = 0;
    requestKeyFramesUntilFlowing(async () => void more++, new Promise<void>(() => undefined), 3, 5);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(more).toBe(3);
  });
});
