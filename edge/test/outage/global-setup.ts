import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { setupEdgeTests } from '../global-setup.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The outage suite's database is a cluster of its own, which its tests stop and start. */
export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return setupEdgeTests(project, { ownCluster: path.join(root, '.data/postgres-edge-meeting-outage') });
}
