/**
 * Capacity planner: prints, per data centre, the share of the plan's peak load its media
 * serves, the media nodes it needs (baseline) and the spare ones (reserve), all from
 * schema/regions.ts — the same config placement and the fleet API read.
 *   npm run capacity
 */
import { PLAN, REGIONS, baselineNodes, consumersPerRoom, reserveNodes, roomsPerNode } from '../schema/regions.js';

const rows = REGIONS.map((region) => {
  const baseline = baselineNodes(region);
  return {
    region: `${region.id} ${region.name}`,
    roles: region.roles.join('+'),
    'peak joins/s': Math.round(region.peakShare * PLAN.peakJoinsPerSecond),
    'concurrent rooms': Math.round(region.peakShare * PLAN.concurrentRooms),
    'baseline nodes': baseline,
    'reserve nodes': reserveNodes(baseline),
  };
});

console.log(
  `plan: ${PLAN.concurrentRooms.toLocaleString('en')} concurrent rooms of ${PLAN.avgParticipants} ` +
    `(${consumersPerRoom()} consumers each), ${PLAN.coresPerMediaNode}-core nodes at ` +
    `${PLAN.consumersPerCore} consumers/core → ${roomsPerNode()} rooms per node`,
);
console.table(rows);
const totalBaseline = rows.reduce((sum, row) => sum + row['baseline nodes'], 0);
const totalReserve = rows.reduce((sum, row) => sum + row['reserve nodes'], 0);
console.log(`total media nodes: ${totalBaseline} baseline + ${totalReserve} reserve = ${totalBaseline + totalReserve}`);
