/**
 * bench:join --diagnose: where a join's time goes. One Miniflare with the counting entry
 * (op-counters.ts) and workerd's inspector: first joins (placement) and spread joins are counted
 * apart — storage operations of the RoomDO and RegionDO, sub-requests, wall time in the Worker and
 * in RoomDO.join per join —, the floor (an empty RPC to the RoomDO through the Worker), the CPU of
 * workerd and of this process per join against the Worker-only baseline, and a CPU profile of the
 * spread joins (self time by function). Figures with the counters on are slower than the
 * bench's own: read the counts and the shares, not the rates.
 */
import { readdir, readFile } from 'node:fs/promises';
import { freePort } from '../dev-stack/ports.js';
import { startBenchEdge, type BenchEdge } from './edge.js';
import { describeLoad, measureLoad, type LoadOutcome } from './load.js';
import { EMULATION_PATH, perJoin, PING_PATH, type OpCounters } from './op-counters.js';
import { cpuSeconds } from './proc.js';
import { sleep } from './stats.js';
import { startWorkerdProfile } from './workerd-profile.js';

export interface DiagnoseOptions {
  meetings: number;
  perMeeting: number;
  concurrency: number;
  /** Bundle from this copy of the repository (bench/edge.ts `tree`). */
  tree?: string;
}

/** The workerd process Miniflare started for this process. */
async function workerdPid(): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const name = /\(([^)]*)\)/.exec(stat)?.[1];
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (name === 'workerd' && ppid === process.pid) return Number(entry);
  }
  return null;
}

function printCounters(title: string, counters: OpCounters): void {
  const { joins, rows } = perJoin(counters);
  console.log(`${title} — ${joins} joins; per join:`);
  for (const row of rows.filter((r) => !r.name.startsWith('sql '))) console.log(`  ${row.perJoin.toFixed(2).padStart(8)}  ${row.name}`);
  console.log('  statements:');
  for (const row of rows.filter((r) => r.name.startsWith('sql ')).sort((a, b) => b.perJoin - a.perJoin)) console.log(`  ${row.perJoin.toFixed(2).padStart(8)}  ${row.name.slice(4)}`);
}

/** Configures the meetings, connects the node and places every meeting (its first join). */
async function prepare(edge: BenchEdge, options: DiagnoseOptions): Promise<string[]> {
  const meetings = await Promise.all(Array.from({ length: options.meetings }, () => edge.configure(3 * options.perMeeting + 10)));
  await edge.connectNode();
  return meetings;
}

const joiner = (edge: BenchEdge) => async (linkId: string, name: string) => void (await edge.join(linkId, name));

/** Counted run: storage operations and sub-requests per first join and per spread join. */
async function countOps(options: DiagnoseOptions): Promise<void> {
  const edge = await startBenchEdge({ countOps: true, ...(options.tree ? { tree: options.tree } : {}) });
  try {
    const meetings = await prepare(edge, options);
    const join = joiner(edge);
    await edge.takeCounters();
    console.log(describeLoad(await measureLoad('first joins (placement via RegionDO)', options.meetings, options.concurrency, (i) => join(meetings[i]!, 'first')), 'joins'));
    printCounters('first joins', await edge.takeCounters());
    const total = options.meetings * (options.perMeeting - 1);
    console.log(describeLoad(await measureLoad(`joins spread over ${options.meetings} meetings`, total, options.concurrency, (i) => join(meetings[i % options.meetings]!, `d${i}`)), 'joins'));
    await sleep(500); // the outbox flushes after its coalescing delay
    printCounters('spread joins (and their outbox flushes)', await edge.takeCounters());
    // The floor: the same requests, each an empty RPC to the meeting's RoomDO.
    const ping = await cpuPerRequest(await workerdPid(), total, () =>
      measureLoad('Worker → RoomDO empty RPC (floor)', total, options.concurrency, async (i) => {
        const response = await fetch(`${edge.base.origin}${PING_PATH}${meetings[i % options.meetings]!}`, { method: 'POST', body: '{}' });
        await response.text();
        if (!response.ok) throw new Error(`ping ${response.status}`);
      }),
    );
    console.log(describeLoad(ping.outcome));
    console.log(`  CPU per empty RPC: workerd ${ping.workerdMs.toFixed(2)} ms, client (node) ${ping.clientMs.toFixed(2)} ms`);
    // The same joins, then again with Miniflare's queue and cache services cut out (no-ops).
    for (const off of [false, true]) {
      await fetch(`${edge.base.origin}${EMULATION_PATH}?off=${off ? 1 : 0}`, { method: 'POST' });
      const run = await cpuPerRequest(await workerdPid(), total, () =>
        measureLoad(off ? 'joins, queue and cache as no-ops' : 'joins (counted)', total, options.concurrency, (i) => join(meetings[i % options.meetings]!, `${off ? 'n' : 'e'}${i}`)),
      );
      console.log(describeLoad(run.outcome, 'joins'));
      console.log(`  CPU per join: workerd ${run.workerdMs.toFixed(2)} ms, client (node) ${run.clientMs.toFixed(2)} ms`);
    }
    await fetch(`${edge.base.origin}${EMULATION_PATH}?off=0`, { method: 'POST' });
  } finally {
    await edge.close();
  }
}

/** CPU of workerd and of this process (the client) per request while `load` runs. */
async function cpuPerRequest(pid: number | null, requests: number, load: () => Promise<LoadOutcome>): Promise<{ outcome: LoadOutcome; workerdMs: number; clientMs: number }> {
  const workerdBefore = pid ? await cpuSeconds(pid) : Number.NaN;
  const clientBefore = process.cpuUsage();
  const outcome = await load();
  const client = process.cpuUsage(clientBefore);
  return { outcome, workerdMs: (((pid ? await cpuSeconds(pid) : Number.NaN) - workerdBefore) / requests) * 1000, clientMs: ((client.user + client.system) / 1e6 / requests) * 1000 };
}

/** Plain run (no counters): CPU per spread join against the Worker-only baseline, and a profile of the joins. */
async function profileCpu(options: DiagnoseOptions): Promise<void> {
  const inspectorPort = await freePort();
  const edge = await startBenchEdge({ inspectorPort, ...(options.tree ? { tree: options.tree } : {}) });
  try {
    const meetings = await prepare(edge, options);
    const join = joiner(edge);
    await measureLoad('first joins', options.meetings, options.concurrency, (i) => join(meetings[i]!, 'first'));
    const pid = await workerdPid();
    const total = options.meetings * (options.perMeeting - 1);
    const baseline = await cpuPerRequest(pid, total, () =>
      measureLoad('baseline: Worker only (400, no DO)', total, options.concurrency, async () => {
        const response = await fetch(`${edge.base.origin}/api/meetings/bad/join`, { method: 'POST', body: '{}' });
        await response.text();
      }),
    );
    const profiler = await startWorkerdProfile(inspectorPort);
    const joins = await cpuPerRequest(pid, total, () => measureLoad(`joins spread over ${options.meetings} meetings`, total, options.concurrency, (i) => join(meetings[i % options.meetings]!, `p${i}`)));
    const profile = await profiler.stop();
    for (const [what, run] of [['baseline request', baseline], ['spread join', joins]] as const) {
      console.log(describeLoad(run.outcome, what === 'spread join' ? 'joins' : 'requests'));
      console.log(`  CPU per ${what}: workerd ${run.workerdMs.toFixed(2)} ms, client (node) ${run.clientMs.toFixed(2)} ms`);
    }
    console.log('workerd CPU profile of the spread joins (self time, top 30; the profiler itself costs some):');
    for (const entry of profile.slice(0, 30)) console.log(`  ${entry.selfPct.toFixed(1).padStart(5)} %  ${entry.name}`);
  } finally {
    await edge.close();
  }
}

export async function diagnoseJoins(options: DiagnoseOptions): Promise<void> {
  await countOps(options);
  await profileCpu(options);
}
