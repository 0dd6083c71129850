// The source tree has no import cycle, and the gateway never reaches into the `connect`
// command's folder: both keep the layers of src/ pointing one way.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every relative import and re-export of `file`, type-only ones included, as source paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'/g)].map(
    (m) => m[1] ?? '',
  );
  return specifiers.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const graph = new Map(sourceFiles(SRC).map((file) => [file, importsOf(file)]));
const name = (file: string) => relative(SRC, file);

/** One cycle per strongly connected group found by a depth-first walk. */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('import graph of src/', () => {
  it('has no cycle', () => {
    assert.deepEqual(
      cycles().map((cycle) => cycle.map(name).join(' -> ')),
      [],
    );
  });

  it('keeps src/gateway/ out of src/connect/', () => {
    const offending = [...graph]
      .filter(([file]) => name(file).startsWith('gateway/'))
      .flatMap(([file, imports]) =>
        imports
          .filter((i) => name(i).startsWith('connect/'))
          .map((i) => `${name(file)} -> ${name(i)}`),
      );
    assert.deepEqual(offending, []);
  });

  it('reads the imports it checks', () => {
    // A broken pattern would find nothing and pass: make sure a known edge is seen.
    const driver = join(SRC, 'startup', 'negotiate-startup.ts');
    assert.ok(graph.get(driver)?.includes(join(SRC, 'protocol', 'negotiation.ts')));
  });
});
