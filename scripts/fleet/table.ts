import type { ListedNode, ListedRegion } from './client.js';

/** The fleet as a plain-text table, one row per node, regions in the API's order. */
export const FLEET_COLUMNS = ['REGION', 'NODE', 'STATE', 'ROOMS', 'CONSUMERS', 'CPU', 'LOSS', 'HEARTBEAT', 'WHY EXCLUDED'] as const;

export function fleetRows(nodes: readonly ListedNode[], now: number): string[][] {
  return nodes.map((node) => [
    node.region,
    node.nodeId,
    node.state,
    String(node.rooms),
    // "+N": consumers placement reserves beyond the report (rooms still filling).
    `${node.load.consumers}/${node.load.consumerCapacity}${node.reservedConsumers ? ` +${node.reservedConsumers}` : ''}`,
    meanCpu(node.load.cpuPerWorker),
    percent(node.load.packetLoss),
    age(now - node.lastHeartbeatAt),
    // '-': placement takes it (or an older edge that does not say why).
    node.excludedBecause && node.excludedBecause.length > 0 ? node.excludedBecause.join(', ') : '-',
  ]);
}

export function formatTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The whole `fleet list` output: the table, then one summary line. */
export function formatFleet(regions: readonly ListedRegion[], now: number): string {
  const nodes = regions.flatMap((region) => region.nodes);
  if (nodes.length === 0) return 'no media nodes have registered with this edge';
  const serving = nodes.filter((node) => node.state === 'serving').length;
  const regionsWithNodes = regions.filter((region) => region.nodes.length > 0).length;
  const summary = `${nodes.length} node${nodes.length === 1 ? '' : 's'} in ${regionsWithNodes} region${regionsWithNodes === 1 ? '' : 's'}, ${serving} serving`;
  return `${formatTable(FLEET_COLUMNS, fleetRows(nodes, now))}\n\n${summary}`;
}

function meanCpu(cpuPerWorker: readonly number[]): string {
  if (cpuPerWorker.length === 0) return '-';
  return percent(cpuPerWorker.reduce((sum, cpu) => sum + cpu, 0) / cpuPerWorker.length);
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}
