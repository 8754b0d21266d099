import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './results.js';

export interface BenchStep {
  /** npm script name without `bench:` (file scripts/bench-<name>.ts). */
  name: string;
  args: string[];
  /** Killed (its whole process group) after this long: one stuck benchmark must not eat the budget. */
  timeoutMs: number;
}

export interface StepOutcome {
  name: string;
  status: 'ok' | 'failed' | 'timed out' | 'missing';
  seconds: number;
}

/** Runs scripts/bench-<name>.ts in its own process group, output passed through. */
export function runStep(step: BenchStep): Promise<StepOutcome> {
  const file = path.join(ROOT, 'scripts', `bench-${step.name}.ts`);
  if (!existsSync(file)) return Promise.resolve({ name: step.name, status: 'missing', seconds: 0 });
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...step.args], { cwd: ROOT, stdio: 'inherit', detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, step.timeoutMs);
    const done = (code: number | null) => {
      clearTimeout(timer);
      resolve({ name: step.name, status: timedOut ? 'timed out' : code === 0 ? 'ok' : 'failed', seconds: (Date.now() - started) / 1000 });
    };
    child.once('exit', done);
    child.once('error', () => done(null));
  });
}
