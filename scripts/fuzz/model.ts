/**
 * What the room looks like between fuzz batches, and which differences a batch's senders were
 * allowed to cause. Pure: fed with `welcome` messages (the room's full picture), no I/O.
 */
import type { RoomServerMessage } from '../../schema/wire/room.js';

export type SenderRole = 'host' | 'cohost' | 'guest' | 'waiting';

type Welcome = Extract<RoomServerMessage, { type: 'welcome' }>;

export interface ParticipantState {
  role: string;
  displayName: string;
  handRaised: boolean;
  mutedAudio: boolean;
  mutedVideo: boolean;
}

export interface RoomSnapshot {
  ended: boolean;
  locked: boolean;
  recording: boolean;
  participantsMayUnmute: boolean;
  participants: Map<string, ParticipantState>;
  waiting: Set<string>;
  /** Chat message id → sender, of the recent chat the welcome carries. */
  chat: Map<string, string>;
}

export const ENDED: RoomSnapshot = {
  ended: true,
  locked: false,
  recording: false,
  participantsMayUnmute: true,
  participants: new Map(),
  waiting: new Set(),
  chat: new Map(),
};

/** The snapshot from a participant's welcome plus a moderator's (for the waiting list). */
export function snapshotOf(observer: Welcome, moderator: Welcome): RoomSnapshot {
  return {
    ended: observer.meeting.ended,
    locked: observer.meeting.locked,
    recording: observer.meeting.recording.active,
    participantsMayUnmute: observer.meeting.participantsMayUnmute,
    participants: new Map(
      observer.participants.map((p) => [
        p.participantId,
        { role: p.role, displayName: p.displayName, handRaised: p.handRaised, mutedAudio: p.mutedByHost.audio, mutedVideo: p.mutedByHost.video },
      ]),
    ),
    waiting: new Set(moderator.waiting.map((w) => w.participantId)),
    chat: new Map(observer.chat.map((m) => [m.messageId, m.participantId])),
  };
}

/** Who sent in a batch: their role, their ids, and whether the host sent host.end. */
export interface BatchSenders {
  role: SenderRole;
  ids: ReadonlySet<string>;
  sentEnd: boolean;
}

/**
 * Every difference between `before` and `after` the batch's senders were not allowed to cause.
 * Guests and waiting participants may change only their own hand and add their own chat;
 * co-hosts also moderate (lock, unmute policy, recording, mute, lower a hand, remove, admit, deny) anyone but
 * the host; only the host changes roles and ends the meeting. Nobody unmutes anyone, renames
 * anyone, lets anyone knock, or touches the host.
 */
export function unauthorizedChanges(before: RoomSnapshot, after: RoomSnapshot, senders: BatchSenders): string[] {
  const moderator = senders.role === 'host' || senders.role === 'cohost';
  const problems: string[] = [];
  const flag = (what: string) => problems.push(`${senders.role}: ${what}`);
  if (after.ended) {
    if (!(senders.role === 'host' && senders.sentEnd)) flag('ended the meeting');
    return problems;
  }
  if (!moderator) {
    if (after.locked !== before.locked) flag('changed the lock');
    if (after.participantsMayUnmute !== before.participantsMayUnmute) flag('changed the unmute policy');
    if (after.recording !== before.recording) flag('changed recording');
  }
  for (const [id, was] of before.participants) {
    const now = after.participants.get(id);
    if (!now) {
      if (!moderator || was.role === 'host') flag(`removed ${id} (${was.role})`);
      continue;
    }
    if (now.displayName !== was.displayName) flag(`renamed ${id}`);
    if (now.role !== was.role && (senders.role !== 'host' || was.role === 'host')) flag(`changed the role of ${id} from ${was.role} to ${now.role}`);
    // Moderators lower others' hands (host.lowerHand), never the host's, and raise none.
    const loweredByModerator = moderator && was.role !== 'host' && !now.handRaised;
    if (now.handRaised !== was.handRaised && !senders.ids.has(id) && !loweredByModerator) flag(`changed the hand of ${id}`);
    for (const kind of ['mutedAudio', 'mutedVideo'] as const) {
      if (now[kind] === was[kind]) continue;
      if (!now[kind]) flag(`unmuted ${id} (${kind})`);
      else if (!moderator || was.role === 'host') flag(`muted ${id} (${kind})`);
    }
  }
  for (const id of after.participants.keys()) {
    if (!before.participants.has(id) && !(moderator && before.waiting.has(id))) flag(`brought ${id} in`);
  }
  for (const id of before.waiting) if (!after.waiting.has(id) && !moderator) flag(`took ${id} out of the waiting room`);
  for (const id of after.waiting) if (!before.waiting.has(id)) flag(`put ${id} in the waiting room`);
  for (const [messageId, sender] of after.chat) {
    if (before.chat.has(messageId)) continue;
    if (!senders.ids.has(sender) || senders.role === 'waiting') flag(`chat ${messageId} appeared from ${sender}`);
  }
  return problems;
}
