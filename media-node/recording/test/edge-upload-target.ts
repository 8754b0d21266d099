import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The node the target's credential belongs to. */
const NODE_ID = 'media-rec-test';

export interface EdgeUploadTarget {
  url: string;
  mf: Miniflare;
  nodeCredential: string;
  signingSecret: string;
  /** Bytes R2 holds under a key (null if absent). */
  stored(key: string): Promise<Buffer | null>;
  /** Lets this target's node upload the files of `recordingId` (as the RoomDO does at start). */
  grant(recordingId: string): Promise<void>;
  /** The recording is final: its files can no longer change (as the RoomDO does on ready/failed). */
  finish(recordingId: string): Promise<void>;
  close(): Promise<void>;
}

/** The region-bound node credential exactly as the edge mints it (edge/registry/credentials.ts mintNodeCredential). */
async function deriveCredential(secret: string, nodeId: string, region: string): Promise<string> {
  const { createHmac } = await import('node:crypto');
  return `${nodeId}.${region}.${createHmac('sha256', secret).update(`edgemeet-node/v2\n${nodeId}\n${region}`).digest('base64url')}`;
}

/** Bundles the edge's recordings routes and serves them from workerd (Miniflare) with an in-memory R2. */
export async function startEdgeUploadTarget(): Promise<EdgeUploadTarget> {
  const outdir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-rec-edge-'));
  await build({
    entryPoints: [path.join(here, 'edge-upload-entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['node:*', 'cloudflare:*'],
    outfile: path.join(outdir, 'worker.mjs'),
    logLevel: 'error',
  });
  const credentialSecret = 'test-node-credential-secret';
  const signingSecret = 'test-url-signing-secret';
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(outdir, 'worker.mjs'),
    modulesRoot: outdir,
    compatibilityDate: '2026-05-01',
    compatibilityFlags: ['nodejs_compat'],
    r2Buckets: ['FILES'],
    bindings: { NODE_CREDENTIAL_SECRET: credentialSecret, URL_SIGNING_SECRET: signingSecret },
    host: '127.0.0.1',
    port: 0,
    cf: false,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const bucket = await mf.getR2Bucket('FILES');
  return {
    url,
    mf,
    nodeCredential: await deriveCredential(credentialSecret, NODE_ID, 'lon'),
    signingSecret,
    async grant(recordingId) {
      const response = await fetch(`${url}/test/grants/${recordingId}`, { method: 'POST', body: JSON.stringify({ nodeId: NODE_ID, meetingLinkId: 'RecTestGrantMeeting001' }) });
      if (!response.ok) throw new Error(`grant answered ${response.status}`);
    },
    async finish(recordingId) {
      const response = await fetch(`${url}/test/grants/${recordingId}/finish`, { method: 'POST' });
      if (!response.ok) throw new Error(`finish answered ${response.status}`);
    },
    async stored(key) {
      const object = await bucket.get(key);
      return object ? Buffer.from(await object.arrayBuffer()) : null;
    },
    async close() {
      await mf.dispose();
      await rm(outdir, { recursive: true, force: true });
    },
  };
}
