import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Known media for Chromium's fake devices (--use-file-for-fake-*-capture, which loop the files):
 * a tone that beeps in a fixed rhythm, so any stretch of a recording where the mic was on holds
 * beeps and a stretch where it was muted holds none, whatever the loop's phase; and a bright test
 * pattern (never black) for the camera.
 */
export const TONE_HZ = 880;
/** Each second of the wav: the tone for this long, then silence. */
export const BEEP_SECONDS = 0.4;

export interface FakeMedia {
  wav: string;
  y4m: string;
}

export async function makeFakeMedia(dir: string): Promise<FakeMedia> {
  const wav = path.join(dir, 'beeps.wav');
  const y4m = path.join(dir, 'pattern.y4m');
  const ffmpeg = (args: string[]) => run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args]);
  await ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t,1),${BEEP_SECONDS}),0.5*sin(2*PI*${TONE_HZ}*t),0)':s=48000:d=4`, '-ac', '1', '-c:a', 'pcm_s16le', wav]);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=15:duration=2', '-pix_fmt', 'yuv420p', y4m]);
  return { wav, y4m };
}

/** Chromium flags that feed the fake camera and microphone from the files. */
export function fakeCaptureArgs(media: FakeMedia): string[] {
  return [`--use-file-for-fake-video-capture=${media.y4m}`, `--use-file-for-fake-audio-capture=${media.wav}`];
}
