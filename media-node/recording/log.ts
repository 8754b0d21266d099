import type { Logger } from 'pino';
import { Log } from '../log.js';

/**
 * What the recorder's modules take as a logger: the node's typed log (only the events of
 * log-events.ts, with their fields), or a plain pino logger (tests, the bench, the recording
 * seam's context), which they wrap once with `typedLog`.
 */
export type RecorderLogger = Log | Logger;

export function typedLog(log: RecorderLogger): Log {
  return log instanceof Log ? log : Log.wrap(log);
}
