import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Stack } from '../../../scripts/dev-stack.js';

/** Edge log events about placement and node liveness: what a capacity refusal is explained by. */
const PLACEMENT_EVENT = /"event":"(room\.(placed|place_failed|replace_failed|release_failed|node_replaced)|node\.[a-z_]+)"/;

/**
 * What the stack's control plane thought when a browser test failed: each node with its load and
 * why placement skips it, and the edge's placement and liveness events. Printed by the test, as
 * the stack's log directory is deleted with it (and a CI machine with it).
 */
export async function placementReport(stack: Stack, lastEvents = 40): Promise<string> {
  const nodes = await stack.fleet.nodes().catch((error: unknown) => `fleet API: ${String(error)}`);
  const edgeLog = await readFile(path.join(stack.logDir, 'edge.log'), 'utf8').catch(() => '');
  const events = edgeLog.split('\n').filter((line) => PLACEMENT_EVENT.test(line)).slice(-lastEvents);
  return [`[e2e] fleet at failure: ${JSON.stringify(nodes)}`, `[e2e] last placement/liveness events on the edge:`, ...events].join('\n');
}
