/**
 * The floor of bench:ttff: a bare mediasoup worker (bare-sfu.ts) and a page that drives
 * mediasoup-client straight at it (ttff-floor-page.ts, bundled here with esbuild and served on
 * 127.0.0.1). `round()` is what the floor costs: a fresh room, a publisher sending mic and camera,
 * then a first and a later joiner (each sending its own too, as the product's guests do) each timed
 * from "join" to their first decoded remote video frame; every page receives and plays everyone,
 * as the product's do, and the round ends once each shows every camera.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { startBareSfu, type BareSfu, type BareSfuOptions } from './bare-sfu.js';

declare global {
  interface Window {
    __floor?: { publish(url: string, room: string): Promise<void>; join(url: string, room: string): Promise<{ ms: number; marks: Record<string, number>; bursts: number[] }>; playing(): Playing };
  }
}

export interface FloorRound {
  firstMs: number;
  laterMs: number;
  /** Each joiner's milestones (ms after "join"), named as the product page names its own. */
  firstMarks: Record<string, number>;
  laterMarks: Record<string, number>;
  /** How many offers each of a joiner's negotiations took (a burst: everyone's tracks at once). */
  firstBursts: number[];
  laterBursts: number[];
  /** What each page (publisher, first, later joiner) played once everyone received everyone: its own camera and two others', two others' voices. */
  playing: Playing[];
}

/** Videos showing a frame and remote voices playing on one floor page. */
export interface Playing {
  videos: number;
  voices: number;
}

/** What each page plays, once all play `people` videos and `people - 1` voices or `timeoutMs` passed (then as they are). */
async function playingOnEvery(pages: readonly Page[], people: number, timeoutMs = 10_000): Promise<Playing[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(pages.map((page) => page.evaluate(() => window.__floor!.playing())));
    if (counts.every(({ videos, voices }) => videos >= people && voices >= people - 1) || Date.now() > deadline) return counts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface TtffFloor {
  sfu: BareSfu;
  /** The floor page's URL. */
  url: string;
  /** One room: publisher on, then the first joiner timed, then a later one; then each page playing everyone (playing). */
  round(browser: Browser, room: string, settleMs: number): Promise<FloorRound>;
  close(): Promise<void>;
}

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./ttff-floor-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function startTtffFloor(options: BareSfuOptions = {}): Promise<TtffFloor> {
  const script = await bundlePage();
  // The quickest first frame, as the node aims a young producer's first consumers (layer-start.ts).
  const sfu = await startBareSfu({ startLowest: true, ...options });
  const http: Server = createServer((request, response) => {
    if (request.url === '/floor.js') response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    else if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>ttff floor</title><script type="module" src="/floor.js"></script>');
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;

  const open = async (browser: Browser): Promise<Page> => {
    // The product's pages' size (edge/web/test/people.ts newPerson): its videos are painted at it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.__floor !== undefined);
    return page;
  };
  const timeJoin = async (browser: Browser, room: string) => {
    const page = await open(browser);
    // join() opens mic and camera before its clock starts, as the product's pre-join screen does.
    const { ms, marks, bursts } = await page.evaluate(([signaling, name]) => window.__floor!.join(signaling!, name!), [sfu.url, room]);
    return { page, ms, marks, bursts };
  };

  return {
    sfu,
    url,
    async round(browser, room, settleMs) {
      const pages: Page[] = [];
      try {
        const publisher = await open(browser);
        pages.push(publisher);
        await publisher.evaluate(([signaling, name]) => window.__floor!.publish(signaling!, name!), [sfu.url, room]);
        // As long as the product's host is alone in the call before the first guest clicks.
        await new Promise((resolve) => setTimeout(resolve, settleMs));
        const first = await timeJoin(browser, room);
        pages.push(first.page);
        const later = await timeJoin(browser, room);
        pages.push(later.page);
        return { firstMs: first.ms, laterMs: later.ms, firstMarks: first.marks, laterMarks: later.marks, firstBursts: first.bursts, laterBursts: later.bursts, playing: await playingOnEvery(pages, pages.length) };
      } finally {
        for (const page of pages) await page.context().close().catch(() => undefined);
      }
    },
    async close() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await sfu.close();
    },
  };
}
