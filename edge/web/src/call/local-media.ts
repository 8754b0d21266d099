import { describeMediaError } from '../lib/errors.js';

/**
 * The person's own camera, microphone and screen. The camera asks for 1280×720: Chrome sends
 * three simulcast layers only from 720p up (at 640×480 it sends two).
 */
export class LocalMedia {
  camera: MediaStreamTrack | null = null;
  mic: MediaStreamTrack | null = null;
  screen: MediaStreamTrack | null = null;
  cameraOn = true;
  micOn = true;
  cameraDeviceId: string | null = null;
  micDeviceId: string | null = null;
  /** Human-readable problems (camera or mic refused) for the UI. */
  cameraError: string | null = null;
  micError: string | null = null;

  async openCamera(deviceId = this.cameraDeviceId): Promise<MediaStreamTrack | null> {
    this.camera?.stop();
    this.camera = null;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) },
      });
      this.camera = stream.getVideoTracks()[0] ?? null;
      this.cameraDeviceId = this.camera?.getSettings().deviceId ?? deviceId;
      this.cameraError = null;
    } catch (error) {
      this.cameraError = describeMediaError(error, 'camera');
    }
    return this.camera;
  }

  async openMic(deviceId = this.micDeviceId): Promise<MediaStreamTrack | null> {
    this.mic?.stop();
    this.mic = null;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) },
      });
      this.mic = stream.getAudioTracks()[0] ?? null;
      this.micDeviceId = this.mic?.getSettings().deviceId ?? deviceId;
      this.micError = null;
    } catch (error) {
      this.micError = describeMediaError(error, 'microphone');
    }
    return this.mic;
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
  }
}
