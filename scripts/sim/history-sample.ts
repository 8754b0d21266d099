import type { HistoryRecord } from '../../schema/wire/history.js';
import { Rng } from './rng.js';

/**
 * A day's history records at a fraction of the plan's size, shaped like the RoomDO writes them
 * (edge/room: join/leave records per person, a chat line each with its message_sent event, and the
 * meeting's start and end): realistic ids, names and text lengths, so row sizes are real.
 */
export const RECORDS_PER_MEETING = { participants: 10, chatPerParticipant: 1 } as const;

const base64url = (rng: Rng, length: number) =>
  Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[rng.int(64)]).join('');
const uuid = (rng: Rng) => {
  const hex = Array.from({ length: 32 }, () => rng.int(16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
};
const NAMES = ['Ana', 'Bilal', 'Chen Wei', 'Dmitri', 'Esperanza', 'Fatima', 'Gunnar', 'Hiroshi', 'Ines', 'Jamal', 'Katarzyna', 'Luis'];
const WORDS = ['ok', 'thanks', 'can you', 'see my screen', 'the link', 'is in the doc', 'I will', 'follow up', 'on that', 'after lunch', 'agreed', 'next week'];

function chatText(rng: Rng): string {
  const words: string[] = [];
  const target = 10 + rng.int(110);
  while (words.join(' ').length < target) words.push(WORDS[rng.int(WORDS.length)]!);
  return words.join(' ');
}

/** One meeting's records; `at` spreads the meetings over the day. */
export function meetingRecords(rng: Rng, dayStart: number): HistoryRecord[] {
  const meetingId = uuid(rng);
  const meetingLinkId = base64url(rng, 22);
  const start = dayStart + rng.int(86_400_000 - 4 * 3_600_000);
  const end = start + 54 * 60_000;
  const common = { meetingId, meetingLinkId };
  const records: HistoryRecord[] = [];
  const key = () => uuid(rng);
  records.push({ kind: 'analytics', key: key(), ...common, at: start, event: 'meeting_started', participantId: null, props: {} });
  for (let p = 0; p < RECORDS_PER_MEETING.participants; p++) {
    const participantId = base64url(rng, 16);
    const userId = rng.next() < 0.7 ? uuid(rng) : null;
    const displayName = `${NAMES[rng.int(NAMES.length)]} ${String.fromCharCode(65 + rng.int(26))}.`;
    const role = p === 0 ? 'host' : userId ? 'participant' : 'guest';
    const joinedAt = start + rng.int(120_000);
    records.push({ kind: 'participantJoined', key: key(), ...common, at: joinedAt, participantId, userId, displayName, role });
    records.push({ kind: 'analytics', key: key(), ...common, at: joinedAt, event: 'join', participantId, props: { role } });
    for (let c = 0; c < RECORDS_PER_MEETING.chatPerParticipant; c++) {
      const at = joinedAt + rng.int(end - joinedAt);
      const text = chatText(rng);
      records.push({ kind: 'message', key: key(), ...common, at, messageId: uuid(rng), participantId, userId, displayName, text });
      records.push({ kind: 'analytics', key: key(), ...common, at, event: 'message_sent', participantId, props: { length: text.length } });
    }
    records.push({ kind: 'participantLeft', key: key(), ...common, at: end, participantId, reason: 'left' });
    records.push({ kind: 'analytics', key: key(), ...common, at: end, event: 'leave', participantId, props: { reason: 'left' } });
  }
  records.push({ kind: 'analytics', key: key(), ...common, at: end, event: 'meeting_ended', participantId: null, props: { participants: RECORDS_PER_MEETING.participants } });
  return records;
}
