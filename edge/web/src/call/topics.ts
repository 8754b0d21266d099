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

  /**
   * Each listener runs once however many of its topics changed together (a room's welcome changes
   * five): a view subscribed to several renders once, after every change is in place.
   */
  emit(...topics: Topic[]): void {
    const due = new Set<() => void>();
    for (const topic of topics) for (const listener of this.listeners.get(topic) ?? []) due.add(listener);
    // One removed meanwhile (its view was replaced by an earlier listener) is not called.
    const subscribed = (listener: () => void) => topics.some((topic) => this.listeners.get(topic)?.has(listener));
    for (const listener of due) if (subscribed(listener)) listener();
  }
}
