import type { MediaKind, MediaSource } from '../wire.js';
import type { DeviceKind, LocalMedia } from './local-media.js';
import type { MediaSession } from './media-session.js';
import { MediaRequestError } from './media-signaling.js';

/**
 * What this page sends: the person's choice (LocalMedia) applied to the current media session.
 * Every path that publishes — a new session after a failover or reconnect, a button, a host mute —
 * goes through `sync`, which reads the one choice, so a session never sends more than was shown.
 */
export class Publisher {
  private session: MediaSession | null = null;
  /**
   * The session a make-before-break move is leaving: it keeps sending until `release`, but only
   * ever less — a device turned off (or muted by the host) meanwhile is paused there too.
   */
  private leaving: MediaSession | null = null;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    readonly local: LocalMedia,
    /** The local state the buttons show changed. */
    private readonly changed: () => void,
  ) {}

  /** A new session: publish mic, camera and screen as the person has them now. */
  async attach(session: MediaSession, mark: (milestone: string) => void): Promise<void> {
    if (this.session && this.session !== session) {
      this.leaving = this.session;
      // Those still on the old node see a few frames a second until they move too: the CPU goes to the new session.
      void this.leaving.slowCamera(true).catch(() => undefined);
    }
    this.session = session;
    await this.sync('mic');
    mark('micProduced');
    await this.sync('camera');
    mark('cameraProduced');
    if (this.local.screen) await session.produce('screen', this.local.screen);
  }

  detach(): void {
    this.session = null;
    this.leaving = null;
  }

  /** The session being left closed (the move is over). */
  release(): void {
    this.leaving = null;
  }

  /** A move failed: the session being left is the current one again, sending exactly what is chosen. */
  restore(session: MediaSession): void {
    this.session = session;
    this.leaving = null;
    void session.slowCamera(false).catch(() => undefined);
    void this.sync('mic').catch(() => undefined);
    void this.sync('camera').catch(() => undefined);
    // A share started during the move went to the new session only.
    if (this.local.screen && !session.hasProducer('screen')) void session.produce('screen', this.local.screen).catch(() => undefined);
  }

  /** On ↔ off; turning on opens the device first if it is not open (e.g. refused earlier). */
  async toggle(kind: DeviceKind): Promise<void> {
    const turnOn = !this.local.isOn(kind);
    if (turnOn && !this.local.track(kind)) await (kind === 'mic' ? this.local.openMic() : this.local.openCamera());
    this.local.choose(kind, turnOn);
    this.changed();
    await this.sync(kind).catch(() => undefined);
  }

  /** Returns a message when sharing could not start. */
  async toggleScreen(): Promise<string | null> {
    if (this.local.screen) {
      this.local.stopScreen();
      await Promise.all([this.session?.closeProducer('screen'), this.leaving?.closeProducer('screen')]);
      this.changed();
      return null;
    }
    try {
      const track = await this.local.openScreen();
      track.addEventListener('ended', () => {
        if (this.local.screen === track) void this.toggleScreen();
      });
      await this.session?.produce('screen', track);
      // Stopped while the node answered (the button, the browser's own bar): that stop found no producer to close.
      if (this.local.screen !== track) await Promise.all([this.session?.closeProducer('screen'), this.leaving?.closeProducer('screen')]);
      this.changed();
      return null;
    } catch (error) {
      this.local.stopScreen();
      this.changed();
      return error instanceof Error ? error.message : 'Could not share the screen.';
    }
  }

  async switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    const track = await (kind === 'camera' ? this.local.openCamera(deviceId) : this.local.openMic(deviceId));
    if (!track) return;
    if (this.session?.hasProducer(kind)) await this.session.replaceTrack(kind, track);
    await this.sync(kind);
    this.changed();
  }

  /** The host muted us (a kind, or everything): the choice becomes off, as if we had clicked. */
  mutedByHost(kind: MediaKind | null): void {
    if (kind === null || kind === 'audio') this.local.choose('mic', false);
    if (kind === null || kind === 'video') this.local.choose('camera', false);
    void this.sync('mic').catch(() => undefined);
    void this.sync('camera').catch(() => undefined);
    this.changed();
  }

  /** The node paused or closed one of our producers (host mute): the choice follows. */
  pausedByServer(source: MediaSource): void {
    if (source === 'screen') this.local.stopScreen();
    else this.local.choose(source, false);
    this.changed();
  }

  /**
   * Makes the session match the choice for one device: produced once a track exists (paused when
   * off), paused or resumed to match. Read again after every await, as the person may click meanwhile.
   */
  private sync(kind: DeviceKind): Promise<void> {
    // One at a time: two overlapping syncs would both see no producer and produce twice.
    const next = this.syncing.then(() => this.syncNow(kind));
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async syncNow(kind: DeviceKind): Promise<void> {
    // The session being left follows a device turned off, never on (it is going anyway). Not
    // awaited: its producer pauses here at once, and a frozen node must not hold up this session.
    if (this.leaving && !this.local.isOn(kind)) void this.leaving.setPaused(kind, true).catch(() => undefined);
    const session = this.session;
    if (!session) return;
    const track = this.local.track(kind);
    if (track && !session.hasProducer(kind) && (kind === 'mic' || session.canProduceVideo)) {
      const paused = !this.local.isOn(kind);
      try {
        await session.produce(kind, track, paused);
      } catch (error) {
        if (paused || !(error instanceof MediaRequestError && error.code === 'PERMISSION_DENIED')) throw error;
        // The host holds this mute (unmuting is off) and the node refused it live: the choice goes
        // back to off, as for a refused resume, and the device is published paused. Thrown on, the
        // refusal failed every new session (a failover, a reconnect) for as long as the mute held.
        this.local.choose(kind, false);
        this.changed();
        await session.produce(kind, track, true);
      }
    }
    if (this.session === session) await session.setPaused(kind, !this.local.isOn(kind));
  }
}
