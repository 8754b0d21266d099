import { vi } from 'vitest';
import type { EdgeLogEvent, EdgeLogEvents } from '../../http/log.js';

/**
 * Collects the Worker's log events while a test runs (the Worker, its Durable Objects and queue
 * consumers share the test's isolate, so its console is ours), so a test can wait for an event
 * instead of sleeping. The lines still reach the console.
 */
export function watchLogs() {
  const lines: Record<string, unknown>[] = [];
  const spies = (['log', 'warn', 'error'] as const).map((method) => {
    const original = console[method].bind(console);
    return vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('{')) {
        try {
          lines.push(JSON.parse(args[0]) as Record<string, unknown>);
        } catch {
          // not one of ours
        }
      }
      original(...args);
    });
  });
  return {
    /** Fields of every `event` logged so far. */
    events<E extends EdgeLogEvent>(event: E): EdgeLogEvents[E][] {
      return lines.filter((line) => line.event === event) as unknown as EdgeLogEvents[E][];
    },
    stop(): void {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
