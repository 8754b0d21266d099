import { importJWK, SignJWT, type JWK } from 'jose';
import type { Permission } from '../../schema/wire/common.js';
import { MEDIA_TOKEN_ALG, MEDIA_TOKEN_ISSUER, MEDIA_TOKEN_TTL_SECONDS } from '../../schema/wire/media-token.js';

export interface MediaTokenRequest {
  nodeId: string;
  participantId: string;
  meetingLinkId: string;
  displayName: string;
  perms: Permission[];
}

/**
 * Signs the short-lived media tokens (ES256, claims in schema/wire/media-token.ts) a media node
 * checks without calling the edge. The key is imported once per Durable Object instance.
 */
export class MediaTokenSigner {
  private key: Promise<CryptoKey | Uint8Array> | null = null;

  /** The key is read when first needed: a room that never signs does not need the secret. */
  constructor(private readonly privateJwk: () => string) {}

  async sign(request: MediaTokenRequest, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    this.key ??= importJWK(JSON.parse(this.privateJwk()) as JWK, MEDIA_TOKEN_ALG);
    const issuedAt = Math.floor(now / 1000);
    const expiresAt = issuedAt + MEDIA_TOKEN_TTL_SECONDS;
    const token = await new SignJWT({ mid: request.meetingLinkId, name: request.displayName, perms: request.perms, iatMs: now })
      .setProtectedHeader({ alg: MEDIA_TOKEN_ALG, typ: 'JWT' })
      .setIssuer(MEDIA_TOKEN_ISSUER)
      .setAudience(request.nodeId)
      .setSubject(request.participantId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(crypto.randomUUID())
      .sign(await this.key);
    // expiresAt in the join answer is epoch milliseconds, like every other timestamp on the wire.
    return { token, expiresAt: expiresAt * 1000 };
  }
}
