import { describe, expect, it } from 'vitest';
import { errorCodeOfClose, errorCodeSchema, httpStatusOf, WS_CLOSE, wsCloseCodeOf } from '../../schema/wire/errors.js';

/** The numbers browsers, the room and the media node agree on: changing one breaks old clients. */
describe('error table (schema/wire/errors.ts)', () => {
  it('closes sockets with the codes the room and the node used before the table', () => {
    expect({
      TOKEN_INVALID: wsCloseCodeOf('TOKEN_INVALID'),
      UNAUTHENTICATED: wsCloseCodeOf('UNAUTHENTICATED'),
      TOKEN_EXPIRED: wsCloseCodeOf('TOKEN_EXPIRED'),
      REMOVED_BY_HOST: wsCloseCodeOf('REMOVED_BY_HOST'),
      MEETING_ENDED: wsCloseCodeOf('MEETING_ENDED'),
      CONFLICT: wsCloseCodeOf('CONFLICT'),
      NODE_DRAINING: wsCloseCodeOf('NODE_DRAINING'),
      NO_MEDIA_CAPACITY: wsCloseCodeOf('NO_MEDIA_CAPACITY'),
      FORBIDDEN: wsCloseCodeOf('FORBIDDEN'),
      PERMISSION_DENIED: wsCloseCodeOf('PERMISSION_DENIED'),
      ADMISSION_DENIED: wsCloseCodeOf('ADMISSION_DENIED'),
      MEDIA_ERROR: wsCloseCodeOf('MEDIA_ERROR'),
      INTERNAL: wsCloseCodeOf('INTERNAL'),
    }).toEqual({
      TOKEN_INVALID: 4001,
      UNAUTHENTICATED: 4001,
      TOKEN_EXPIRED: 4002,
      REMOVED_BY_HOST: 4003,
      MEETING_ENDED: 4004,
      CONFLICT: 4005,
      NODE_DRAINING: 4006,
      NO_MEDIA_CAPACITY: 4006,
      FORBIDDEN: 4007,
      PERMISSION_DENIED: 4007,
      ADMISSION_DENIED: 4007,
      MEDIA_ERROR: 4500,
      INTERNAL: 4500,
    });
  });

  it('reads a close code back as the error the browser shows', () => {
    expect([4001, 4002, 4003, 4004, 4005, 4006, 4007, 4500].map(errorCodeOfClose)).toEqual([
      'TOKEN_INVALID',
      'TOKEN_EXPIRED',
      'REMOVED_BY_HOST',
      'MEETING_ENDED',
      'CONFLICT',
      'NODE_DRAINING',
      'FORBIDDEN',
      'INTERNAL',
    ]);
    expect(errorCodeOfClose(WS_CLOSE.NORMAL)).toBeNull();
    expect(errorCodeOfClose(1006)).toBeNull();
  });

  it('gives every code an HTTP error status', () => {
    for (const code of errorCodeSchema.options) expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
    expect(httpStatusOf('MEETING_ENDED')).toBe(410);
    expect(httpStatusOf('DATABASE_UNAVAILABLE')).toBe(503);
  });
});
