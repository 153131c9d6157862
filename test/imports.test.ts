/**
 * Light commands stay light: what `verify-token`, `--help` and `login --emulator` load, traced
 * module by module.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startEmulator } from '../src/emulator/server.ts';
import {
  AUTHORIZE_URL,
  baseEnv,
  BIN,
  decide,
  emulatorLoginEnv,
  ROOT,
  SECRET,
  startBin,
  tempDir,
} from './helpers.ts';

const TRACER = join(ROOT, 'test/fixtures/trace-loads.cjs');
const TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiI3ZDBmOGE0ZS04YTUzLTRhOGUtOWYzYy0xZjJlM2Q0YzViNmEiLCJlbWFpbCI6ImFAYi5jIiwicm9sZSI6Im1lbWJlciJ9.x';

/** The dist files that carry a given library's code (found by a string only it contains). */
function distFilesContaining(marker: string): string[] {
  const files = (readdirSync(join(ROOT, 'dist'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.cjs'))
    .map((f) => join(ROOT, 'dist', f));
  return files.filter((f) => readFileSync(f, 'utf8').includes(marker));
}

function loadedBy(args: string[], cwd: string, env: Record<string, string> = {}): string[] {
  const traceFile = join(cwd, `trace-${Math.random()}.txt`);
  writeFileSync(traceFile, '');
  const r = spawnSync(process.execPath, ['-r', TRACER, '--', BIN, ...args], {
    cwd,
    env: baseEnv({ TRACE_FILE: traceFile, JWT_SECRET: SECRET, ...env }),
    encoding: 'utf8',
  });
  assert.ok(r.status === 0 || r.status === 5 || r.status === 7, r.stderr);
  return readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
}

describe('lazy imports', () => {
  const undiciFiles = distFilesContaining('UND_ERR_CONNECT_TIMEOUT');
  const jwtFiles = distFilesContaining('JsonWebTokenError');
  test('the markers find undici and jsonwebtoken in dist (so the checks below can fail)', () => {
    assert.ok(undiciFiles.length > 0);
    assert.ok(jwtFiles.length > 0);
  });

  const assertNone = (loaded: string[], what: string, match: (file: string) => boolean) =>
    assert.deepEqual(loaded.filter(match), [], `${what} was loaded`);
  const isPackage = (name: string) => (file: string) => file.includes(`/node_modules/${name}/`);
  const isSqlite = (file: string) =>
    /\/node_modules\/better-sqlite3(-node20)?\/|\/dist\/vendor\/better-sqlite3(-node20)?\.cjs$/.test(
      file,
    );
  const isUndici = (file: string) => undiciFiles.includes(file) || isPackage('undici')(file);

  test('verify-token without a DB file loads no undici, open or better-sqlite3', (t) => {
    const loaded = loadedBy(['verify-token', TOKEN], tempDir(t));
    assert.ok(
      loaded.some((f) => f.endsWith('verify-token.cjs')),
      'the trace works',
    );
    assertNone(loaded, 'undici', isUndici);
    assertNone(loaded, 'open', (f) => isPackage('open')(f) || f.endsWith('login.cjs'));
    assertNone(loaded, 'better-sqlite3', isSqlite);
    assertNone(loaded, 'child_process', (f) => f === 'node:child_process');
    // One token's HS256 is hashed in JavaScript (issue 19): jsonwebtoken is for minting, and
    // node:crypto (which loads node:stream) is for --each.
    assertNone(loaded, 'jsonwebtoken', (f) => jwtFiles.includes(f));
    assertNone(loaded, 'node:crypto', (f) => f === 'node:crypto');
  });

  test('verify-token is one file of dist/ besides the entry', (t) => {
    const loaded = loadedBy(['verify-token', TOKEN], tempDir(t));
    const ours = loaded.filter((f) => f.startsWith(join(ROOT, 'dist')));
    assert.deepEqual([...new Set(ours)].map((f) => f.slice(ROOT.length)).sort(), [
      'dist/main.cjs',
      'dist/runtime/fast-verify-token.cjs',
    ]);
  });

  test('chalk only when colouring, dotenv only with an env file', (t) => {
    const chalk = (f: string) => f.endsWith('/vendor/chalk.cjs');
    const dotenv = (f: string) => f.endsWith('/vendor/dotenv.cjs');
    const plain = loadedBy(['verify-token', TOKEN], tempDir(t));
    assertNone(plain, 'chalk', chalk);
    assertNone(plain, 'dotenv', dotenv);
    const dir = tempDir(t);
    writeFileSync(join(dir, '.env'), 'DINGTALK_CLIENT_ID=x\n');
    const withEnv = loadedBy(['check-config'], dir, { FORCE_COLOR: '1' });
    assert.ok(withEnv.some(dotenv), 'dotenv reads the .env');
    assert.ok(withEnv.some(chalk), 'chalk colours under FORCE_COLOR');
  });

  test('verify-token with a DB file reads it without better-sqlite3; SQLite only when the file asks', (t) => {
    const dir = tempDir(t);
    spawnSync(
      process.execPath,
      ['--', BIN, 'login', '--emulator', '--auto-approve', '--db', 'muvee-dingtalk.db'],
      {
        cwd: dir,
        env: baseEnv({ JWT_SECRET: SECRET }),
      },
    );
    const loaded = loadedBy(['verify-token', TOKEN], dir);
    assert.ok(
      loaded.some((f) => f.endsWith('/dist/store/sqlite/file-reader.cjs')),
      'the file reader reads it',
    );
    assertNone(loaded, 'better-sqlite3', isSqlite);
    assertNone(loaded, 'the SQLite reader', (f) => f.endsWith('/dist/store/sqlite/reader.cjs'));
    assertNone(loaded, 'undici', isUndici);

    // A file of a newer schema is SQLite's to read (and to word the error of).
    spawnSync(process.execPath, [
      '-e',
      `const { Database, NATIVE_BINDING } = require(${JSON.stringify(join(ROOT, 'dist/store/sqlite/binding.cjs'))});
       new Database(${JSON.stringify(join(dir, 'muvee-dingtalk.db'))}, { nativeBinding: NATIVE_BINDING }).pragma('user_version = 9');`,
    ]);
    const newer = loadedBy(['verify-token', TOKEN], dir);
    assert.ok(newer.some(isSqlite), 'better-sqlite3 is loaded when SQLite must read the file');
    assertNone(newer, 'undici', isUndici);
    // Its JavaScript is one bundle in dist/vendor/; only the addon comes from node_modules.
    assertNone(newer, "better-sqlite3's own files", (f) =>
      /\/better-sqlite3(-node20)?\/lib\/(database\.js|methods\/)/.test(f),
    );
  });

  test('--help loads neither commander nor any command', (t) => {
    const loaded = loadedBy(['--help'], tempDir(t));
    assertNone(
      loaded,
      'the program or a command',
      (f) => f.endsWith('program.cjs') || f.includes('/dist/commands/'),
    );
    assertNone(loaded, 'jsonwebtoken', (f) => jwtFiles.includes(f));
  });

  test('an unusual help request still works through commander', (t) => {
    const loaded = loadedBy(['--no-color', '--help'], tempDir(t));
    assert.ok(loaded.some((f) => f.endsWith('program.cjs')));
  });

  // Issue 22: login's path is one file of dist/ (scripts/build.mjs, BUNDLES), and the emulator
  // in the same process is reached through node:http, already loaded for its server.
  test('login --emulator: one file for its path, each module once, no undici', (t) => {
    const dir = tempDir(t);
    const loaded = loadedBy(['login', '--emulator', '--auto-approve', '--no-browser'], dir);
    const ours = [...new Set(loaded.filter((f) => f.startsWith(join(ROOT, 'dist'))))];
    assert.ok(ours.includes(join(ROOT, 'dist/commands/login.cjs')), 'the trace works');
    assertNone(loaded, 'undici', isUndici);
    assert.ok(loaded.some(isSqlite), 'the user is stored');
    // Only the SQLite binding beside the bundle: nothing of the flow, the client, the emulator
    // or the store as a file of its own (the program's files are in dist/program.cjs).
    assert.deepEqual(
      ours.filter((f) => /\/dist\/(login|dingtalk|emulator|muvee|net|store)\//.test(f)),
      [join(ROOT, 'dist/store/sqlite/binding.cjs')],
    );
    // No module both inside the bundle and loaded from its own file (it would run twice:
    // two copies of a class break `instanceof`).
    const map = JSON.parse(readFileSync(join(ROOT, 'dist/commands/login.cjs.map'), 'utf8')) as {
      sources: string[];
    };
    const inBundle = new Set(
      map.sources.map((s) => join(ROOT, 'dist/commands', s).replace(/\/src\//, '/dist/')),
    );
    const twice = ours.filter(
      (f) => !f.endsWith('/commands/login.cjs') && inBundle.has(f.replace(/\.cjs$/, '.ts')),
    );
    assert.ok(inBundle.has(join(ROOT, 'dist/login/flow.ts')), 'the map is read');
    assert.deepEqual(twice, []);
    // Nor in both this bundle and the program's (dist/program.cjs holds what every command loads).
    const program = JSON.parse(readFileSync(join(ROOT, 'dist/program.cjs.map'), 'utf8')) as {
      sources: string[];
    };
    // (Build stand-ins are listed in every map they could be injected into; they hold no state.)
    const programSources = program.sources
      .map((s) => join(ROOT, 'dist', s))
      .filter((f) => !f.includes('/src/runtime/vendor/'));
    assert.ok(
      programSources.some((f) => f.endsWith('/src/cli/output.ts')),
      'the map is read',
    );
    assert.deepEqual(
      programSources.filter((f) => map.sources.some((s) => join(ROOT, 'dist/commands', s) === f)),
      [],
    );
  });

  test('a real-mode login goes through undici (the emulator as real DingTalk)', async (t) => {
    const dir = tempDir(t);
    const emulator = await startEmulator({
      clients: [
        { clientId: 'dingtracedapp0000001', clientSecret: 'c'.repeat(64), redirectUris: [] },
      ],
    });
    t.after(() => emulator.close());
    const { env } = await emulatorLoginEnv(emulator, {
      clientId: 'dingtracedapp0000001',
      clientSecret: 'c'.repeat(64),
      jwtSecret: SECRET,
      db: join(dir, 'muvee-dingtalk.db'),
    });
    const traceFile = join(dir, 'trace.txt');
    writeFileSync(traceFile, '');
    const child = startBin(['login', '--no-browser', '--json'], {
      cwd: dir,
      env: { ...env, NODE_OPTIONS: `--require ${TRACER}`, TRACE_FILE: traceFile },
    });
    const [, url] = await child.waitForStderr(AUTHORIZE_URL);
    await decide(url!, 'approve');
    const result = await child.done;
    assert.equal(result.code, 0, result.stderr);
    const loaded = readFileSync(traceFile, 'utf8').split('\n');
    assert.ok(loaded.some(isUndici), 'undici was not loaded');
  });
});
