import { pino, type Logger } from 'pino';

export type Log = Logger;

/** Structured JSON logs; children carry context ids (meetingId, participantId, workerPid). */
export function createLog(level: string, nodeId: string): Log {
  return pino({ level, base: { nodeId } });
}
