import { describe, expect, it } from 'vitest';
import { chooseTiles, compositeArgs, DEFAULT_LAYOUT, type CompositeInput } from '../composite.js';

const video = (participant: string, offsetSec: number, source = 'camera', segment = 0): CompositeInput => ({
  path: `/rec/${participant}-${source}-${segment}.webm`,
  kind: 'video',
  tile: `${participant}:${source}`,
  offsetSec,
});
const audio = (participant: string, offsetSec: number): CompositeInput => ({ path: `/rec/${participant}-mic.ogg`, kind: 'audio', tile: `${participant}:mic`, offsetSec });

describe('composite layout', () => {
  it('shows screen shares first, then cameras in capture order, up to the tile cap', () => {
    const inputs = [video('first', 9), video('second', 1), video('first', 12, 'camera', 1), video('sharer', 7, 'screen'), video('third', 3)];
    expect(chooseTiles(inputs, 16)).toEqual(['sharer:screen', 'first:camera', 'second:camera', 'third:camera']);
    expect(chooseTiles(inputs, 2)).toEqual(['sharer:screen', 'first:camera']);
  });

  it('a big meeting: 16 tiles in the composite, every voice in the mix, tracks past the cap not even opened', () => {
    const inputs: CompositeInput[] = [];
    for (let i = 0; i < 30; i++) inputs.push(video(`p${String(i).padStart(2, '0')}`, i), audio(`p${String(i).padStart(2, '0')}`, i));
    const args = compositeArgs(inputs, 60, '/rec/composite.mp4', DEFAULT_LAYOUT);
    const opened = args.filter((_, index) => args[index - 1] === '-i');
    expect(opened.filter((path) => path.endsWith('.webm'))).toHaveLength(16);
    expect(opened.filter((path) => path.endsWith('.ogg'))).toHaveLength(30);
    expect(opened).not.toContain('/rec/p16-camera-0.webm');
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph.match(/overlay=/g)).toHaveLength(16);
    expect(graph).toContain('amix=inputs=31');
    // 4×4 cells of 320×180 on the 1280×720 canvas.
    expect(graph).toContain('scale=320:180');
  });
});
