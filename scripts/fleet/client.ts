import { z } from 'zod';
import { fleetNodeSchema, fleetRegionSchema } from '../../schema/wire/http.js';
import type { RegionId } from '../../schema/regions.js';

/**
 * The edge's fleet API (edge/routes/fleet.ts) as the operator tools see it, behind the admin token:
 *   GET  /api/fleet/regions
 *   POST /api/fleet/regions/:region/nodes/:nodeId/drain     { deadline?: ISO time }
 *   POST /api/fleet/regions/:region/nodes/:nodeId/undrain
 */

/**
 * A node as listed. `excludedBecause` (why placement skips the node; empty when it takes rooms)
 * is optional here so the CLI still lists the fleet of an edge deployed before it was reported.
 */
export const listedNodeSchema = fleetNodeSchema.extend({ excludedBecause: z.array(z.string().max(200)).max(32).optional() });
export type ListedNode = z.infer<typeof listedNodeSchema>;
const listedRegionSchema = fleetRegionSchema.extend({ nodes: z.array(listedNodeSchema) });
export type ListedRegion = z.infer<typeof listedRegionSchema>;
const listResponseSchema = z.object({ regions: z.array(listedRegionSchema) });
const nodeResponseSchema = z.object({ node: listedNodeSchema });
const errorResponseSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export class FleetApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface FleetClientOptions {
  edgeUrl: string;
  adminToken: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export class FleetClient {
  constructor(private readonly options: FleetClientOptions) {}

  async regions(): Promise<ListedRegion[]> {
    return (await this.request('GET', '/api/fleet/regions', listResponseSchema)).regions;
  }

  async nodes(): Promise<ListedNode[]> {
    return (await this.regions()).flatMap((region) => region.nodes);
  }

  /** Stop placing rooms on the node and tell it to drain (deadline: when it must be empty). */
  async drain(region: RegionId, nodeId: string, deadline?: Date): Promise<ListedNode> {
    const body = deadline ? { deadline: deadline.toISOString() } : {};
    return (await this.request('POST', `${nodePath(region, nodeId)}/drain`, nodeResponseSchema, body)).node;
  }

  async undrain(region: RegionId, nodeId: string): Promise<ListedNode> {
    return (await this.request('POST', `${nodePath(region, nodeId)}/undrain`, nodeResponseSchema, {})).node;
  }

  private async request<T>(method: 'GET' | 'POST', route: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const url = new URL(route, this.options.edgeUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.options.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new FleetApiError(`${method} ${url.href}: edge not reachable (${error instanceof Error ? error.message : String(error)})`, 0, null);
    }
    const text = await response.text();
    const json = safeJson(text);
    if (!response.ok) {
      const problem = errorResponseSchema.safeParse(json);
      const detail = problem.success ? `${problem.data.error.code}: ${problem.data.error.message}` : text.slice(0, 200) || response.statusText;
      throw new FleetApiError(`${method} ${url.pathname}: HTTP ${response.status} ${detail}`, response.status, problem.success ? problem.data.error.code : null);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new FleetApiError(`${method} ${url.pathname}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'})`, response.status, null);
    return parsed.data;
  }
}

function nodePath(region: RegionId, nodeId: string): string {
  return `/api/fleet/regions/${encodeURIComponent(region)}/nodes/${encodeURIComponent(nodeId)}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
