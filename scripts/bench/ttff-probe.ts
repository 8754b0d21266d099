/**
 * Diagnostics for bench:ttff (`--diagnose`): where a joiner's first frame waits. In the joiner's
 * page, a 20 ms getStats poll over its peer connections records when remote video first had
 * packets, a received frame and a decoded frame (ms after the Join click), and the PLIs it sent;
 * in the host's page, each simulcast layer's encoder state (size, keyframes, PLIs received).
 */
import type { Page } from 'playwright-core';

declare global {
  interface Window {
    __ttffProbe?: Record<string, number>;
  }
}

/** Starts the joiner's poll (call before the click; it waits for the page's hook, installed on Join). */
export function startJoinerProbe(page: Page): Promise<void> {
  return page.evaluate(() => {
    const seen: Record<string, number> = {};
    window.__ttffProbe = seen;
    // No named function expressions in here: tsx would wrap them in a helper the page lacks.
    const timer = setInterval(() => {
      // The hook's timing() also carries the click's performance.now() (edge/web/src/debug-hook.ts).
      const clicked = (window.__edgemeet?.timing() as unknown as { joinClickedAt?: number } | undefined)?.joinClickedAt;
      if (!clicked) return;
      void Promise.all((window.__peerConnections ?? []).map((pc) => pc.getStats().catch(() => null))).then((reports) => {
        const at = Math.round(performance.now() - clicked);
        for (const report of reports) {
          report?.forEach((stat: Record<string, unknown>) => {
            if (stat['type'] !== 'inbound-rtp' || stat['kind'] !== 'video') return;
            if (Number(stat['packetsReceived']) > 0) seen['videoPackets'] ??= at;
            if (Number(stat['framesReceived']) > 0) seen['videoFrameReceived'] ??= at;
            if (Number(stat['framesDecoded']) > 0) {
              seen['videoFrameDecoded'] ??= at;
              seen['plisSent'] ??= Number(stat['pliCount'] ?? 0);
              seen['firstFrameWidth'] ??= Number(stat['frameWidth'] ?? 0);
            }
          });
        }
        if (seen['videoFrameDecoded'] !== undefined) clearInterval(timer);
      });
    }, 20);
  });
}

export function joinerProbe(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => window.__ttffProbe ?? {});
}

/** The host's camera layers now: rid → width, frames and keyframes encoded, PLIs received. */
export function hostLayers(page: Page): Promise<Record<string, string>> {
  return page.evaluate(async () => {
    const layers: Record<string, string> = {};
    for (const pc of window.__peerConnections ?? []) {
      if (pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((stat: Record<string, unknown>) => {
        if (stat['type'] !== 'outbound-rtp' || stat['kind'] !== 'video') return;
        layers[String(stat['rid'] ?? '-')] =
          `${stat['frameWidth'] ?? 0}w f${stat['framesEncoded'] ?? 0} k${stat['keyFramesEncoded'] ?? 0} pli${stat['pliCount'] ?? 0} ${stat['qualityLimitationReason'] ?? ''}${stat['active'] === false ? ' inactive' : ''}`;
      });
    }
    return layers;
  });
}
