import { errors, importJWK, jwtVerify, type CryptoKey, type KeyObject } from 'jose';
import { AppError, MEDIA_TOKEN_ALG, MEDIA_TOKEN_ISSUER, mediaTokenClaimsSchema, type MediaTokenClaims } from '../../schema/wire/index.js';

/** Verifies the edge-signed media tokens (ES256, aud = this node) without calling the edge. */
export class MediaTokenVerifier {
  private constructor(
    private readonly key: CryptoKey | KeyObject | Uint8Array,
    private readonly nodeId: string,
  ) {}

  static async create(publicJwkJson: string, nodeId: string): Promise<MediaTokenVerifier> {
    let jwk: unknown;
    try {
      jwk = JSON.parse(publicJwkJson);
    } catch {
      throw new Error('MEDIA_TOKEN_PUBLIC_JWK is not JSON');
    }
    if (typeof jwk !== 'object' || jwk === null) throw new Error('MEDIA_TOKEN_PUBLIC_JWK is not a JWK object');
    return new MediaTokenVerifier(await importJWK(jwk, MEDIA_TOKEN_ALG), nodeId);
  }

  async verify(token: string): Promise<MediaTokenClaims> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, { issuer: MEDIA_TOKEN_ISSUER, audience: this.nodeId, algorithms: [MEDIA_TOKEN_ALG] }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'the media token has expired');
      throw new AppError('TOKEN_INVALID', 'the media token is not valid for this node');
    }
    const claims = mediaTokenClaimsSchema.safeParse(payload);
    if (!claims.success) throw new AppError('TOKEN_INVALID', 'the media token has malformed claims');
    return claims.data;
  }
}
