import { describeMediaError } from '../lib/errors.js';

/** The person's microphone and camera: the devices whose on/off is their choice. */
export type DeviceKind = 'mic' | 'camera';

/**
 * The person's own camera, microphone and screen, and what they chose for each device. The camera
 * asks for 1280×720: Chrome sends three simulcast layers only from 720p up (at 640×480 it sends two).
 *
 * The choice lives here and nowhere else: the buttons show `isOn`, and every (re)publish on every
 * media session reads it, so a new session after a failover can never send more than was shown.
 */
export class LocalMedia {
  camera: MediaStreamTrack | null = null;
  mic: MediaStreamTrack | null = null;
  screen: MediaStreamTrack | null = null;
  cameraDeviceId: string | null = null;
  micDeviceId: string | null = null;
  /** Human-readable problems (camera or mic refused) for the UI. */
  cameraError: string | null = null;
  micError: string | null = null;
  /** On before joining means "on once the device opens"; `settleChoice` ends that at the Join click. */
  private readonly chosen: Record<DeviceKind, boolean> = { mic: true, camera: true };
  private settled = false;

  track(kind: DeviceKind): MediaStreamTrack | null {
    return kind === 'mic' ? this.mic : this.camera;
  }

  /** Chosen on and open: what the buttons show and what a media session sends unpaused. */
  isOn(kind: DeviceKind): boolean {
    return this.chosen[kind] && this.track(kind) !== null;
  }

  /**
   * Records the person's choice (or the host's mute) and applies it to the open track at once.
   * After joining, "on" needs the device open now: a device that opens later never turns itself on.
   */
  choose(kind: DeviceKind, on: boolean): void {
    this.chosen[kind] = on && (!this.settled || this.track(kind) !== null);
    this.applyChoice(kind);
  }

  /**
   * Joining: whatever does not show as on now is off. A device still opening at the Join click
   * (the button read "Unmute") then stays off when it opens, until the person turns it on.
   */
  settleChoice(): void {
    this.settled = true;
    for (const kind of ['mic', 'camera'] as const) this.choose(kind, this.isOn(kind));
  }

  openCamera(deviceId = this.cameraDeviceId): Promise<MediaStreamTrack | null> {
    return this.open('camera', deviceId);
  }

  openMic(deviceId = this.micDeviceId): Promise<MediaStreamTrack | null> {
    return this.open('mic', deviceId);
  }

  /** Throws with a friendly message when the person cancels or the browser refuses. */
  async openScreen(): Promise<MediaStreamTrack> {
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('no screen track');
      this.screen = track;
      return track;
    } catch (error) {
      throw new Error(describeMediaError(error, 'screen'));
    }
  }

  stopScreen(): void {
    this.screen?.stop();
    this.screen = null;
  }

  static async devices(): Promise<{ cameras: MediaDeviceInfo[]; mics: MediaDeviceInfo[] }> {
    const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    return { cameras: all.filter((device) => device.kind === 'videoinput'), mics: all.filter((device) => device.kind === 'audioinput') };
  }

  stopAll(): void {
    for (const track of [this.camera, this.mic, this.screen]) track?.stop();
    this.camera = this.mic = this.screen = null;
    // A device still opening (its permission prompt up) is stopped as soon as it opens.
    this.opens.mic++;
    this.opens.camera++;
  }

  /** Per device, opens begun: a device opened for an open that was overtaken (stopAll, a newer open) is stopped. */
  private readonly opens: Record<DeviceKind, number> = { mic: 0, camera: 0 };

  /** (Re)opens a device; the new track starts enabled only if the person's choice says on. */
  private async open(kind: DeviceKind, deviceId: string | null): Promise<MediaStreamTrack | null> {
    this.setTrack(kind, null);
    const ticket = ++this.opens[kind];
    try {
      const stream = await navigator.mediaDevices.getUserMedia(kind === 'mic' ? { audio: micConstraints(deviceId) } : { video: cameraConstraints(deviceId) });
      if (ticket !== this.opens[kind]) {
        // Left (or opened again) while the browser asked: never a camera light nobody wants.
        for (const stale of [...stream.getAudioTracks(), ...stream.getVideoTracks()]) stale.stop();
        return this.track(kind);
      }
      const track = (kind === 'mic' ? stream.getAudioTracks() : stream.getVideoTracks())[0] ?? null;
      this.setTrack(kind, track);
      this.setError(kind, null);
      if (kind === 'mic') this.micDeviceId = track?.getSettings().deviceId ?? deviceId;
      else this.cameraDeviceId = track?.getSettings().deviceId ?? deviceId;
    } catch (error) {
      this.setError(kind, describeMediaError(error, kind === 'mic' ? 'microphone' : 'camera'));
    }
    this.applyChoice(kind);
    return this.track(kind);
  }

  private applyChoice(kind: DeviceKind): void {
    const track = this.track(kind);
    if (track) track.enabled = this.isOn(kind);
  }

  private setTrack(kind: DeviceKind, track: MediaStreamTrack | null): void {
    const previous = this.track(kind);
    if (previous && previous !== track) previous.stop();
    if (kind === 'mic') this.mic = track;
    else this.camera = track;
  }

  private setError(kind: DeviceKind, error: string | null): void {
    if (kind === 'mic') this.micError = error;
    else this.cameraError = error;
  }
}

function micConstraints(deviceId: string | null): MediaTrackConstraints {
  return { echoCancellation: true, noiseSuppression: true, autoGainControl: true, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
}

function cameraConstraints(deviceId: string | null): MediaTrackConstraints {
  return { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
}
