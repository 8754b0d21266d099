import { WS_CLOSE, type ErrorCode } from '../../schema/wire/index.js';

/** Why a node ends a signaling connection: an error code, or REPLACED by a newer connection. */
export type DisconnectCode = ErrorCode | 'REPLACED';

/** The one place signaling maps disconnect reasons to WebSocket close codes. */
export function closeCodeFor(code: DisconnectCode): number {
  switch (code) {
    case 'TOKEN_INVALID':
    case 'UNAUTHENTICATED':
      return WS_CLOSE.TOKEN_INVALID;
    case 'TOKEN_EXPIRED':
      return WS_CLOSE.TOKEN_EXPIRED;
    case 'REMOVED_BY_HOST':
      return WS_CLOSE.REMOVED_BY_HOST;
    case 'MEETING_ENDED':
      return WS_CLOSE.MEETING_ENDED;
    case 'REPLACED':
      return WS_CLOSE.REPLACED;
    case 'NODE_DRAINING':
    case 'NO_MEDIA_CAPACITY':
      return WS_CLOSE.NODE_DRAINING;
    case 'FORBIDDEN':
    case 'PERMISSION_DENIED':
      return WS_CLOSE.FORBIDDEN;
    default:
      return WS_CLOSE.INTERNAL;
  }
}

/** The `closed` notification carries an ErrorCode; a replaced connection reports CONFLICT. */
export function notificationCodeFor(code: DisconnectCode): ErrorCode {
  return code === 'REPLACED' ? 'CONFLICT' : code;
}
