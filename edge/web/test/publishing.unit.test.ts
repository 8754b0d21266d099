import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalMedia } from '../src/call/local-media.js';
import type { MediaSession } from '../src/call/media-session.js';
import { Publisher } from '../src/call/publisher.js';
import type { MediaSource } from '../src/wire.js';

/** A device track as far as LocalMedia and the publisher touch it. */
class FakeTrack {
  enabled = true;
  stopped = false;
  constructor(readonly kind: 'audio' | 'video') {}
  stop(): void {
    this.stopped = true;
  }
  getSettings(): { deviceId: string } {
    return { deviceId: `${this.kind}-device` };
  }
}

/** getUserMedia that answers when the test says so (a device "still opening"). */
function slowDevices() {
  const pending: Array<() => void> = [];
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getUserMedia: (constraints: { audio?: unknown; video?: unknown }) =>
        new Promise((resolve) => {
          const track = new FakeTrack(constraints.audio ? 'audio' : 'video');
          pending.push(() => resolve({ getAudioTracks: () => (track.kind === 'audio' ? [track] : []), getVideoTracks: () => (track.kind === 'video' ? [track] : []) }));
        }),
    },
  });
  return { openAll: () => pending.splice(0).forEach((open) => open()) };
}

/** The media node's view of one session: which producers exist and whether it forwards them. */
class FakeSession {
  readonly atNode = new Map<MediaSource, { track: FakeTrack; paused: boolean }>();
  canProduceVideo = true;
  hasProducer(source: MediaSource): boolean {
    return this.atNode.has(source);
  }
  async produce(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    await Promise.resolve();
    this.atNode.set(source, { track: track as unknown as FakeTrack, paused });
  }
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.atNode.get(source);
    if (producer) producer.paused = paused;
  }
  /** The camera's encoder runs slowly (a session being left during a move). */
  cameraSlowed = false;
  async slowCamera(on: boolean): Promise<void> {
    this.cameraSlowed = on;
  }
  async replaceTrack(): Promise<void> {}
  async closeProducer(source: MediaSource): Promise<void> {
    this.atNode.delete(source);
  }
  /** What the others receive: a producer the node forwards, with a live track. */
  sends(source: MediaSource): boolean {
    const producer = this.atNode.get(source);
    return producer !== undefined && !producer.paused && producer.track.enabled;
  }
}

const asSession = (fake: FakeSession) => fake as unknown as MediaSession;
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

let devices: ReturnType<typeof slowDevices>;
beforeEach(() => {
  devices = slowDevices();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the person’s device choice', () => {
  it('a mic still opening when Join is clicked (shown as off) stays off when it opens', async () => {
    const local = new LocalMedia();
    const opening = local.openMic();
    local.settleChoice(); // the Join click: the button reads "Unmute"
    devices.openAll();
    const mic = (await opening) as unknown as FakeTrack;
    expect(local.isOn('mic')).toBe(false);
    expect(mic.enabled).toBe(false);
  });

  it('after Join, turning on a device that does not open leaves it off, even if an earlier open lands later', async () => {
    const local = new LocalMedia();
    const early = local.openMic();
    local.settleChoice();
    local.choose('mic', true); // clicked Unmute, but no device is open yet
    expect(local.isOn('mic')).toBe(false);
    devices.openAll();
    const mic = (await early) as unknown as FakeTrack;
    expect(local.isOn('mic')).toBe(false);
    expect(mic.enabled).toBe(false);
  });

  it('a device open at the Join click stays on, and a re-opened device keeps the choice', async () => {
    const local = new LocalMedia();
    const opening = local.openMic();
    devices.openAll();
    await opening;
    local.settleChoice();
    expect(local.isOn('mic')).toBe(true);
    local.choose('mic', false);
    expect((local.mic as unknown as FakeTrack).enabled).toBe(false);
    const reopening = local.openMic('other-mic');
    devices.openAll();
    const replaced = (await reopening) as unknown as FakeTrack;
    expect(replaced.enabled).toBe(false);
    expect(local.isOn('mic')).toBe(false);
  });
});

describe('publishing on a new media session (failover, reconnect)', () => {
  async function joinedWithLateDevices(): Promise<{ local: LocalMedia; publisher: Publisher }> {
    const local = new LocalMedia();
    const opening = Promise.all([local.openMic(), local.openCamera()]);
    local.settleChoice();
    const publisher = new Publisher(local, () => undefined);
    await publisher.attach(asSession(new FakeSession()), () => undefined); // first session: no devices yet
    devices.openAll();
    await opening;
    return { local, publisher };
  }

  it('never publishes a mic that showed as off: the devices opened after Join, then the session was replaced', async () => {
    const { local, publisher } = await joinedWithLateDevices();
    const next = new FakeSession();
    await publisher.attach(asSession(next), () => undefined);
    expect(local.isOn('mic')).toBe(false);
    expect(next.sends('mic')).toBe(false);
    expect(next.atNode.get('mic')?.paused).toBe(true);
    expect(next.sends('camera')).toBe(false);
  });

  it('restores exactly what was chosen: muted stays muted, a camera turned on stays on', async () => {
    const { publisher } = await joinedWithLateDevices();
    await publisher.toggle('camera');
    const next = new FakeSession();
    await publisher.attach(asSession(next), () => undefined);
    expect(next.sends('camera')).toBe(true);
    expect(next.sends('mic')).toBe(false);
  });

  it('a mute clicked while the new session is still publishing wins', async () => {
    const local = new LocalMedia();
    const opening = local.openMic();
    devices.openAll();
    await opening;
    local.settleChoice();
    const publisher = new Publisher(local, () => undefined);
    const next = new FakeSession();
    const publishing = publisher.attach(asSession(next), () => undefined);
    const muting = publisher.toggle('mic');
    await Promise.all([publishing, muting]);
    await settle();
    expect(local.isOn('mic')).toBe(false);
    expect(next.sends('mic')).toBe(false);
    expect(next.atNode.get('mic')?.paused).toBe(true);
  });

  /** Mic and camera open (and on) before Join; a publisher for them. */
  async function publisherWithDevicesOn(): Promise<Publisher> {
    const local = new LocalMedia();
    const opening = Promise.all([local.openMic(), local.openCamera()]);
    devices.openAll();
    await opening;
    local.settleChoice();
    return new Publisher(local, () => undefined);
  }

  it('the session being left encodes its camera slowly while the new one comes up, and at full rate again when the move fails', async () => {
    const publisher = await publisherWithDevicesOn();
    const current = new FakeSession();
    await publisher.attach(asSession(current), () => undefined);
    expect(current.cameraSlowed).toBe(false);
    const next = new FakeSession();
    await publisher.attach(asSession(next), () => undefined);
    // Still sent to those on the old node (only slower); the new session sends at full rate.
    expect({ slowed: current.cameraSlowed, sends: current.sends('camera') }).toEqual({ slowed: true, sends: true });
    expect({ slowed: next.cameraSlowed, sends: next.sends('camera') }).toEqual({ slowed: false, sends: true });
    publisher.restore(asSession(current));
    expect(current.cameraSlowed).toBe(false);
  });

  it('a host mute holds on the next session', async () => {
    const publisher = await publisherWithDevicesOn();
    await publisher.attach(asSession(new FakeSession()), () => undefined);
    publisher.mutedByHost('audio');
    const next = new FakeSession();
    await publisher.attach(asSession(next), () => undefined);
    expect(next.sends('mic')).toBe(false);
    expect(next.sends('camera')).toBe(true);
  });
});
