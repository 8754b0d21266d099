import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, readSources, type SourceFile } from '../layout/import-graph.js';

/**
 * The rules of docs/ARCHITECTURE.md ("Rules of the layout") as a test, so a change that breaks
 * them fails here instead of waiting for a reader to notice.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sources = readSources(ROOT, ['schema', 'edge', 'media-node', 'scripts']);
const under = (prefix: string) => sources.filter((source) => source.file.startsWith(prefix));
const reachesInto = (files: SourceFile[], allowed: (target: string) => boolean) =>
  files.flatMap((source) => source.imports.filter((target) => !allowed(target)).map((target) => `${source.file} → ${target}`));

describe('the layout', () => {
  it('reads the tree it checks (the parser finds imports)', () => {
    const roomDo = sources.find((source) => source.file === 'edge/room/room-do.ts');
    expect(roomDo?.imports).toEqual(expect.arrayContaining(['edge/room/room.ts', 'schema/wire/errors.ts', 'edge/http/log.ts']));
    expect(sources.length).toBeGreaterThan(100);
  });

  it('schema imports nothing but schema', () => {
    expect(reachesInto(under('schema/'), (target) => target.startsWith('schema/'))).toEqual([]);
  });

  it('the Worker and the media node import schema/ and not each other (nor the scripts)', () => {
    const worker = sources.filter((source) => source.file.startsWith('edge/') && !source.file.startsWith('edge/web/'));
    expect(reachesInto(worker, (target) => (target.startsWith('edge/') && !target.startsWith('edge/web/')) || target.startsWith('schema/'))).toEqual([]);
    expect(reachesInto(under('media-node/'), (target) => target.startsWith('media-node/') || target.startsWith('schema/'))).toEqual([]);
  });

  it('the browser client imports only its own code and the wire contracts', () => {
    const allowed = (target: string) => target.startsWith('edge/web/') || target.startsWith('schema/wire/') || target === 'schema/regions.ts';
    expect(reachesInto(under('edge/web/src/'), allowed)).toEqual([]);
  });

  it('the registry never imports the room', () => {
    expect(reachesInto(under('edge/registry/'), (target) => !target.startsWith('edge/room/'))).toEqual([]);
  });

  it('dependencies point one way: no two modules import each other, even for types', () => {
    expect(importCycles(sources)).toEqual([]);
  });

  it('no source file outside tests is over ~400 lines', () => {
    const long = sources.filter((source) => source.lines > 420).map((source) => `${source.file}: ${source.lines}`);
    expect(long).toEqual([]);
  });
});
