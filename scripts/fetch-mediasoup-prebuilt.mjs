// Tries the prebuilt mediasoup-worker that mediasoup's own postinstall would download (same URL
// rule: <repository>/releases/download/<version>/mediasoup-worker-<v>-<platform>-<arch>[-kernelN].tgz,
// or MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL). Prints the extracted binary's path and exits 0,
// or exits 1 quickly when it cannot be fetched (offline machines build it instead).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../node_modules/mediasoup/package.json');
const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: fetch-mediasoup-prebuilt.mjs <out dir>');
  process.exit(2);
}
const base =
  process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
  `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
if (os.platform() === 'linux') name += `-kernel${Number(os.release().split('.')[0])}`;
const url = `${base}/${pkg.version}/${name}.tgz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  fs.mkdirSync(outDir, { recursive: true });
  const tgz = path.join(outDir, 'prebuilt.tgz');
  fs.writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['-xzf', tgz, '-C', outDir]);
  fs.rmSync(tgz);
  const bin = path.join(outDir, 'mediasoup-worker');
  // Started outside mediasoup, a working worker exits with 41 ("not my real father").
  const check = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  if (check.status !== 41) throw new Error(`downloaded worker does not run (exit ${check.status})`);
  console.log(bin);
} catch (error) {
  console.error(`[setup] no prebuilt mediasoup-worker (${error instanceof Error ? error.message : error}); building it instead`);
  process.exit(1);
}
