import type { Role } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import type { JoinResponse, MeetingSettings } from '../../schema/wire/http.js';
import type { RegionId } from '../../schema/regions.js';
import type { ClientLocation } from '../registry/region-choice.js';
import { randomBytes, sha256Hex, toBase64Url } from '../auth/encoding.js';
import { safeEqual } from '../registry/credentials.js';
import { KNOCKS_PER_SOURCE, PASSCODE_PER_MEETING, PASSCODE_PER_SOURCE, type AttemptCheck } from './attempt-limits.js';
import { deviceIdentity, identitiesOf, isStrongIdentity } from './bans.js';
import type { RoomMedia } from './media.js';
import { participantView, type Participant } from './participants.js';
import { expectSocket } from './presence.js';
import type { Room } from './room.js';
import { seatRefusal, type Entry } from './seat-rules.js';
import { normaliseDisplayName } from './text.js';

export type { Entry } from './seat-rules.js';

/** People the waiting room holds at once; more knocks wait until the host has worked through it. */
export const WAITING_ROOM_CAP = 100;

export interface RoomJoinInput {
  /** The signed-in user, or null for a guest. */
  user: { id: string; displayName: string } | null;
  displayName?: string | undefined;
  passcode?: string | undefined;
  /** Media regions nearest the client first (edge/registry/region-choice.ts). */
  regions: RegionId[];
  /** Where the client is (request.cf): a meeting far away may give them their own region's node. */
  location?: ClientLocation | undefined;
  /** The browser's own key (kept by the client; stored only hashed, see deviceIdentity). */
  guestKey?: string | undefined;
  /** Hash of the client address with the meeting: a throttle key for passcodes and knocks, never a ban. */
  networkHash?: string | undefined;
}

/** Who asks to come in: their role, what a bar would cover, whether a guest, and when they last went out. */
export interface Candidate {
  role: Role;
  identities: readonly string[];
  guest: boolean;
  leftAt?: number | null;
}

export function candidateOf(room: Room, participant: Participant): Candidate {
  return { role: participant.role, identities: room.bans.identitiesOf(participant), guest: participant.userId === null, leftAt: participant.leftAt };
}

/**
 * The bar that keeps this candidate out at this entry, if any. Account and browser count at every
 * entry; a guest's name only for a newcomer (a join or a knock). A denial keeps out newcomers
 * only (the host's admit overrides and lifts it); a removal keeps out everyone.
 */
function barringKind(room: Room, candidate: Candidate, entry: Entry): 'removed' | 'denied' | null {
  const newcomer = entry === 'join' || entry === 'queue';
  const identities = candidate.identities.filter((identity) => isStrongIdentity(identity) || (newcomer && candidate.guest));
  const bar = room.bans.barOf(identities);
  return bar === 'denied' && !newcomer ? null : bar;
}

/** The one admission check for every way into the meeting; throws the refusal. */
export function checkAdmission(room: Room, candidate: Candidate, entry: Entry): void {
  const settings = room.openSettings();
  const bar = barringKind(room, candidate, entry);
  if (bar === 'removed') {
    throw new AppError('REMOVED_BY_HOST', entry === 'admit' ? 'this person was removed from the meeting' : 'the host removed you from this meeting');
  }
  if (bar === 'denied') throw new AppError('ADMISSION_DENIED', 'the host did not let you in; you can come back once the host admits you');
  const refusal = seatRefusal({ lockedAt: room.meeting.lockedAt(), joined: () => room.participants.count('joined'), maxParticipants: settings.maxParticipants }, candidate, entry);
  if (refusal === 'MEETING_LOCKED') throw new AppError('MEETING_LOCKED', 'the host locked this meeting');
  if (refusal === 'MEETING_FULL') throw new AppError('MEETING_FULL', `this meeting is full (${settings.maxParticipants} participants)`);
}

/**
 * Takes a seat: the admission check, then (one transaction, nothing awaited in between) the row
 * `write` puts in place with its history, then everyone is told.
 */
async function seat(room: Room, media: RoomMedia, candidate: Candidate, entry: Entry, write: (now: number) => Participant): Promise<Participant> {
  checkAdmission(room, candidate, entry);
  const now = Date.now();
  const participant = await room.change(() => {
    const seated = write(now);
    recordJoined(room, seated, now);
    return seated;
  });
  await media.keepNode();
  room.sockets.broadcast({ type: 'participant.joined', participant: participantView(participant) }, room.audienceOf(participant));
  return participant;
}

/** Whose attempts count together: the client's network, else their account. */
function sourceOf(input: RoomJoinInput): string | null {
  if (input.networkHash) return `net:${input.networkHash}`;
  return input.user ? `user:${input.user.id}` : null;
}

/**
 * What a new joiner proves at the door (the host skips both). Every passcode attempt is counted
 * before it is compared (per meeting and per source) and given back when it was right, so
 * parallel guesses cannot slip past the limit.
 */
async function checkCredentials(room: Room, settings: MeetingSettings, input: RoomJoinInput): Promise<void> {
  if (settings.passcode !== null) {
    const source = sourceOf(input);
    const checks: AttemptCheck[] = [{ key: 'passcode', policy: PASSCODE_PER_MEETING }, ...(source ? [{ key: `passcode:${source}`, policy: PASSCODE_PER_SOURCE }] : [])];
    const attempt = room.attempts.reserve(checks, Date.now(), 'wrong passcodes');
    if (!(await safeEqual(input.passcode ?? '', settings.passcode))) throw new AppError('WRONG_PASSCODE', 'the passcode is wrong');
    room.attempts.release(attempt);
  }
  if (!input.user && !settings.allowGuests) throw new AppError('GUESTS_NOT_ALLOWED', 'this meeting is for signed-in users; sign in to join');
}

export async function join(room: Room, media: RoomMedia, input: RoomJoinInput): Promise<JoinResponse> {
  const settings = room.openSettings();
  const isHost = input.user !== null && input.user.id === settings.hostUserId;
  const givenName = input.displayName ?? input.user?.displayName;
  if (!givenName) throw new AppError('VALIDATION_FAILED', 'guests need a display name');
  // The one place names enter the room: stored, shown and written as history in this form.
  const displayName = normaliseDisplayName(givenName);
  if (!isHost) await checkCredentials(room, settings, input);
  const device = input.guestKey ? await deviceIdentity(settings.linkId, input.guestKey) : null;
  const roomSession = toBase64Url(randomBytes(32));
  const sessionHash = await sha256Hex(roomSession);
  const participantId = toBase64Url(randomBytes(12));
  // A webinar's audience watches until the host invites them to speak (host.setRole).
  const role: Role = isHost ? 'host' : settings.mode === 'webinar' ? 'attendee' : input.user ? 'participant' : 'guest';
  const userId = input.user?.id ?? null;
  const candidate: Candidate = { role, identities: identitiesOf({ userId, displayName, device }), guest: userId === null };
  const insert = (status: 'waiting' | 'joined', now: number): Participant => {
    const inserted = room.participants.insert({ participantId, sessionHash, userId, displayName, role, status, now });
    room.bans.remember(participantId, candidate.identities);
    return inserted;
  };

  if (!isHost && settings.waitingRoom) {
    // From the check to the insert nothing awaits, so the check still holds at the write.
    checkAdmission(room, candidate, 'queue');
    if (room.participants.count('waiting') >= WAITING_ROOM_CAP) throw new AppError('MEETING_FULL', 'the waiting room is full; try again in a few minutes');
    const now = Date.now();
    const source = sourceOf(input);
    if (source) room.attempts.reserve([{ key: `knock:${source}`, policy: KNOCKS_PER_SOURCE }], now, 'knocks from your network');
    await room.change(() => {
      insert('waiting', now);
      media.rememberLocation(participantId, input.location);
      room.record({ kind: 'analytics', event: 'waiting_room_entered', participantId, props: { role } });
    });
    await expectSocket(room, now);
    room.broadcastWaiting();
    return { participantId, role, roomSession, status: 'waiting', media: null };
  }

  // Refused joiners do not place the meeting on a node; seat() checks again after the placement.
  checkAdmission(room, candidate, 'join');
  const node = await media.ensureAssignment(input.regions);
  const participant = await seat(room, media, candidate, 'join', (now) => insert('joined', now));
  await expectSocket(room, participant.joinedAt);
  const own = await media.nodeForNewcomer(participant, node, input.location);
  // The room took other calls while it asked: the meeting may have ended, or the host removed this
  // newcomer, telling the nodes it knew then, not perhaps the one just chosen. No token either way.
  room.openSettings();
  if (room.participants.get(participantId)?.status !== 'joined') throw new AppError('REMOVED_BY_HOST', 'you were removed from this meeting');
  return { participantId, role, roomSession, status: 'joined', media: await media.issue(participant, own) };
}

/** host.admit of a waiting participant (or everyone waiting, as joins, when the waiting room goes): in they come, if admission allows. */
export async function admitWaiting(room: Room, media: RoomMedia, participantId: string, entry: 'admit' | 'join' = 'admit'): Promise<Participant> {
  const waiting = (): Participant => {
    const target = room.participants.get(participantId);
    if (!target || target.status !== 'waiting') throw new AppError('PARTICIPANT_NOT_FOUND', 'nobody with that id is waiting');
    return target;
  };
  checkAdmission(room, candidateOf(room, waiting()), entry);
  const node = await media.ensureAssignment([]);
  // Re-read after the placement await: the host may have denied them meanwhile.
  const candidate = candidateOf(room, waiting());
  const admitted = await seat(room, media, candidate, entry, (now) => {
    room.participants.setStatus(participantId, 'joined', now);
    // The host chose this person: a denial of the same account or browser no longer applies.
    room.bans.liftDenials(candidate.identities);
    room.record({ kind: 'analytics', event: 'admitted', participantId, props: {} }, now);
    return room.participants.get(participantId)!;
  });
  // Their node, from where they knocked (as a direct join's): the welcome hands it out.
  await media.nodeForNewcomer(admitted, node);
  return admitted;
}

/** A participant who was in and whose socket dropped connects again with their session. */
export function returnAfterDrop(room: Room, media: RoomMedia, participant: Participant): Promise<Participant> {
  return seat(room, media, candidateOf(room, participant), 'return', (now) => {
    room.participants.setStatus(participant.participantId, 'joined', now);
    room.letGo.cancel(participant.participantId);
    return room.participants.get(participant.participantId)!;
  });
}

/** History of someone entering the meeting (inside a change()). */
function recordJoined(room: Room, participant: Participant, at: number): void {
  if (room.meeting.markLive()) {
    room.record({ kind: 'meetingStatus', status: 'live' }, at);
    room.record({ kind: 'analytics', event: 'meeting_started', participantId: participant.participantId, props: {} }, at);
  }
  room.record(
    { kind: 'participantJoined', participantId: participant.participantId, userId: participant.userId, displayName: participant.displayName, role: participant.role },
    at,
  );
  room.record({ kind: 'analytics', event: 'join', participantId: participant.participantId, props: { role: participant.role } }, at);
}
