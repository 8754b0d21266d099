import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Log } from '../log.js';

/** A typed log writing JSON lines into an array. */
function capture(): { log: Log; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  return { log: Log.wrap(pino({ level: 'debug', base: { nodeId: 'media-test-1' } }, stream)), lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('typed node log', () => {
  it('writes the event as msg with its fields and the bound context', () => {
    const { log, lines } = capture();
    log.child({ meetingId: 'm-1' }).info('room opened', { workerPid: 42 });
    log.warn('control link: unreadable message from edge');
    expect(lines()).toMatchObject([
      { level: 30, msg: 'room opened', workerPid: 42, meetingId: 'm-1', nodeId: 'media-test-1' },
      { level: 40, msg: 'control link: unreadable message from edge' },
    ]);
  });

  it('accepts only known events with their fields (checked by tsc)', () => {
    const { log, lines } = capture();
    // @ts-expect-error: not an event of log-events.ts
    log.info('something nobody queries', { workerPid: 1 });
    // @ts-expect-error: the event's fields are required
    log.info('room opened');
    // @ts-expect-error: a field of the wrong type
    log.info('room closed', { reason: 7 });
    expect(lines()).toHaveLength(3);
  });
});
