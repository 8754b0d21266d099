/**
 * docs/benchmarks.md from whatever is in bench-results/: one table per benchmark (value, goal,
 * met?), the results other benchmarks write (failover, recording, webinar, fuzz) as they are, and
 * SVG charts rendered headless next to it (docs/benchmarks-*.svg). A missing result keeps the
 * figures the page already showed for it (bench-results/ is git-ignored: a fresh checkout's run of
 * a few benchmarks must not erase what the soak or the failover drill measured elsewhere), said so;
 * one never measured is listed as "not measured", so a partial run still produces the page.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { goalChart, referenceChart, renderSvg } from './charts.js';
import { GOALS } from './goals.js';
import { readResult, RESULTS_DIR, ROOT, resultSchemas, type Loaded, type ResultName } from './results.js';

interface OwnBenchmark {
  name: ResultName;
  title: string;
  command: string;
  what: string;
}

const OWN: OwnBenchmark[] = [
  { name: 'fanout', title: 'Media fan-out', command: 'npm run bench:fanout', what: 'VP8 simulcast from werift WebRTC peers to SRTP consumers: a room on the media node (through its signaling) against a bare mediasoup worker with the same binary, in the same run. Consumers per core = consumers ÷ the CPU share of the forwarding worker they add (everything flowing minus the publishers alone); medians over rounds; `ratio` is the median of each round\'s product ÷ bare (paired in time), so it need not equal the ratio of the two medians.' },
  { name: 'join', title: 'Joins', command: 'npm run bench:join', what: 'Guest joins through the Worker, RoomDO and RegionDO in Miniflare (no Postgres), against a Worker-only route in the same run.' },
  { name: 'ttff', title: 'Time to first frame', command: 'npm run bench:ttff', what: 'Chromium with fake devices on the whole stack (wrangler dev, Postgres, one media node): Join click to the first decoded remote video frame, ten fresh meetings, each timing the first guest after the host and a later guest; against a floor page (mediasoup-client straight to a bare mediasoup worker: a publisher, then a first and a later joiner; every floor page sends mic and camera as the product\'s people do, so a later joiner receives the same four tracks while the same encoders load the box) in the same run, rounds alternating. Until 2026-12-02 the floor\'s joiners only received, and its later joiner competed with one encoder instead of three: ratios measured before then are not comparable. Since 2026-12-04 every floor page does a product page\'s work and takes its shortcuts: it paints its own camera and each one it receives in a grid laid out like the product\'s, plays each remote voice on an <audio> element, receives everyone (its publisher too, as the product\'s host does), probes the browser\'s capabilities before Join (as the product\'s pre-join screen does), negotiates everyone already there in one go (the bare worker flags a burst as the node does) and starts each video consumer on its lowest layer (as the node starts a young producer\'s). Before, the floor painted and played nothing (on two cores, three pages painting video is a share of every join), probed on the join path, and negotiated each track alone. The run also prints like-for-like ratios (first against the floor\'s first joiners, later against its later ones). `p95Ms` is over every product join; `floorMedianMs` over every floor join. `--marks` prints each join\'s milestones, the floor\'s under the same names; `--diagnose` adds its video timeline (first packet, first frame), the host\'s simulcast layers, and the floor worker\'s PLI/keyframe/layer timeline. The publisher\'s send estimate starts above its three layers (`videoGoogleStartBitrate` 2500): from 1 Mbps Chrome started the top layer, dropped it while ramping, and the first consumer of a young producer, aimed at that layer, waited ~1 s for mediasoup to fall back (first joiner 1.2–1.4 s).' },
  { name: 'chat', title: 'Chat fan-out', command: 'npm run bench:chat', what: 'One RoomDO with 200 sockets in Miniflare; every delivery timed from send to receipt.' },
  { name: 'memory', title: 'Memory', command: 'npm run bench:memory', what: 'Media node RSS and RoomDO storage per participant, from the slope between two room sizes.' },
  { name: 'soak', title: 'Join/leave soak', command: 'npm run soak', what: 'Not part of `npm run bench`: for 30 minutes participants join and leave a media node; afterwards its mediasoup objects must be back to zero and its RSS within 5 % of the baseline taken after the first 3 minutes (a warm-up in which V8 sizes its heap; the growth from the first cycle is shown too).' },
];

/** Results other benchmarks write: shown as they are. */
const OTHERS = [
  {
    name: 'failover',
    title: 'Failover',
    command: 'npm run bench:failover',
    about:
      'A drain\'s gap is timed, within one track, by the browser\'s own delays between frames (the stats\' inter-frame delay sums): before 2026-12-04 every gap was the time between two samples of a page, and a page busy with a drain answered its sampler up to 3.4 s late while its video went on. Across a switch to another track only the samples can tell: from the last sample that saw progress being sent to the answer of the next, an upper bound (marked in the run\'s output). Recovery is timed on each page\'s own clock (its cameras\' first decoded frame on the new session). The run prints its references: on 2026-12-04 18:49 the recovery when only the pages\' media sockets drop (no node fault) took 1,980 ms median (max 2,517), so crash recovery was 1.1× it; the longest gap with no fault was 218 ms. A drain has each of the three pages encode its camera twice and decode the others\' twice for seconds on the same two cores; the two-page drains of the failover and cascade e2e tests saw 440–456 ms gaps. Until bdda3e0 each drain also left every page encoding its camera on the dead connection of its old session, and drains slowed round after round. Since e5f3f81 a moved person\'s old relay runs 10 s (was 3 s) so no tile loses it before its successor plays: drain-only drills (`-- --faults drain`, 5 rounds) measured median 1,050 ms (max 2,123) at 10 s against 2,240 ms (max 2,699) at 3 s, back to back; in the full run below the drains come after 15 other rounds and were slower (median 2,731 ms), which is not explained yet. On a busier hour of the same box (2026-12-04 21:00–21:40, longest gap with no fault 503–788 ms), drain-only drills measured medians of 2.5–2.9 s. Timing every frame the pages presented (requestVideoFrameCallback) gave the same longest gaps as the samples, within a sample either way, so the gaps are real. In the same windows the pages\' previews of their own cameras stopped for 1.0–2.5 s, their main threads were 85–95 % busy, and every sender\'s bandwidth estimate sat at 180–300 kbps on loopback (only the 320 px layer sent): on this box a drain\'s gap is bound by the pages\' CPU. Since 2026-12-05 the nodes\' worker UDP sockets ask for 4 MiB (`RTC_UDP_BUFFER_BYTES`, see the webinar section); drain-only drills that hour, two pairs of 5 rounds back to back, measured gaps of median 2,290 ms (1,135-4,089) with 4 MiB against 1,634 ms (1,010-2,572) at the kernel\'s default of 208 KiB: not better, possibly worse (a starved worker now queues packets it used to drop), which ten rounds each cannot settle.',
  },
  { name: 'recording', title: 'Recording', command: 'npm run bench:recording' },
  {
    name: 'webinar',
    title: 'Webinar cascade',
    command: 'npm run bench:webinar',
    about:
      "Its viewers are werift peers (ICE, DTLS and SRTP) in viewer processes on the same two cores as the three nodes. Since 2026-12-05 each counts every packet from its RTP header (SRTP leaves it in the clear) and decrypts one in eight, the same packets at every viewer, for its send time; they send no NACK, transport-cc feedback or receiver reports for the media they never parse, so what is lost on the way to a viewer stays lost. Decrypting every packet in JavaScript held the run of 2026-12-03 back (1,000 viewers, loss 91 %, their event loops 2 s late); since the second run of 2026-12-05 they take their packets at the UDP socket, before werift's STUN parsing (25-27 µs of viewer CPU per packet received at 300 viewers, was 29-33). They accept a late ICE consent answer as Chrome does (werift gave up after 500 ms). The harness's test puts a known delay on the relay hops (`--hop-delay-ms 40`) and finds it. The run prints the datagrams the kernel dropped at full socket buffers (nodes' workers, viewers, presenter), loss by kind, the viewers' CPU and event-loop delay, and each node's CPU (worker + Node process), to tell which limits. Found that way: in 800-viewer runs all the loss (11-33 % of the packets, most of it audio, which nothing repairs) was dropped at the nodes' worker sockets, shared by every participant of a worker and left at the kernel's default of 208 KiB (about 90 packets of 1,000 bytes); the nodes now ask for 4 MiB (`RTC_UDP_BUFFER_BYTES`). Runs of 2026-12-05 after both changes: 600 viewers at 0 % loss with 28-51 ms added at p95 (the table's run: 28 ms; the reference viewers on node A were themselves 40-75 ms late at p95: the viewers' own scheduling, not the hop); 800 at 0 % loss in one run (2.2 s added at p95, everything queued on a saturated box) and 54 % in the next (a node's worker 10 s behind, 13 viewers never received media); 1,000 did not fit: joins took 11 minutes, 193 viewers never received media in five joins. At 80 packets/s per viewer and the 16-27 µs each cost in these runs, 1,000 viewers' receivers alone would need 1.3-2.2 of this box's two cores, beside about 0.3 of a core per node worker.",
  },
  { name: 'fuzz', title: 'Fuzzing', command: 'npm run fuzz' },
] as const satisfies readonly { name: string; title: string; command: string; about?: string }[];

const anyJson = z.record(z.string(), z.unknown());

const NOT_MEASURED = '_Not measured yet._';
/** The page's closing line, after the last section. */
const FOOTER = 'The peak-day simulation (`npm run simulate`) reads `fanout.json` and `memory.json`; its page is [simulation.md](simulation.md).';
const KEPT = '_No result file in this run: the figures below are kept from this page\'s previous version._';

/**
 * The measured part of each section of a page this module wrote (from its "Measured …" line to
 * the next section), by section title: what to keep for a benchmark without a result file.
 */
export function measuredSections(markdown: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let title: string | null = null;
  let kept: string[] | null = null;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) {
      title = line.slice(3).trim();
      kept = null;
    } else if (title !== null && kept === null && line.startsWith('Measured ')) {
      kept = [];
      sections.set(title, kept);
    } else if (line === FOOTER) {
      title = null;
      kept = null;
    }
    kept?.push(line);
  }
  for (const lines of sections.values()) while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  return sections;
}

async function previousPage(file: string): Promise<Map<string, string[]>> {
  try {
    return measuredSections(await readFile(file, 'utf8'));
  } catch {
    return new Map();
  }
}

/** { a: { b: 1 } } → [['a.b', 1]]; arrays shown inline. */
export function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
  }
  return [[prefix, Array.isArray(value) ? value.map((v) => format(v)).join(', ') : format(value)]];
}

function format(value: unknown): string {
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

const day = (date: Date) => date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

export interface ReportOptions {
  resultsDir?: string;
  docsDir?: string;
}

export async function writeReport(options: ReportOptions = {}): Promise<{ markdown: string; charts: string[] }> {
  const resultsDir = options.resultsDir ?? RESULTS_DIR;
  const docsDir = options.docsDir ?? path.join(ROOT, 'docs');
  const own = new Map<ResultName, Loaded<Record<string, number>>>();
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (every benchmark, ≤ 15 min on 2 cores) or `npm run bench -- --report-only` (this page from',
    'the JSON already in `bench-results/`). Each figure is measured against a reference in the same run on the same',
    'machine (a shared, noisy 2-core box), repeated; the printout of each benchmark shows the spread. Goals are issue 15\'s.',
    '',
  ];
  const body: string[] = [];
  const previous = await previousPage(path.join(docsDir, 'benchmarks.md'));
  /** No result to show: the previous page's figures if it had them, else "not measured". */
  const missing = (title: string, loaded: { error: string } | null) => {
    const kept = previous.get(title);
    if (loaded !== null) body.push(`_Result unreadable: ${loaded.error}_`, '');
    else if (kept) body.push(KEPT, '', ...kept, '');
    else body.push(NOT_MEASURED, '');
  };
  for (const bench of OWN) {
    body.push(`## ${bench.title}`, '', `\`${bench.command}\` → \`bench-results/${bench.name}.json\`. ${bench.what}`, '');
    const loaded = await readResult(path.join(resultsDir, `${bench.name}.json`), resultSchemas[bench.name] as z.ZodType<Record<string, number>>);
    if (loaded === null || 'error' in loaded) {
      missing(bench.title, loaded);
      continue;
    }
    own.set(bench.name, loaded);
    body.push(`Measured ${day(loaded.measuredAt)}.`, '', '| figure | value |', '|---|---|');
    for (const [key, value] of Object.entries(loaded.value)) body.push(`| ${key} | ${format(value)} |`);
    const goals = GOALS.filter((goal) => goal.benchmark === bench.name);
    if (goals.length > 0) {
      body.push('', '| goal | score (measured ÷ goal for at least, goal ÷ measured for below; ≥ 1 is met) | |', '|---|---|---|');
      for (const goal of goals) {
        const score = goal.score(loaded.value as never);
        body.push(`| ${goal.text} | ${Number.isFinite(score) ? score.toFixed(2) : '∞'} | ${score >= 1 ? 'met' : '**not met**'} |`);
      }
    }
    if (bench.name === 'fanout' || bench.name === 'ttff') body.push('', `![${bench.title}](benchmarks-${bench.name}.svg)`);
    body.push('');
  }
  for (const other of OTHERS) {
    body.push(`## ${other.title}`, '', `\`${other.command}\` → \`bench-results/${other.name}.json\` (written by its own benchmark; shown as it is).`, '');
    if ('about' in other) body.push(other.about, '');
    const loaded = await readResult(path.join(resultsDir, `${other.name}.json`), anyJson);
    if (loaded === null || 'error' in loaded) {
      missing(other.title, loaded);
      continue;
    }
    body.push(`Measured ${day(loaded.measuredAt)}.`, '', '| figure | value |', '|---|---|');
    for (const [key, value] of flatten(loaded.value)) body.push(`| ${key} | ${value} |`);
    body.push('');
  }
  body.push(FOOTER, '');

  const charts: string[] = [];
  const goalRows = GOALS.flatMap((goal) => {
    const result = own.get(goal.benchmark);
    if (!result) return [];
    const score = goal.score(result.value as never);
    return [{ goal: goal.label, score: Number.isFinite(score) ? score : 3, met: score >= 1 ? 'met' : 'not met' }];
  });
  const save = async (name: string, svg: string) => {
    await writeFile(path.join(docsDir, name), svg);
    charts.push(name);
  };
  if (goalRows.length > 0) {
    await save('benchmarks-goals.svg', await renderSvg(goalChart(goalRows)));
    lines.push('![Goals](benchmarks-goals.svg)', '');
  }
  const fanout = own.get('fanout')?.value;
  if (fanout) {
    await save('benchmarks-fanout.svg', await renderSvg(referenceChart('Consumers per core: product vs bare worker (same run)', 'consumers per core', [
      { figure: 'consumers per core', series: 'media node', value: fanout['productConsumersPerCore']! },
      { figure: 'consumers per core', series: 'bare mediasoup worker', value: fanout['bareConsumersPerCore']! },
    ])));
  }
  const ttff = own.get('ttff')?.value;
  if (ttff) {
    await save('benchmarks-ttff.svg', await renderSvg(referenceChart('Time to first frame (ms) against the floor (same run)', 'ms', [
      { figure: 'first joiner', series: 'product (median)', value: ttff['firstJoinerMedianMs']! },
      { figure: 'later joiners', series: 'product (median)', value: ttff['laterJoinerMedianMs']! },
      { figure: 'all joiners', series: 'product (p95)', value: ttff['p95Ms']! },
      { figure: 'floor', series: 'floor (median)', value: ttff['floorMedianMs']! },
      { figure: 'goal', series: 'goal (1.5 × floor)', value: 1.5 * ttff['floorMedianMs']! },
    ])));
  }
  const markdown = [...lines, ...body].join('\n');
  await writeFile(path.join(docsDir, 'benchmarks.md'), markdown);
  return { markdown, charts };
}
