import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's own import graph, read from the source as text: which file imports which (relative
 * specifiers only; packages are not our layout). Type-only imports count: a cycle of types is
 * still two modules that cannot be read apart.
 */
export interface SourceFile {
  /** Path from the repository root, with forward slashes. */
  file: string;
  lines: number;
  imports: string[];
}

const SPECIFIER = /(?:\bimport|\bexport)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g;

/** Test code may reach across folders (kits, fixtures); the layout rules are for what ships. */
export function isTestPath(file: string): boolean {
  return /\.test\.ts$|\.d\.ts$|(^|\/)(test|tests|e2e)\//.test(file);
}

export function readSources(root: string, folders: readonly string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(relative);
      } else if (entry.name.endsWith('.ts') && !isTestPath(relative)) {
        const text = readFileSync(path.join(root, relative), 'utf8');
        files.push({ file: relative, lines: text.split('\n').length, imports: importsOf(root, relative, text) });
      }
    }
  };
  for (const folder of folders) walk(folder);
  return files;
}

function importsOf(root: string, file: string, text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2]!;
    if (!specifier.startsWith('.')) continue;
    const target = resolveSource(root, path.posix.join(path.posix.dirname(file), specifier));
    if (target) found.add(target);
  }
  return [...found];
}

/** `./x.js` in TypeScript source names `./x.ts` (or a folder's index.ts). */
function resolveSource(root: string, target: string): string | null {
  const base = target.replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, target]) {
    if (existsSync(path.join(root, candidate))) return candidate;
  }
  return null;
}

/** Every set of files that import each other round a loop (strongly connected, size > 1). */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const graph = new Map(files.map((source) => [source.file, source.imports]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const members: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      members.push(member);
    } while (member !== file);
    if (members.length > 1) cycles.push(members.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}
