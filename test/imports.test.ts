/** Light commands stay light: what `verify-token` and `--help` load, traced module by module. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { baseEnv, BIN, ROOT, SECRET, tempDir } from './helpers.ts';

const TRACER = join(ROOT, 'test/fixtures/trace-loads.mjs');
const TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiI3ZDBmOGE0ZS04YTUzLTRhOGUtOWYzYy0xZjJlM2Q0YzViNmEiLCJlbWFpbCI6ImFAYi5jIiwicm9sZSI6Im1lbWJlciJ9.x';

/** The dist files that carry a given library's code. */
function distFilesContaining(marker: string): string[] {
  const dir = join(ROOT, 'dist', 'chunks');
  return [
    join(ROOT, 'dist', 'cli.js'),
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => join(dir, f)),
  ].filter((f) => readFileSync(f, 'utf8').includes(marker));
}

function loadedBy(args: string[], cwd: string): string[] {
  const traceFile = join(cwd, `trace-${Math.random()}.txt`);
  writeFileSync(traceFile, '');
  const r = spawnSync(process.execPath, ['--import', TRACER, '--', BIN, ...args], {
    cwd,
    env: baseEnv({ TRACE_FILE: traceFile, JWT_SECRET: SECRET }),
    encoding: 'utf8',
  });
  assert.ok(r.status === 0 || r.status === 5, r.stderr);
  return readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
}

describe('lazy imports', () => {
  const undiciFiles = distFilesContaining('UND_ERR_CONNECT_TIMEOUT');
  test('the marker finds undici in dist (so the checks below can fail)', () => {
    assert.ok(undiciFiles.length > 0);
  });

  const assertNone = (loaded: string[], what: string, match: (url: string) => boolean) =>
    assert.deepEqual(loaded.filter(match), [], `${what} was loaded`);
  const isPackage = (name: string) => (url: string) => url.includes(`/node_modules/${name}/`);
  const isUndiciChunk = (url: string) => undiciFiles.some((f) => url.endsWith(f));

  test('verify-token without a DB file loads no undici, open or better-sqlite3', (t) => {
    const loaded = loadedBy(['verify-token', TOKEN], tempDir(t));
    assert.ok(
      loaded.some((u) => u.includes('verify-token')),
      'the trace works',
    );
    assertNone(loaded, 'undici', (u) => isUndiciChunk(u) || isPackage('undici')(u));
    assertNone(loaded, 'open', isPackage('open'));
    assertNone(loaded, 'better-sqlite3', isPackage('better-sqlite3'));
  });

  test('verify-token with a DB file loads better-sqlite3, still no undici or open', (t) => {
    const dir = tempDir(t);
    spawnSync(process.execPath, ['--', BIN, 'login', '--emulator', '--auto-approve'], {
      cwd: dir,
      env: baseEnv({ JWT_SECRET: SECRET }),
    });
    const loaded = loadedBy(['verify-token', TOKEN], dir);
    assert.ok(
      loaded.some(isPackage('better-sqlite3')),
      'better-sqlite3 is loaded when the DB exists',
    );
    assertNone(loaded, 'undici', isUndiciChunk);
    assertNone(loaded, 'open', isPackage('open'));
  });

  test('--help loads no command chunk and no heavy library', (t) => {
    const loaded = loadedBy(['--help'], tempDir(t));
    assertNone(loaded, 'a command chunk', (u) =>
      /\/chunks\/(login|verify-token|mint-token|users|check-config|emulator)-/.test(u),
    );
    assertNone(loaded, 'undici', isUndiciChunk);
    assertNone(loaded, 'jsonwebtoken', (u) =>
      distFilesContaining('JsonWebTokenError').some((f) => u.endsWith(f)),
    );
  });
});
