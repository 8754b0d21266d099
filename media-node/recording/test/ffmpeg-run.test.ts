import { describe, expect, it } from 'vitest';
import { runToEnd } from '../ffmpeg.js';

describe('runToEnd (how probes and remuxes are run)', () => {
  it('returns all of the output, also what arrives after the process exited', async () => {
    // Output that reaches the pipe after the exit is seen (a loaded box delivers a probe's last
    // chunks late; here a background writer makes it certain): cut, it reads as a broken file.
    const { stdout } = await runToEnd('sh', ['-c', '(sleep 0.3; echo late) & echo early']);
    expect(stdout).toBe('early\nlate\n');
  });

  it('kills a run that outlasts its timeout and says so', async () => {
    await expect(runToEnd('sleep', ['5'], 200)).rejects.toThrow(/took longer than 0 s and was killed/);
  });

  it('with idle: lets a run that keeps reporting progress outlast the limit, and kills one that went silent', async () => {
    // 0.9 s of work, a progress line every 0.15 s, a limit of 0.5 s of silence (a composite on a starved box).
    const { stdout } = await runToEnd('sh', ['-c', 'for i in 1 2 3 4 5 6; do echo progress=$i; sleep 0.15; done'], 500, { idle: true });
    expect(stdout.trim().split('\n')).toHaveLength(6);
    await expect(runToEnd('sh', ['-c', 'echo started; sleep 5'], 500, { idle: true })).rejects.toThrow(/made no progress for 1 s and was killed/);
  });
});
