import type { Page } from 'playwright-core';

/** What a fault or a move looks like from a page: whether it reloaded, whether it said "reconnecting". */

/** The banner that reports the connection (the page has others, e.g. recording notes). */
export const REPORT_BANNER = '.banner[role="alert"]';

/** Set before the fault: a reload or a navigation would lose it. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => Object.assign(window, { __beforeFailover: true }));
}
export async function samePage(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __beforeFailover?: boolean }).__beforeFailover === true);
}

export interface ReconnectWatch {
  /** What the banner said when watching began (null: hidden). */
  bannerAtStart: string | null;
  /** The page said it was reconnecting (its state, or the banner) at some point since. */
  sawReconnecting: boolean;
}

/** Watches (50 ms poll in the page) whether the page tells its user it is reconnecting. */
export async function watchReconnecting(page: Page): Promise<void> {
  await page.evaluate(() => {
    const banner = document.querySelector<HTMLElement>('.banner[role="alert"]');
    const watch = { bannerAtStart: banner && !banner.hidden ? banner.textContent : null, sawReconnecting: false };
    Object.assign(window, { __reconnectWatch: watch });
    const timer = setInterval(() => {
      const reconnecting = (window as unknown as { __edgemeet?: { state(): { reconnecting: boolean } } }).__edgemeet?.state().reconnecting === true;
      if (reconnecting || (banner && !banner.hidden && /reconnecting/i.test(banner.textContent ?? ''))) {
        watch.sawReconnecting = true;
        clearInterval(timer);
      }
    }, 50);
  });
}
export function reconnectWatch(page: Page): Promise<ReconnectWatch> {
  return page.evaluate(() => (window as unknown as { __reconnectWatch: ReconnectWatch }).__reconnectWatch);
}
