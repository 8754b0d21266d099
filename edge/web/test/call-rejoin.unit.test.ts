import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assignment, devices, fakeBrowser, type FakeTrack, inCall, leaveCalls, roomReconnects, settle, view, welcome } from './call-fakes.js';

/**
 * What a page does after its room socket reconnects, and when it leaves while a device still opens:
 * the whole Call (room socket + media link + publisher) with the browser faked — a room WebSocket
 * the test plays the server on, MediaSession.start answering fake sessions, devices that open when
 * the test says so. The welcome after a reconnect is the only word on what happened meanwhile.
 */


beforeEach(() => {
  fakeBrowser();
});
afterEach(() => {
  leaveCalls();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('a host mute that happened while the page was reconnecting', () => {
  it('the welcome says the host muted my mic: the new media session must not send it (nor the button say live)', async () => {
    const { nodes, call, room, a } = await inCall();
    expect(a.sends('mic')).toBe(true);
    // A network blip takes both sockets; the host mutes me meanwhile (the `muted` message never reaches me).
    a.events.lost('media signaling closed (1006)');
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ mutedByHost: { audio: true, video: false } }), assignment('node-a')));
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    const next = nodes.last();
    expect({ buttonSaysLive: call.local.isOn('mic'), micSent: next.sends('mic') }).toEqual({ buttonSaysLive: false, micSent: false });
  });
});

describe('a webinar speaker sent back to the audience while the room socket was reconnecting', () => {
  it('the welcome says attendee: the devices close as they do on participant.updated (camera light off)', async () => {
    const { call, room, local } = await inCall({ mode: 'webinar' });
    const camera = local.camera as unknown as FakeTrack;
    const mic = local.mic as unknown as FakeTrack;
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a'), { meeting: { mode: 'webinar' } }));
    await settle();
    expect(call.canPublish).toBe(false);
    expect({ cameraStopped: camera.stopped, micStopped: mic.stopped, cameraOn: local.isOn('camera'), micOn: local.isOn('mic') }).toEqual({
      cameraStopped: true,
      micStopped: true,
      cameraOn: false,
      micOn: false,
    });
  });

  it('invited to speak again later: mic and camera must not go live by themselves', async () => {
    const { nodes, call, room } = await inCall({ mode: 'webinar' });
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a'), { meeting: { mode: 'webinar' } }));
    // Sent back to the audience meanwhile: a session with an attendee's rights starts.
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await settle();
    // The host invites me to speak: participant.updated, then a token for the new role.
    room2.serverSays({ type: 'participant.updated', participant: view({ role: 'participant' }) });
    room2.serverSays({ type: 'media.assignment', media: assignment('node-a', 1) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(3));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    await settle();
    const next = nodes.last();
    expect({ micSent: next.sends('mic'), cameraSent: next.sends('camera') }).toEqual({ micSent: false, cameraSent: false });
  });

  it('the same blip took the media session too: the attendee’s new (receive-only) session still comes up', async () => {
    const { nodes, call, room, a } = await inCall({ mode: 'webinar' });
    a.events.lost('media signaling closed (1006)');
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view({ role: 'attendee' }), assignment('node-a', 1), { meeting: { mode: 'webinar' } }));
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    await settle();
    await settle();
    expect(nodes.last().publish).toBe(false);
    // An attendee's session has no send transport; it must still receive (watch the webinar).
    expect(call.mediaStatus).toBe('connected');
  });

  it('the same demotion seen as participant.updated: promoted later, nothing goes live', async () => {
    const { nodes, call, room } = await inCall({ mode: 'webinar' });
    room.serverSays({ type: 'participant.updated', participant: view({ role: 'attendee' }) });
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 1) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(2));
    room.serverSays({ type: 'participant.updated', participant: view({ role: 'participant' }) });
    room.serverSays({ type: 'media.assignment', media: assignment('node-a', 2) });
    await vi.waitFor(() => expect(nodes.sessions.length).toBe(3));
    await vi.waitFor(() => expect(call.mediaStatus).toBe('connected'));
    await settle();
    const next = nodes.last();
    expect({ micSent: next.sends('mic'), cameraSent: next.sends('camera') }).toEqual({ micSent: false, cameraSent: false });
  });
});

describe('leaving while a device is still opening (permission prompt up)', () => {
  it('the camera that opens after Leave is stopped at once (no camera light on the end screen)', async () => {
    const { call, local } = await inCall({ devices: 'refuse' });
    expect(local.camera).toBeNull();
    devices.mode = 'hold';
    const turningOn = call.toggleCamera(); // "Start video": the browser asks for permission
    await settle();
    call.leave();
    expect(call.phase).toBe('ended');
    devices.held.splice(0).forEach((release) => release()); // the person clicks Allow
    await turningOn;
    const camera = devices.opened.at(-1)!;
    expect({ cameraStopped: camera.stopped, cameraKept: local.camera !== null }).toEqual({ cameraStopped: true, cameraKept: false });
  });
});
