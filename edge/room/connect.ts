import { assertNever } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import { ROOM_SOCKET_PROTOCOL, roomSessionOfProtocols } from '../../schema/wire/http.js';
import type { MediaAssignment, RoomServerMessage } from '../../schema/wire/room.js';
import { sha256Hex } from '../auth/encoding.js';
import { candidateOf, checkAdmission, returnAfterDrop } from './admission.js';
import type { RoomMedia } from './media.js';
import { isModerator, participantView, waitingView, type Participant } from './participants.js';
import type { Room } from './room.js';

/** The room session a socket request offers as a subprotocol (never read from the URL), or null. */
export function roomSessionOf(request: Request): string | null {
  return roomSessionOfProtocols(request.headers.get('Sec-WebSocket-Protocol'));
}

/**
 * A room socket connects with its session, offered in Sec-WebSocket-Protocol (GET
 * /api/meetings/:linkId/ws). Every 101 — refusals too, so the browser reads their close code —
 * answers the subprotocol the client asked for.
 */
export async function connectSocket(room: Room, media: RoomMedia, request: Request): Promise<Response> {
  const response = await connectSession(room, media, roomSessionOf(request) ?? '');
  if (response.status !== 101) return response;
  return new Response(null, { status: 101, webSocket: response.webSocket, headers: { 'Sec-WebSocket-Protocol': ROOM_SOCKET_PROTOCOL } });
}

/**
 * Every connect passes admission (admission.ts): a returning participant takes their seat again
 * through the same check as a join, so a ban, the lock or a full room stop them as they would a newcomer.
 */
async function connectSession(room: Room, media: RoomMedia, session: string): Promise<Response> {
  const participant = room.configured ? room.participants.bySession(await sha256Hex(session)) : null;
  let present: Participant;
  try {
    present = await admitSocket(room, media, participant);
  } catch (error) {
    if (error instanceof AppError) return refuseSocket(room, error);
    throw error;
  }
  // A newer connection of the same participant replaces the older one.
  room.sockets.closeParticipant(present.participantId, 'CONFLICT', 'replaced by a newer connection');

  if (present.status === 'waiting') {
    const { client, server } = room.sockets.accept(present.participantId, false);
    const position = room.participants.withStatus('waiting').findIndex((p) => p.participantId === present.participantId);
    room.sockets.send(server, { type: 'waiting', position: Math.max(0, position) });
    return new Response(null, { status: 101, webSocket: client });
  }
  const { client, server } = room.sockets.accept(present.participantId, true);
  await welcome(room, media, server, present);
  return new Response(null, { status: 101, webSocket: client });
}

/** The participant this session belongs to, once admitted again; throws the refusal. */
async function admitSocket(room: Room, media: RoomMedia, participant: Participant | null): Promise<Participant> {
  if (!participant) throw new AppError('TOKEN_INVALID', 'unknown room session; join again');
  if (room.meeting.ended()) throw new AppError('MEETING_ENDED', 'this meeting has ended');
  switch (participant.status) {
    case 'removed':
      throw new AppError('REMOVED_BY_HOST', 'the host removed you from this meeting');
    case 'denied':
      throw new AppError('ADMISSION_DENIED', 'the host did not let you in');
    case 'left':
      if (!participant.wasAdmitted) throw new AppError('TOKEN_INVALID', 'this session has expired; join again');
      return returnAfterDrop(room, media, participant);
    case 'waiting':
    case 'joined':
      checkAdmission(room, candidateOf(room, participant), 'resume');
      return participant;
    default:
      return assertNever(participant.status, 'participant status');
  }
}

/** Sends the full room picture to a participant who is in. */
export async function welcome(room: Room, media: RoomMedia, ws: WebSocket, participant: Participant): Promise<void> {
  let assignment: MediaAssignment | null = null;
  try {
    assignment = await media.forConnect(participant);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    room.sockets.send(ws, { type: 'error', code: error.code, message: error.message });
  }
  const message: RoomServerMessage = {
    type: 'welcome',
    self: participantView(participant),
    participants: room.rosterFor(participant).map(participantView),
    waiting: isModerator(participant) ? room.waitingList().map(waitingView) : [],
    chat: room.chat.recent(),
    meeting: room.meetingView(),
    media: assignment,
  };
  room.sockets.send(ws, message);
}

/** Accepts the upgrade only to say why it is refused (browsers cannot read a failed upgrade). */
function refuseSocket(room: Room, error: AppError): Response {
  const pair = new WebSocketPair();
  pair[1].accept();
  room.sockets.closeSocket(pair[1], error.code, error.message);
  return new Response(null, { status: 101, webSocket: pair[0] });
}
