/** What changed, for the views that show it. */
export type Topic = 'phase' | 'participants' | 'waiting' | 'chat' | 'meeting' | 'remotes' | 'speaker' | 'local' | 'status';

/** Views subscribe to the topics they show; the parts of a call announce what changed. */
export class Topics {
  private readonly listeners = new Map<Topic, Set<() => void>>();

  on(topic: Topic, listener: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(...topics: Topic[]): void {
    for (const topic of topics) for (const listener of this.listeners.get(topic) ?? []) listener();
  }
}
