/**
 * The house's shape, checked: every source file is in docs/architecture.md's table, no import
 * circle (type-only imports included), no source file over ~450 lines, the src/ root holds only
 * the entry and the program, and nothing outside store/ picks a database engine.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from './helpers.ts';

const SRC = join(ROOT, 'src');
const sources = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => /\.(ts|cjs|mjs)$/.test(f))
  .map((f) => `src/${f.split('\\').join('/')}`)
  .sort();
const ts = sources.filter((f) => f.endsWith('.ts'));
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Relative imports of a source file (static, dynamic, type-only), as src/ paths. */
function imports(file: string): string[] {
  const found = new Set<string>();
  for (const m of text(file).matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(ROOT, resolve(dirname(join(ROOT, file)), m[1]!)).replace(
      /\.js$/,
      '.ts',
    );
    if (ts.includes(target)) found.add(target);
  }
  return [...found];
}

/** Files allowed to pick an engine outside store/: none (kept as a ratchet). */
const KNOWN_PICKERS: string[] = [];

/** Over ~450 lines and still to be split (a ratchet: nothing may join this list). */
const KNOWN_LONG: string[] = [];

describe('architecture', () => {
  test('every source file is in docs/architecture.md', () => {
    const doc = text('docs/architecture.md');
    const missing = sources.filter((f) => !doc.includes(`\`${f}\``));
    assert.deepEqual(missing, [], 'add these to the table in docs/architecture.md');
  });

  test('no import circle, type-only imports included', () => {
    const graph = new Map(ts.map((f) => [f, imports(f)]));
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file)!) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of ts) visit(file, []);
    assert.deepEqual(circles, []);
  });

  test('no source file over ~450 lines', () => {
    const long = ts
      .map((f) => [f, text(f).split('\n').length] as const)
      .filter(([f, n]) => n > 460 && !KNOWN_LONG.includes(f))
      .map(([f, n]) => `${f}: ${n}`);
    assert.deepEqual(long, []);
  });

  test('the src/ root holds only the entry and the program', () => {
    assert.deepEqual(
      sources.filter((f) => !f.slice(4).includes('/')),
      ['src/main.ts', 'src/program.ts'],
    );
  });

  test('nothing outside store/ picks a database engine', () => {
    const pickers = ts.filter(
      (f) =>
        !f.startsWith('src/store/') &&
        // config/ classifies the value it reads (a postgres:// URL or a path); it opens nothing.
        !f.startsWith('src/config/') &&
        !KNOWN_PICKERS.includes(f) &&
        /isPostgresUrl\(|dbIsPostgres|openPgStore|Store\.open(ReadOnly|Existing)?\(|sqlite\/store\.js/.test(
          text(f),
        ),
    );
    assert.deepEqual(pickers, []);
  });
});
