import { z } from 'zod';
import { meetingLinkIdSchema, nodeIdSchema, participantIdSchema, permissionSchema, displayNameSchema } from './common.js';

/**
 * Claims of the short-lived media token the edge signs (ES256) and the media node verifies with
 * the edge's public key, without calling the edge. Standard claims: iss, aud (= node id),
 * sub (= participant id), exp, iat, jti.
 */
export const MEDIA_TOKEN_ISSUER = 'edgemeet-edge';
export const MEDIA_TOKEN_ALG = 'ES256';
export const MEDIA_TOKEN_TTL_SECONDS = 120;

export const mediaTokenClaimsSchema = z.object({
  iss: z.literal(MEDIA_TOKEN_ISSUER),
  aud: nodeIdSchema,
  sub: participantIdSchema,
  mid: meetingLinkIdSchema,
  name: displayNameSchema,
  perms: z.array(permissionSchema).max(4),
  exp: z.number().int(),
  iat: z.number().int(),
  /** iat in epoch milliseconds (the edge's clock): a node compares it with the edge's close time of the meeting (closeMeeting closedAt). */
  iatMs: z.number().int().nonnegative().optional(),
  jti: z.string().min(8).max(64),
});
export type MediaTokenClaims = z.infer<typeof mediaTokenClaimsSchema>;
