/**
 * Remote audio plays through one hidden, playing <audio> element per track: Chrome decodes a
 * remote audio track only when it is attached to a playing element.
 */
export class AudioSink {
  private readonly container: HTMLElement;
  private readonly elements = new Map<string, HTMLAudioElement>();

  constructor() {
    this.container = document.createElement('div');
    this.container.hidden = true;
    this.container.setAttribute('aria-hidden', 'true');
    document.body.append(this.container);
  }

  attach(id: string, track: MediaStreamTrack): void {
    this.detach(id);
    const audio = document.createElement('audio');
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    this.container.append(audio);
    this.elements.set(id, audio);
    void audio.play().catch(() => {
      // Autoplay refused (no user gesture yet): retry on the next interaction.
      document.addEventListener('click', () => void audio.play().catch(() => undefined), { once: true });
    });
  }

  detach(id: string): void {
    const audio = this.elements.get(id);
    if (!audio) return;
    audio.srcObject = null;
    audio.remove();
    this.elements.delete(id);
  }

  destroy(): void {
    for (const id of [...this.elements.keys()]) this.detach(id);
    this.container.remove();
  }
}
