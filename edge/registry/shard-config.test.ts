import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { baselineNodes, MEDIA_REGIONS, regionById, reserveNodes } from '../../schema/regions.js';
import { edgeConfig } from '../config.js';
import { regionShardStubs, regionStub } from '../durable-objects.js';
import { parseRegistryShards, registryShards } from './shards.js';

describe('REGISTRY_SHARDS', () => {
  it('leaves every region at one RegionDO when unset, as this suite runs', () => {
    expect(parseRegistryShards(undefined)('lon')).toBe(1);
    for (const region of MEDIA_REGIONS) expect(edgeConfig(env).registryShards(region.id)).toBe(1);
    expect(regionShardStubs(env, 'lon').map((stub) => stub.id.toString())).toEqual([regionStub(env, 'lon').id.toString()]);
  });

  it('sets regions one by one, and `plan` sets each media region from its capacity-plan nodes; later entries win', () => {
    const listed = parseRegistryShards('nbo=2, syd=3');
    expect([listed('nbo'), listed('syd'), listed('lon')]).toEqual([2, 3, 1]);
    const plan = parseRegistryShards('plan,lon=1');
    const nyc = baselineNodes(regionById('nyc'));
    expect(plan('nyc')).toBe(registryShards(nyc + reserveNodes(nyc)));
    expect(plan('nyc')).toBeGreaterThan(1);
    expect(plan('lon')).toBe(1);
    expect(plan('mci')).toBe(1);
  });

  it('refuses what is not `plan` or <region>=<shards>, naming the variable', () => {
    for (const bad of ['lon', 'lon=0', 'lon=two', 'xyz=2', 'lon=2;bom=3', 'lon=1001']) {
      expect(() => parseRegistryShards(bad), bad).toThrow(/REGISTRY_SHARDS/);
    }
  });

  it('names shard 0 as the region itself (a one-shard region keeps its storage) and the others apart', () => {
    const ids = [0, 1, 2].map((shard) => regionStub(env, 'lon', shard).id.toString());
    expect(ids[0]).toBe(env.REGION.idFromName('lon').toString());
    expect(new Set(ids).size).toBe(3);
  });
});
