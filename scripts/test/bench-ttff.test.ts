import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../chromium.js';
import { startTtffFloor, type TtffFloor } from '../bench/ttff-floor.js';
import { joinTiming } from '../bench/ttff-run.js';

/**
 * bench:ttff measures what it says: the floor page times join → first decoded remote video frame
 * in real Chromium against the bare worker (an injected delay before each consumer reaches the
 * page shows up whole in both joiners' figures), and the product side reads the page's own
 * Join → first frame figure and milestones.
 */
describe('bench:ttff harness', () => {
  let browser: Browser;
  let plain: TtffFloor;
  let delayed: TtffFloor;
  const DELAY_MS = 700;
  beforeAll(async () => {
    browser = await launchChromium();
    plain = await startTtffFloor();
    delayed = await startTtffFloor({ consumerDelayMs: DELAY_MS });
  });
  afterAll(async () => {
    await browser?.close();
    await plain?.close();
    await delayed?.close();
  });

  it('times both joiners of a floor room to their first decoded frame, and closes what it opened', async () => {
    const round = await plain.round(browser, 'plain', 0);
    expect(round.firstMs).toBeGreaterThan(0);
    expect(round.laterMs).toBeGreaterThan(0);
    // Each joiner does a product guest's work: it receives audio and video and sends its own camera.
    for (const marks of [round.firstMarks, round.laterMarks]) {
      expect(Object.keys(marks)).toEqual(expect.arrayContaining(['mediaJoined', 'firstAudioConsumer', 'firstVideoConsumer', 'cameraProduced']));
      expect(marks['mediaJoined']).toBeLessThanOrEqual(marks['firstVideoConsumer']!);
    }
    // And each page plays what a product page does: its own camera and the two others', their voices.
    expect(round.playing).toEqual([3, 3, 3].map(() => ({ videos: 3, voices: 2 })));
    // As quick as the product's path can be: each joiner negotiates everyone already there in one
    // go (the host's two tracks; then the host's and the first guest's four), and every video
    // consumer starts on its lowest layer, as the node starts a young producer's.
    expect(round.firstBursts[0]).toBe(2);
    expect(round.laterBursts[0]).toBe(4);
    expect(plain.sfu.videoStartLayers().length).toBeGreaterThanOrEqual(6);
    expect(new Set(plain.sfu.videoStartLayers())).toEqual(new Set([0]));
    // Publisher and both joiners gone: no consumers left in the worker.
    const deadline = Date.now() + 10_000;
    while (plain.sfu.consumerCount() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(plain.sfu.consumerCount()).toBe(0);
  });

  it('reports a delay injected before each consumer reaches the page, for the first and a later joiner', async () => {
    const round = await delayed.round(browser, 'delayed', 0);
    // The frame cannot be decoded before the consumer exists in the page: the whole delay is in it.
    expect(round.firstMs).toBeGreaterThanOrEqual(DELAY_MS);
    expect(round.laterMs).toBeGreaterThanOrEqual(DELAY_MS);
  });

  it("reads the product page's own Join → first frame figure and milestones", async () => {
    const page = await browser.newPage();
    try {
      await page.setContent('<title>hook</title>');
      const waiting = joinTiming(page, 10_000);
      // The figure appears later, as the page's debug hook fills it in once a frame is decoded.
      await page.evaluate(() => {
        (window as unknown as { __edgemeet: unknown }).__edgemeet = { timing: () => ({ joinToFirstFrameMs: null, marks: {} }) };
        setTimeout(() => {
          (window as unknown as { __edgemeet: unknown }).__edgemeet = { timing: () => ({ joinToFirstFrameMs: 432.5, marks: { mediaJoined: 200 } }) };
        }, 300);
      });
      expect(await waiting).toEqual({ ms: 432.5, marks: { mediaJoined: 200 } });
    } finally {
      await page.close();
    }
  });
});
