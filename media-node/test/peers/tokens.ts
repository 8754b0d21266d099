import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomBytes } from 'node:crypto';
import { MEDIA_TOKEN_ALG, MEDIA_TOKEN_ISSUER, type Permission } from '../../../schema/wire/index.js';

/** Plays the edge's media-token signer in tests: an ES256 key pair and a token minter. */
export class TestTokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    readonly publicJwk: string,
  ) {}

  static async create(): Promise<TestTokenIssuer> {
    const { privateKey, publicKey } = await generateKeyPair(MEDIA_TOKEN_ALG, { extractable: true });
    return new TestTokenIssuer(privateKey, JSON.stringify(await exportJWK(publicKey)));
  }

  async sign(claims: {
    nodeId: string;
    meetingId: string;
    participantId: string;
    name?: string;
    perms?: Permission[];
    /** Seconds from now; negative for an expired token. */
    expiresIn?: number;
    issuer?: string;
    /** Leave out iatMs (a token of an edge that did not send it yet): only whole seconds then. */
    secondsOnly?: boolean;
  }): Promise<string> {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const exp = now + (claims.expiresIn ?? 120);
    return new SignJWT({ mid: claims.meetingId, name: claims.name ?? claims.participantId.slice(0, 20), perms: claims.perms ?? ['publish', 'subscribe', 'screen'], ...(claims.secondsOnly ? {} : { iatMs: nowMs }) })
      .setProtectedHeader({ alg: MEDIA_TOKEN_ALG })
      .setIssuer(claims.issuer ?? MEDIA_TOKEN_ISSUER)
      .setAudience(claims.nodeId)
      .setSubject(claims.participantId)
      .setIssuedAt(Math.min(now, exp - 1))
      .setExpirationTime(exp)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.privateKey);
  }
}

/** A fresh 22-char meeting link id. */
export const newMeetingId = (): string => randomBytes(16).toString('base64url');
/** A fresh participant id. */
export const newParticipantId = (prefix = 'p'): string => `${prefix}-${randomBytes(6).toString('base64url')}`;
