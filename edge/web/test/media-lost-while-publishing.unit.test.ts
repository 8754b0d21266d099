import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assignment, fakeBrowser, type FakeSession, inCall, leaveCalls } from './call-fakes.js';

/**
 * A media session the node closes while the page is still publishing on it (between the mic's
 * produce and the camera's): the page must see it as lost, not report "connected" on a dead
 * session, and start a new one when the room answers its next media.refresh.
 */

beforeEach(() => {
  fakeBrowser();
});
afterEach(() => {
  leaveCalls();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('a media session lost while the page is still publishing on it', () => {
  it('the page reports reconnecting, asks the room again, and connects a new session on the answer', async () => {
    // Session 2 (after a first loss): the node closes it (MEETING_MOVED) right after answering the
    // mic's produce, before the camera is produced.
    const { nodes, call, room, a } = await inCall({
      prepare: (session, index) => {
        if (index !== 1) return;
        session.afterProduce = (source) => {
          if (source !== 'mic') return;
          session.close();
          session.events.closedByServer('MEETING_MOVED', 'the meeting moved to another media node');
        };
      },
    });
    const refreshes = () => room.sent.filter((m) => m.type === 'media.refresh').length;
    a.events.lost('media signaling closed (1006)');
    await vi.waitFor(() => expect(refreshes()).toBe(1), { timeout: 2_000 });
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 1) });
    await vi.waitFor(() => expect(nodes.sessions[1]?.closed).toBe(true));
    // That session is gone: not "connected", and the page asks the room again.
    await vi.waitFor(() => expect(refreshes()).toBe(2), { timeout: 2_000 });
    expect(call.mediaStatus).toBe('reconnecting');
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 2) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(3));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    const third = nodes.sessions[2]!;
    expect({ current: call.media.session === (third as unknown as typeof call.media.session), closed: (third as FakeSession).closed, micSent: third.sends('mic'), cameraSent: third.sends('camera') }).toEqual({
      current: true,
      closed: false,
      micSent: true,
      cameraSent: true,
    });
  });
});
