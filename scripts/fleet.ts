/**
 * Operators' fleet CLI: `npm run fleet -- list | drain <node> | undrain <node>` against the edge's
 * fleet API (admin token). `npm run fleet -- --help` lists the options.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFleetCli } from './fleet/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

process.exitCode = await runFleetCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  defaultDataDir: path.join(ROOT, '.data'),
});
