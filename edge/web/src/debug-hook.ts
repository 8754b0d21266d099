import type { Call } from './call/call.js';

/**
 * Set to true on window before the page loads (the e2e test's init script does) to time Join →
 * first decoded remote frame. That takes a getStats poll every 50 ms, so it is off otherwise.
 */
const FIRST_FRAME_TIMING_FLAG = '__edgemeetFirstFrameTiming';
const FIRST_FRAME_POLL_MS = 50;

/**
 * `window.__edgemeet`: read-only numbers for tests and support (WebRTC stats of what this page
 * receives and sends, join timing). It exposes nothing a user could not see in webrtc-internals,
 * and reads stats only when asked.
 */
export function installDebugHook(call: Call): void {
  if ((window as unknown as Record<string, unknown>)[FIRST_FRAME_TIMING_FLAG] === true) watchFirstFrame(call);
  const hook = {
    stats: async () => ({
      inbound: await call.stats.inbound(),
      outbound: await call.stats.outbound(),
      transports: call.media.session?.transportStates ?? null,
    }),
    /** Each shown remote camera's progress (CameraProgress) and the media session count, in one cheap call (the failover drill's sample). */
    cameraProgress: async () => ({ cameras: await call.stats.cameraProgress(), mediaSessions: call.media.sessions }),
    state: () => ({
      phase: call.phase,
      ending: call.ending,
      self: call.self?.participantId ?? null,
      role: call.self?.role ?? null,
      participants: [...call.participants.values()].map((person) => ({ participantId: person.participantId, displayName: person.displayName, role: person.role })),
      chat: call.chat.map((message) => ({ from: message.displayName, text: message.text })),
      roomStatus: call.roomStatus,
      mediaStatus: call.mediaStatus,
      mediaSessions: call.media.sessions,
      mediaNodeId: call.media.nodeId,
      reconnecting: call.reconnecting,
      quality: call.quality,
      /** What the buttons show (and so what is sent), and whether the device is open at all. */
      micOn: call.local.isOn('mic'),
      cameraOn: call.local.isOn('camera'),
      micOpen: call.local.mic !== null,
      recording: call.meeting?.recording.active ?? false,
    }),
    timing: () => ({
      joinClickedAt: call.timing.joinClickedAt,
      firstRemoteFrameAt: call.timing.firstRemoteFrameAt,
      joinToFirstFrameMs: call.timing.firstRemoteFrameAt === null ? null : call.timing.firstRemoteFrameAt - call.timing.joinClickedAt,
      /** Milestones after the Join click, in ms. */
      marks: Object.fromEntries(Object.entries(call.timing.marks).map(([name, at]) => [name, Math.round(at - call.timing.joinClickedAt)])),
      /** Recent milestones in order, raw performance.now() (a failover drill reads them against the fault). */
      recent: call.timing.recent.slice(),
    }),
  };
  (window as unknown as { __edgemeet: typeof hook }).__edgemeet = hook;
}

/** Records when the first remote video frame is decoded, then stops. */
function watchFirstFrame(call: Call): void {
  let busy = false;
  const timer = window.setInterval(() => {
    if (call.timing.firstRemoteFrameAt !== null || call.ended) {
      clearInterval(timer);
      return;
    }
    if (busy) return;
    busy = true;
    const videos = [...call.remotes.values()].filter((remote) => remote.kind === 'video');
    void Promise.all(videos.map((remote) => remote.consumer.getStats().catch(() => null)))
      .then((reports) => {
        for (const report of reports) {
          report?.forEach((stat: Record<string, unknown>) => {
            if (stat.type === 'inbound-rtp' && typeof stat.framesDecoded === 'number' && stat.framesDecoded > 0) call.timing.firstRemoteFrameAt ??= performance.now();
          });
        }
      })
      .finally(() => (busy = false));
  }, FIRST_FRAME_POLL_MS);
}
