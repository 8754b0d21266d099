import type { Browser, Page } from 'playwright-core';

/** What window.__edgemeet exposes (edge/web/src/debug-hook.ts), as the test sees it. */
export interface InboundRow {
  participantId: string;
  displayName: string;
  kind: string;
  source: string;
  /** Simulcast spatial layer the node forwards (null: none yet / not simulcast). */
  spatialLayer: number | null;
  framesDecoded: number;
  frameWidth: number;
  totalAudioEnergy: number;
  bytesReceived: number;
}
interface Hook {
  stats(): Promise<{ inbound: InboundRow[]; outbound: Array<{ source: string; framesEncoded: number; layers: number }>; transports: { send: string; recv: string } | null }>;
  state(): { phase: string; mediaStatus: string; roomStatus: string; mediaSessions: number; participants: Array<{ displayName: string }>; ending: { code: string; message: string } | null };
  timing(): { joinToFirstFrameMs: number | null; marks: Record<string, number> };
}
declare global {
  interface Window {
    __edgemeet?: Hook;
    /** Every WebSocket the page opened (test instrumentation, see newPerson). */
    __sockets?: WebSocket[];
  }
}

/** One person in their own browser context (own storage), with a page. */
export async function newPerson(browser: Browser, baseUrl: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
  // Track the page's WebSockets so a test can cut them like a network drop would.
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const sockets: WebSocket[] = [];
    window.__sockets = sockets;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('pageerror', (error) => console.warn(`[page error] ${error.message}`));
  return page;
}

export async function signUp(page: Page, name: string, email: string, next?: string): Promise<void> {
  await page.goto(next ? `/signup?next=${encodeURIComponent(next)}` : '/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Clicks Join on the pre-join screen; returns Date.now() at the click. */
export async function join(page: Page, guestName?: string, options: { preview?: boolean } = {}): Promise<number> {
  const button = page.getByRole('button', { name: 'Join', exact: true });
  await button.waitFor({ timeout: 30_000 });
  if (guestName) await page.getByLabel('Your name').fill(guestName);
  // Let the camera preview start, as a person would see it before clicking.
  if (options.preview ?? true) await page.locator('video.preview').waitFor({ timeout: 15_000 });
  const clickedAt = Date.now();
  await button.click();
  return clickedAt;
}

export function inbound(page: Page): Promise<InboundRow[]> {
  return page.evaluate(async () => (await window.__edgemeet?.stats())?.inbound ?? []);
}

export function state(page: Page): Promise<ReturnType<Hook['state']> | null> {
  return page.evaluate(() => window.__edgemeet?.state() ?? null);
}

/** Polls until `check` passes (it throws or returns false otherwise). */
export async function eventually<T>(what: string, check: () => Promise<T | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const result = await check();
      if (result !== false) return result;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Sum of a counter over the rows from `displayName` with `source`. */
export function total(rows: InboundRow[], displayName: string, source: string, field: 'framesDecoded' | 'totalAudioEnergy'): number {
  return rows.filter((row) => row.displayName === displayName && row.source === source).reduce((sum, row) => sum + row[field], 0);
}

/** The counter is above zero and still growing after a pause (media flows, not just one frame). */
export async function expectGrowing(page: Page, from: string, source: string, field: 'framesDecoded' | 'totalAudioEnergy', timeoutMs = 30_000): Promise<void> {
  const first = await eventually(`${field} of ${from}/${source}`, async () => {
    const value = total(await inbound(page), from, source, field);
    return value > 0 ? value : false;
  }, timeoutMs);
  await eventually(`${field} of ${from}/${source} to grow past ${first}`, async () => total(await inbound(page), from, source, field) > first, 10_000);
}

/** Cuts the page's open WebSockets (all, or only media signaling), as a network drop would. */
export function dropSockets(page: Page, which: 'all' | 'media' = 'all'): Promise<number> {
  return page.evaluate((which) => {
    const open = (window.__sockets ?? []).filter((socket) => socket.readyState === WebSocket.OPEN && (which === 'all' || !socket.url.includes('/api/')));
    for (const socket of open) socket.close(3000, 'simulated network drop');
    return open.length;
  }, which);
}

/** A person whose browser refuses camera and microphone (as after clicking "Block"). */
export async function refuseDevices(page: Page): Promise<void> {
  await page.context().addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
}
