import { edgeTestConfig } from './vitest.shared.js';

/**
 * The registry split over several RegionDOs per region (edge/registry/shards.ts), in workerd
 * against the real Postgres like test:edge:
 *   npx vitest run --config edge/vitest.shards.config.ts
 * Its own suite because it configures REGISTRY_SHARDS, which every other edge test leaves unset
 * (one RegionDO per region); edge/vitest.config.ts leaves edge/test/shards/** out.
 */
export default edgeTestConfig({
  include: ['edge/test/shards/**/*.test.ts'],
  globalSetup: 'edge/test/global-setup.ts',
  bindings: { REGISTRY_SHARDS: 'nbo=2,syd=3' },
});
