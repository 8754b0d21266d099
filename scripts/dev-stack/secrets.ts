import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import type { RegionId } from '../../schema/regions.js';
import { MEDIA_TOKEN_ALG } from '../../schema/wire/media-token.js';
import { regionNodeCredential } from '../node-credential.js';

/** Local secrets, generated once per data dir and reused, so sessions and nodes survive restarts. */
export const devSecretsSchema = z.object({
  MEDIA_TOKEN_PRIVATE_JWK: z.string(),
  MEDIA_TOKEN_PUBLIC_JWK: z.string(),
  NODE_CREDENTIAL_SECRET: z.string().min(32),
  ADMIN_TOKEN: z.string().min(32),
  URL_SIGNING_SECRET: z.string().min(32),
  /** Shared with the local coturn (added to older secret files on their next load). */
  TURN_SECRET: z.string().min(32).optional(),
});
export type DevSecrets = z.infer<typeof devSecretsSchema>;

const random = () => randomBytes(32).toString('base64url');

export async function loadOrCreateSecrets(dataDir: string): Promise<DevSecrets> {
  const file = path.join(dataDir, 'dev-secrets.json');
  const existing = await readFile(file, 'utf8').catch(() => null);
  if (existing) {
    const parsed = devSecretsSchema.safeParse(JSON.parse(existing));
    if (parsed.success && parsed.data.TURN_SECRET) return parsed.data;
    if (parsed.success) {
      const completed = { ...parsed.data, TURN_SECRET: random() };
      await writeFile(file, `${JSON.stringify(completed, null, 2)}\n`, { mode: 0o600 });
      return completed;
    }
  }
  const { privateKey, publicKey } = await generateKeyPair(MEDIA_TOKEN_ALG, { extractable: true });
  const kid = `dev-${randomBytes(4).toString('hex')}`;
  const secrets: DevSecrets = {
    MEDIA_TOKEN_PRIVATE_JWK: JSON.stringify({ ...(await exportJWK(privateKey)), alg: MEDIA_TOKEN_ALG, kid }),
    MEDIA_TOKEN_PUBLIC_JWK: JSON.stringify({ ...(await exportJWK(publicKey)), alg: MEDIA_TOKEN_ALG, kid }),
    NODE_CREDENTIAL_SECRET: random(),
    ADMIN_TOKEN: random(),
    URL_SIGNING_SECRET: random(),
    TURN_SECRET: random(),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** `<nodeId>.<region>.<mac>` — what an operator hands a node; the edge lets it register in that region only. */
export function nodeCredential(secret: string, nodeId: string, region: RegionId): string {
  return regionNodeCredential(secret, nodeId, region);
}

/** dotenv-format file for wrangler (.dev.vars / --env-file); JSON values in single quotes. */
export function devVarsText(vars: Record<string, string>): string {
  const lines = Object.entries(vars).map(([key, value]) => {
    if (value.includes("'") || value.includes('\n')) throw new Error(`${key}: value cannot be written to .dev.vars`);
    return `${key}='${value}'`;
  });
  return `# Written by scripts/dev-stack.ts (npm start) — local development secrets only.\n${lines.join('\n')}\n`;
}
