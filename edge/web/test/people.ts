import type { Browser, Page } from 'playwright-core';
import type { CameraProgress, InboundRow, OutboundRow } from '../src/call/call-stats.js';

/** What window.__edgemeet exposes (edge/web/src/debug-hook.ts); its rows are the page's own types. */
export type { CameraProgress, InboundRow, OutboundRow };

interface Hook {
  stats(): Promise<{ inbound: InboundRow[]; outbound: OutboundRow[]; transports: { send: string; recv: string } | null }>;
  state(): {
    phase: string;
    mediaStatus: string;
    roomStatus: string;
    mediaSessions: number;
    /** The media node the page is sent to now. */
    mediaNodeId: string | null;
    role: string | null;
    cameraOn: boolean;
    /** The page says it is reconnecting (banner shown). */
    reconnecting: boolean;
    micOn: boolean;
    micOpen: boolean;
    participants: Array<{ displayName: string }>;
    ending: { code: string; message: string } | null;
  };
  cameraProgress(): Promise<{ cameras: Record<string, CameraProgress>; mediaSessions: number }>;
  timing(): { joinToFirstFrameMs: number | null; marks: Record<string, number>; recent: [string, number][] };
}
declare global {
  interface Window {
    __edgemeet?: Hook;
    /** Every WebSocket the page opened (test instrumentation, see newPerson). */
    __sockets?: WebSocket[];
    /** Asks the page to send and receive media through the TURN relay only (edge/web/src/call/ice-policy.ts). */
    __edgemeetIceRelayOnly?: boolean;
    /** Asks the page to time Join → first decoded frame (edge/web/src/debug-hook.ts). */
    __edgemeetFirstFrameTiming?: boolean;
    __bannerLog?: BannerLog;
    /** Every RTCPeerConnection the page made (test instrumentation, see newPerson). */
    __peerConnections?: RTCPeerConnection[];
    /** Tracks taken off their senders by silenceSending, to put back. */
    __silenced?: Array<[RTCRtpSender, MediaStreamTrack]>;
  }
}

/** One person in their own browser context (own storage), with a page. */
export async function newPerson(browser: Browser, baseUrl: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
  // Track the page's WebSockets so a test can cut them like a network drop would.
  await context.addInitScript(() => {
    window.__edgemeetFirstFrameTiming = true;
    // Keep the page's peer connections so a test can stop what it sends, as a stalled uplink would.
    const NativePeerConnection = window.RTCPeerConnection;
    const peerConnections: RTCPeerConnection[] = [];
    window.__peerConnections = peerConnections;
    window.RTCPeerConnection = class extends NativePeerConnection {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        peerConnections.push(this);
      }
    };
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

/** A signed-in host starts a new meeting from the home page; answers the meeting's path (/m/<link>). */
export async function startMeeting(host: Page): Promise<string> {
  await host.getByRole('button', { name: 'New meeting' }).click();
  await host.waitForURL(/\/m\/[A-Za-z0-9_-]{22}$/);
  return new URL(host.url()).pathname;
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

export function outbound(page: Page): Promise<OutboundRow[]> {
  return page.evaluate(async () => (await window.__edgemeet?.stats())?.outbound ?? []);
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

/** A person whose microphone takes `delayMs` to open (a slow device or permission prompt). */
export async function slowMicrophone(page: Page, delayMs: number): Promise<void> {
  await page.context().addInitScript((delay) => {
    const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      if (constraints?.audio) await new Promise((resolve) => setTimeout(resolve, delay));
      return open(constraints);
    };
  }, delayMs);
}

/** When the reconnect banner showed and cleared, and when remote packets were first seen after it showed (page clock, ms). */
export interface BannerLog {
  shownAt: number | null;
  hiddenAt: number | null;
  firstPacketsAt: number | null;
}

/** Starts logging the next show/clear of the reconnect banner, and when remote media arrives again (50 ms poll). */
export function watchReconnectBanner(page: Page): Promise<void> {
  return page.evaluate(() => {
    const log: BannerLog = { shownAt: null, hiddenAt: null, firstPacketsAt: null };
    window.__bannerLog = log;
    const banner = document.querySelector<HTMLElement>('.banner');
    if (!banner) throw new Error('no banner element');
    new MutationObserver(() => {
      if (!banner.hidden) log.shownAt ??= performance.now();
      else if (log.shownAt !== null) log.hiddenAt ??= performance.now();
    }).observe(banner, { attributes: true, attributeFilter: ['hidden'] });
    // Remote tracks of the lost session are gone before the banner shows: rows now are the new session's.
    const timer = setInterval(() => {
      if (log.shownAt === null) return;
      void window.__edgemeet?.stats().then(({ inbound }) => {
        if (inbound.some((row) => row.bytesReceived > 0)) {
          log.firstPacketsAt ??= performance.now();
          clearInterval(timer);
        }
      });
    }, 50);
  });
}

export function bannerLog(page: Page): Promise<BannerLog | null> {
  return page.evaluate(() => window.__bannerLog ?? null);
}

/**
 * The page stops sending RTP (its senders lose their tracks) while every producer stays unpaused:
 * to the others it is a silent stall. Returns how many senders went quiet.
 */
export function silenceSending(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const silenced: Array<[RTCRtpSender, MediaStreamTrack]> = [];
    for (const pc of window.__peerConnections ?? []) {
      if (pc.signalingState === 'closed') continue; // earlier sessions, capability probes
      for (const sender of pc.getSenders()) {
        if (!sender.track) continue;
        silenced.push([sender, sender.track]);
        await sender.replaceTrack(null);
      }
    }
    window.__silenced = silenced;
    return silenced.length;
  });
}

/** Undoes silenceSending. */
export function resumeSending(page: Page): Promise<void> {
  return page.evaluate(async () => {
    for (const [sender, track] of window.__silenced?.splice(0) ?? []) await sender.replaceTrack(track);
  });
}

/** Waits until the page is in the call; on a timeout, says what the page showed instead (its alerts). */
export async function inCall(page: Page, who: string, timeoutMs = 30_000): Promise<void> {
  try {
    await eventually(`${who} in the call`, async () => (await state(page))?.phase === 'in-call', timeoutMs);
  } catch (error) {
    const alerts = await page.locator('[role=alert]').allInnerTexts().catch(() => []);
    throw new Error(`${(error as Error).message}; the page shows: ${JSON.stringify(alerts.filter((text) => text.trim() !== ''))}`);
  }
}
