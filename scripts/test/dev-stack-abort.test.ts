import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startStack } from '../dev-stack.js';
import { run } from '../dev-stack/processes.js';

/**
 * Ctrl-C while `npm start` is still starting used to exit with wrangler dev and Postgres left
 * running. Aborting startStack must stop what it had started and reject.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
let dataDir: string | undefined;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('aborting while the edge starts stops the edge and Postgres, then rejects', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-abort-'));
  const abort = new AbortController();
  let edgeUrl = '';
  const started = startStack({
    dataDir,
    edgePort: 0,
    media: false,
    skipWebBuild: true,
    writeRootDevVars: false,
    signal: abort.signal,
    log: (line) => {
      const edge = /^Edge: starting wrangler dev on (\S+?)…/.exec(line);
      if (edge?.[1]) {
        edgeUrl = edge[1];
        abort.abort(new Error('Ctrl-C'));
      }
    },
  });
  await expect(started).rejects.toThrow('Ctrl-C');
  expect(edgeUrl).not.toBe('');
  const edgeAnswers = await fetch(`${edgeUrl}/api/openapi.json`, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false);
  expect(edgeAnswers).toBe(false);
  const pgEnv = { ...process.env, EDGEMEET_PG_DIR: path.join(dataDir, 'postgres') };
  const pgRunning = await run('bash', ['scripts/postgres.sh', 'status'], { cwd: ROOT, env: pgEnv }).then(() => true, () => false);
  expect(pgRunning).toBe(false);
});
