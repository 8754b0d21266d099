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
});
