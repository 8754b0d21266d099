import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A child process the stack started: its own process group, output to a log file (and maybe the console). */
export interface Child {
  name: string;
  process: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** Until the process exited. */
  readonly running: boolean;
  /** True once stop() was called (an exit after that was asked for). */
  readonly stopping: boolean;
  /** A signal to the child's process group (it and what it spawned); nothing once it exited. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to the child's group (it and what it spawned: workerd, mediasoup workers), then SIGKILL. */
  stop(options?: { graceMs?: number; signalsBeforeKill?: number }): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Echo output to the console with a `[name]` prefix. */
  echo: boolean;
}

export function spawnChild(options: SpawnOptions): Child {
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  // detached: own process group, so Ctrl-C in the terminal reaches only us, and we stop children in order.
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (chunk: Buffer) => {
    log.write(chunk);
    if (options.echo) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) process.stdout.write(`[${options.name}] ${line}\n`);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end(`\n[dev-stack] ${options.name} exited (${code ?? signal})\n`);
      resolve(code);
    });
    child.once('error', (error) => {
      log.end(`\n[dev-stack] ${options.name} failed to start: ${error.message}\n`);
      resolve(null);
    });
  });
  let running = true;
  let stopping = false;
  void exited.then(() => (running = false));

  const signalGroup = (signal: NodeJS.Signals) => {
    if (!running || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return {
    name: options.name,
    process: child,
    logFile,
    exited,
    get running() {
      return running;
    },
    get stopping() {
      return stopping;
    },
    signal: signalGroup,
    stop: async ({ graceMs = 8_000, signalsBeforeKill = 1 } = {}) => {
      stopping = true;
      // A test may have frozen it (SIGSTOP): a stopped process would not see SIGTERM.
      signalGroup('SIGCONT');
      for (let sent = 0; sent < signalsBeforeKill && running; sent++) {
        signalGroup('SIGTERM');
        await Promise.race([exited, delay(sent + 1 < signalsBeforeKill ? 700 : graceMs)]);
      }
      if (running) {
        signalGroup('SIGKILL');
        await Promise.race([exited, delay(2_000)]);
      }
    },
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-4_000)}${stdout.slice(-2_000)}`));
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; fails early if the child exits (with its log's tail) or on abort. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; child?: Child; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let childGone = false;
  void options.child?.exited.then(() => (childGone = true));
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    if (childGone) throw new Error(`${what}: ${options.child?.name} exited early\n${await tail(options.child?.logFile)}`);
    if (await check().catch(() => false)) return;
    await delay(options.intervalMs ?? 250);
  }
  throw new Error(`${what}: not ready after ${options.timeoutMs} ms\n${await tail(options.child?.logFile)}`);
}

export async function tail(file: string | undefined, lines = 40): Promise<string> {
  if (!file) return '';
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
