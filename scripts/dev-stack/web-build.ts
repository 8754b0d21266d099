import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from './processes.js';

/**
 * Builds the web app (Vite) into edge/web/dist when it is missing or older than its sources.
 * `skip` serves whatever is built (tests that open no browser); `force` always builds.
 */
export async function buildWebIfNeeded(options: { root: string; env: NodeJS.ProcessEnv; force: boolean; skip: boolean; say: (line: string) => void }): Promise<void> {
  const built = existsSync(path.join(options.root, 'edge/web/dist/index.html'));
  if (options.force || !built || (!options.skip && (await webBuildIsStale(options.root)))) {
    options.say('Web app: building (vite build)…');
    await run(process.execPath, [path.join(options.root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'edge/web/vite.config.ts'], { cwd: options.root, env: options.env });
  } else options.say(options.skip ? 'Web app: using edge/web/dist as it is' : 'Web app: edge/web/dist is up to date');
}

/** True when any web source (or the wire schemas it bundles) is newer than the built index.html. */
async function webBuildIsStale(root: string): Promise<boolean> {
  const built = path.join(root, 'edge/web/dist/index.html');
  if (!existsSync(built)) return true;
  const builtAt = (await stat(built)).mtimeMs;
  const newest = async (dir: string): Promise<number> => {
    let latest = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? await newest(full) : (await stat(full)).mtimeMs);
    }
    return latest;
  };
  const sources = await Promise.all([newest(path.join(root, 'edge/web/src')), newest(path.join(root, 'schema')), stat(path.join(root, 'edge/web/index.html')).then((s) => s.mtimeMs)]);
  return Math.max(...sources) > builtAt;
}

