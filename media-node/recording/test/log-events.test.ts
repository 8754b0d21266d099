import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Log } from '../../log.js';
import { typedLog } from '../log.js';

/** The recorder's lines go through the node's typed log (recording/log-events.ts lists them). */
function capture() {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('recorder log events', () => {
  it('a pino logger (tests, the seam) and the node’s typed log both end up typed, with the bound context', () => {
    const { logger, lines } = capture();
    const log = typedLog(logger).child({ recordingId: 'r-1' });
    log.info('composite written', { inputs: 3, durationMs: 8000, speakerChanges: 2, encodeMs: 900 });
    const node = Log.wrap(logger);
    expect(typedLog(node)).toBe(node);
    node.warn('recording upload failed', { err: 'store down', permanent: false });
    expect(lines()).toMatchObject([
      { level: 30, msg: 'composite written', recordingId: 'r-1', inputs: 3, speakerChanges: 2 },
      { level: 40, msg: 'recording upload failed', err: 'store down', permanent: false },
    ]);
  });

  it('accepts only the recorder’s events with their fields (checked by tsc)', () => {
    const { logger, lines } = capture();
    const log = typedLog(logger);
    // @ts-expect-error: not an event of recording/log-events.ts
    log.warn('recording went sideways', { err: 'x' });
    // @ts-expect-error: a field is missing (speakerChanges)
    log.info('composite written', { inputs: 1, durationMs: 1, encodeMs: 1 });
    // @ts-expect-error: pino's argument order (fields first) is not the typed log's
    log.error({ err: 'x' }, 'composite failed');
    expect(lines()).toHaveLength(3);
  });
});
