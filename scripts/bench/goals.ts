import type { Result, ResultName } from './results.js';

/** A goal from issue 15 over one benchmark's result: `score` ≥ 1 means it is met. */
export interface Goal<N extends ResultName = ResultName> {
  benchmark: N;
  label: string;
  /** The goal as the issue words it. */
  text: string;
  /** measured ÷ goal for "at least", goal ÷ measured for "below". */
  score: (result: Result<N>) => number;
}

const atLeast = (value: number, goal: number) => value / goal;
const below = (value: number, goal: number) => (value <= 0 ? Number.POSITIVE_INFINITY : goal / value);

function goal<N extends ResultName>(benchmark: N, label: string, text: string, score: (result: Result<N>) => number): Goal {
  return { benchmark, label, text, score } as unknown as Goal;
}

export const GOALS: Goal[] = [
  goal('fanout', 'fan-out ratio', 'ratio ≥ 0.9 (product ÷ bare consumers per core)', (r) => atLeast(r.ratio, 0.9)),
  goal('fanout', 'fan-out loss', 'lossPct < 1 %', (r) => below(r.lossPct, 1)),
  goal('join', 'joins/s', '≥ 883 joins/s', (r) => atLeast(r.joinsPerSec, 883)),
  goal('join', 'join p99', 'p99 < 100 ms', (r) => below(r.p99Ms, 100)),
  goal('join', 'join rooms', 'spread over ≥ 100 rooms', (r) => atLeast(r.rooms, 100)),
  goal('ttff', 'TTFF first joiner', 'first joiner median < 1.5 × floor', (r) => below(r.firstJoinerMedianMs, 1.5 * r.floorMedianMs)),
  goal('ttff', 'TTFF later joiners', 'later joiners median < 1.5 × floor', (r) => below(r.laterJoinerMedianMs, 1.5 * r.floorMedianMs)),
  goal('chat', 'chat deliveries/s', '≥ 50,000 deliveries/s', (r) => atLeast(r.deliveriesPerSec, 50_000)),
  goal('chat', 'chat p99', 'p99 < 10 ms', (r) => below(r.p99Ms, 10)),
  goal('soak', 'soak objects', 'mediasoup objects back to 0', (r) => (r.mediasoupObjectsLeft === 0 ? 1 : 0)),
  goal('soak', 'soak RSS', 'RSS within 5 % of the baseline after the warm-up', (r) => below(Math.max(r.rssGrowthPct, 0.01), 5)),
];
