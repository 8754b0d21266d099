import { z } from 'zod';
import { MEDIA_REGIONS, regionIdSchema, type RegionId } from '../../schema/regions.js';

/**
 * Which media nodes a local stack runs: `EDGEMEET_NODES=lon:2,fra:1` → lon-dev-1, lon-dev-2,
 * fra-dev-1. A bare region (`fra`) means one node there. Default: one node in lon.
 */
export interface NodeSpec {
  nodeId: string;
  region: RegionId;
}

export const DEFAULT_NODE_LAYOUT = 'lon:1';
/** More than this per region is a typo on a laptop, not a layout. */
const MAX_NODES_PER_REGION = 16;

const mediaRegionSchema = regionIdSchema.refine(
  (region) => MEDIA_REGIONS.some((candidate) => candidate.id === region),
  { error: (issue) => `${String(issue.input)} has no media role (media regions: ${MEDIA_REGIONS.map((r) => r.id).join(', ')})` },
);

const layoutEntrySchema = z
  .string()
  .trim()
  .regex(/^[a-z]{3}(:\d+)?$/, 'expected <region>[:<count>], e.g. lon:2')
  .transform((entry) => {
    const [region, count] = entry.split(':');
    return { region, count: count === undefined ? 1 : Number(count) };
  })
  .pipe(z.object({ region: mediaRegionSchema, count: z.number().int().min(1).max(MAX_NODES_PER_REGION) }));

/** Parses a layout string; throws a readable error naming the bad entry. */
export function parseNodeLayout(layout: string | undefined): NodeSpec[] {
  const text = layout === undefined || layout.trim() === '' ? DEFAULT_NODE_LAYOUT : layout;
  const perRegion = new Map<RegionId, number>();
  for (const entry of text.split(',')) {
    const parsed = layoutEntrySchema.safeParse(entry);
    if (!parsed.success) throw new Error(`node layout "${text}": "${entry.trim()}": ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
    // `lon:1,lon:2` adds up rather than silently taking one of them.
    perRegion.set(parsed.data.region, (perRegion.get(parsed.data.region) ?? 0) + parsed.data.count);
  }
  const specs: NodeSpec[] = [];
  for (const [region, count] of perRegion) {
    if (count > MAX_NODES_PER_REGION) throw new Error(`node layout "${text}": at most ${MAX_NODES_PER_REGION} nodes per region`);
    for (let index = 1; index <= count; index++) specs.push({ nodeId: devNodeId(region, index), region });
  }
  return specs;
}

export function devNodeId(region: RegionId, index: number): string {
  return `${region}-dev-${index}`;
}
