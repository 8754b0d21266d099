import type { Call } from './call/call.js';

/**
 * `window.__edgemeet`: read-only numbers for tests and support (WebRTC stats of what this page
 * receives and sends, join timing). It exposes nothing a user could not see in webrtc-internals.
 */
export function installDebugHook(call: Call): void {
  const hook = {
    stats: async () => ({
      inbound: await call.inboundStats(),
      outbound: await call.outboundStats(),
      transports: call.transportStates,
    }),
    state: () => ({
      phase: call.phase,
      ending: call.ending,
      self: call.self?.participantId ?? null,
      role: call.self?.role ?? null,
      participants: [...call.participants.values()].map((person) => ({ participantId: person.participantId, displayName: person.displayName, role: person.role })),
      chat: call.chat.map((message) => ({ from: message.displayName, text: message.text })),
      roomStatus: call.roomStatus,
      mediaStatus: call.mediaStatus,
      mediaSessions: call.mediaSessions,
      quality: call.quality,
      recording: call.meeting?.recording.active ?? false,
    }),
    timing: () => ({
      joinClickedAt: call.timing.joinClickedAt,
      firstRemoteFrameAt: call.timing.firstRemoteFrameAt,
      joinToFirstFrameMs: call.timing.firstRemoteFrameAt === null ? null : call.timing.firstRemoteFrameAt - call.timing.joinClickedAt,
      /** Milestones after the Join click, in ms. */
      marks: Object.fromEntries(Object.entries(call.timing.marks).map(([name, at]) => [name, Math.round(at - call.timing.joinClickedAt)])),
    }),
  };
  (window as unknown as { __edgemeet: typeof hook }).__edgemeet = hook;
}
