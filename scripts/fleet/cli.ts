import { parseArgs } from 'node:util';
import { FleetApiError, FleetClient, type ListedNode } from './client.js';
import { resolveTarget } from './target.js';
import { FLEET_COLUMNS, fleetRows, formatFleet, formatTable } from './table.js';

export const USAGE = `usage: npm run fleet -- <command> [options]

commands:
  list                     the fleet: region, node, state, rooms, consumers, CPU, loss, why excluded
  drain <node>             stop placing rooms on the node; it takes no new meetings and exits once empty
  undrain <node>           let a drained node take rooms again

options:
  --edge <url>             edge base URL (EDGE_URL; default: the running \`npm start\`, else http://127.0.0.1:8787)
  --token <token>          admin token (ADMIN_TOKEN; default: ADMIN_TOKEN in <data dir>/dev-secrets.json)
  --data-dir <dir>         where \`npm start\` keeps its state (EDGEMEET_DATA_DIR; default .data)
  --deadline <when>        drain only: the node must be empty by then (ISO time, or 30s / 10m / 2h from now)
  --json                   list only: the API's answer as JSON`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  defaultDataDir: string;
  now?: () => number;
}

/** Runs one fleet command; answers the process exit code (0 ok, 1 failed, 2 usage). */
export async function runFleetCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        edge: { type: 'string' },
        token: { type: 'string' },
        'data-dir': { type: 'string' },
        deadline: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, nodeId, ...extra] = positionals;
  if (values.help || command === undefined) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? 0 : 2;
  }
  const needsNode = command === 'drain' || command === 'undrain';
  if (!['list', 'drain', 'undrain'].includes(command) || (needsNode && !nodeId) || (!needsNode && nodeId) || extra.length > 0) {
    io.err(`unknown or incomplete command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  let deadline: Date | undefined;
  if (values.deadline !== undefined) {
    deadline = parseDeadline(values.deadline, io.now?.() ?? Date.now()) ?? undefined;
    if (!deadline || command !== 'drain') {
      io.err(command !== 'drain' ? '--deadline goes with drain' : `--deadline "${values.deadline}": expected an ISO time or 30s / 10m / 2h`);
      return 2;
    }
  }

  try {
    const target = await resolveTarget({ edge: values.edge, token: values.token, dataDir: values['data-dir'] }, io.env, io.defaultDataDir);
    const client = new FleetClient({ edgeUrl: target.edgeUrl, adminToken: target.adminToken });
    const now = () => io.now?.() ?? Date.now();
    if (command === 'list') {
      const regions = await client.regions();
      io.out(values.json ? JSON.stringify({ regions }, null, 2) : formatFleet(regions, now()));
      return 0;
    }
    const node = await findNode(client, nodeId!);
    if (command === 'drain') {
      const drained = await client.drain(node.region, node.nodeId, deadline);
      io.out(`${drained.nodeId} (${drained.region}): ${drained.state}${deadline ? `, to be empty by ${deadline.toISOString()}` : ''}\n\n${nodeTable(drained, now())}`);
      return 0;
    }
    try {
      const undrained = await client.undrain(node.region, node.nodeId);
      // The edge lifted its drain, but a node that already got the command drains itself until it restarts.
      const note = undrained.state === 'draining' ? `\n${undrained.nodeId} drains itself (it got the drain command, or SIGTERM): it takes meetings again once it restarts` : '';
      io.out(`${undrained.nodeId} (${undrained.region}): ${undrained.state}${note}\n\n${nodeTable(undrained, now())}`);
      return 0;
    } catch (error) {
      if (error instanceof FleetApiError && error.status === 404 && error.code !== 'NODE_NOT_FOUND') {
        io.err(`fleet undrain: ${target.edgeUrl} has no undrain endpoint (an edge deployed before it; HTTP 404 for POST …/nodes/${node.nodeId}/undrain); ${node.nodeId} stays ${node.state}`);
        return 1;
      }
      throw error;
    }
  } catch (error) {
    io.err(`fleet ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function findNode(client: FleetClient, nodeId: string): Promise<ListedNode> {
  const nodes = await client.nodes();
  const node = nodes.find((candidate) => candidate.nodeId === nodeId);
  if (!node) throw new Error(`no node ${nodeId} in the fleet (known: ${nodes.map((n) => n.nodeId).join(', ') || 'none'})`);
  return node;
}

function nodeTable(node: ListedNode, now: number): string {
  return formatTable(FLEET_COLUMNS, fleetRows([node], now));
}

/** `2026-07-01T12:00:00Z`, or a span from now: `90s`, `10m`, `2h`. Null when neither or in the past. */
export function parseDeadline(text: string, now: number): Date | null {
  const span = /^(\d+)(s|m|h)$/.exec(text.trim());
  const unitMs = span?.[2] === 's' ? 1_000 : span?.[2] === 'm' ? 60_000 : 3_600_000;
  const at = span ? now + Number(span[1]) * unitMs : Date.parse(text);
  return Number.isFinite(at) && at > now ? new Date(at) : null;
}
