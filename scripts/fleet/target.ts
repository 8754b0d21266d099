import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * Which edge the fleet CLI talks to, and with which admin token. In order:
 *   edge:  --edge, EDGE_URL, the running `npm start` (<data dir>/dev-stack.json), http://127.0.0.1:8787
 *   token: --token, ADMIN_TOKEN, <data dir>/dev-secrets.json (written by `npm start`)
 *   data dir: --data-dir, EDGEMEET_DATA_DIR, <repo>/.data
 */
export const DEFAULT_EDGE_URL = 'http://127.0.0.1:8787';
const STACK_FILE = 'dev-stack.json';

const stackFileSchema = z.object({ edgeUrl: z.url(), pid: z.number().int().positive() });
const secretsFileSchema = z.object({ ADMIN_TOKEN: z.string().min(1) });
const targetEnvSchema = z.object({
  EDGE_URL: z.string().optional().transform((value) => value?.trim() || undefined),
  ADMIN_TOKEN: z.string().optional().transform((value) => value?.trim() || undefined),
  EDGEMEET_DATA_DIR: z.string().optional(),
});

export interface Target {
  edgeUrl: string;
  adminToken: string;
  /** Where each came from, for error messages. */
  edgeFrom: string;
  tokenFrom: string;
}

/** Written by the dev stack while it runs, so the CLI finds an edge that had to take another port. */
export async function writeStackFile(dataDir: string, edgeUrl: string): Promise<void> {
  await writeFile(path.join(dataDir, STACK_FILE), `${JSON.stringify({ edgeUrl, pid: process.pid })}\n`);
}

export async function removeStackFile(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, STACK_FILE), { force: true });
}

export async function resolveTarget(flags: { edge?: string; token?: string; dataDir?: string }, env: NodeJS.ProcessEnv, defaultDataDir: string): Promise<Target> {
  const vars = targetEnvSchema.parse(env);
  const dataDir = path.resolve(flags.dataDir ?? vars.EDGEMEET_DATA_DIR ?? defaultDataDir);

  let edgeUrl = flags.edge ?? vars.EDGE_URL;
  let edgeFrom = flags.edge ? '--edge' : 'EDGE_URL';
  if (!edgeUrl) {
    const running = await runningStack(dataDir);
    edgeUrl = running ?? DEFAULT_EDGE_URL;
    edgeFrom = running ? path.join(dataDir, STACK_FILE) : 'default';
  }
  if (!z.url().safeParse(edgeUrl).success) throw new Error(`edge URL "${edgeUrl}" (${edgeFrom}) is not a URL`);

  if (flags.token) return { edgeUrl, edgeFrom, adminToken: flags.token, tokenFrom: '--token' };
  if (vars.ADMIN_TOKEN) return { edgeUrl, edgeFrom, adminToken: vars.ADMIN_TOKEN, tokenFrom: 'ADMIN_TOKEN' };
  const secretsFile = path.join(dataDir, 'dev-secrets.json');
  const text = await readFile(secretsFile, 'utf8').catch(() => null);
  const secrets = secretsFileSchema.safeParse(text === null ? null : parseJson(text));
  if (!secrets.success) throw new Error(`no admin token: pass --token, set ADMIN_TOKEN, or run \`npm start\` once (it writes ${secretsFile})`);
  return { edgeUrl, edgeFrom, adminToken: secrets.data.ADMIN_TOKEN, tokenFrom: secretsFile };
}

/** The edge URL of a dev stack that is still running (its process alive), else null. */
async function runningStack(dataDir: string): Promise<string | null> {
  const text = await readFile(path.join(dataDir, STACK_FILE), 'utf8').catch(() => null);
  const stack = stackFileSchema.safeParse(text === null ? null : parseJson(text));
  if (!stack.success) return null;
  try {
    process.kill(stack.data.pid, 0);
    return stack.data.edgeUrl;
  } catch (error) {
    // EPERM: alive, but another user's process.
    return error instanceof Error && 'code' in error && error.code === 'EPERM' ? stack.data.edgeUrl : null;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
