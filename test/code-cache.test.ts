/**
 * Per-user compiled-code caches (src/runtime/user-code-cache.ts): a command's first run keeps
 * what it compiled, later runs use it; read only from a folder nobody else can write, never
 * from another build. Without such a folder, Node 20 reads the caches the build trained
 * (imports.test.ts, "compiled-code caches").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { commandKey, fnv1a, onlyWritableBy } from '../src/runtime/user-code-cache.ts';
import { BIN, MINT_MEMBER, ROOT, SECRET, baseEnv, startBin, tempDir } from './helpers.ts';

const REPORT = join(ROOT, 'test/fixtures/report-code-cache.cjs');
const DIST = join(ROOT, 'dist');

/** One run of the bin with `XDG_CACHE_HOME=cacheHome`: V8's verdict on each cache it was offered. */
function run(cacheHome: string, args: string[], cwd: string, extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['-r', REPORT, '--', BIN, ...args], {
    cwd,
    env: baseEnv({ JWT_SECRET: SECRET, XDG_CACHE_HOME: cacheHome, ...extra }),
    encoding: 'utf8',
  });
  return reports(r.status, r.stderr);
}

/** The lines of test/fixtures/report-code-cache.cjs: the caches V8 accepted, and refused. */
function reports(status: number | null, stderr: string) {
  const offered = stderr.split('\n').filter((l) => l.startsWith('code-cache '));
  return {
    status,
    stderr,
    accepted: offered.filter((l) => l.endsWith(' accepted')),
    rejected: offered.filter((l) => l.endsWith(' rejected')),
  };
}

/** `check-config --live` against `emulator` (undici's path), as `run` reports it. */
async function liveCheck(
  emulator: Emulator,
  cwd: string,
  env: Record<string, string>,
): Promise<ReturnType<typeof reports>> {
  const child = startBin(['check-config', '--live'], {
    cwd,
    env: {
      NODE_OPTIONS: `--require ${REPORT}`,
      DINGTALK_API_BASE: emulator.url,
      DINGTALK_LOGIN_BASE: emulator.url,
      DINGTALK_CLIENT_ID: EMULATOR_CLIENT_ID,
      DINGTALK_CLIENT_SECRET: EMULATOR_CLIENT_SECRET,
      ...env,
    },
  });
  child.stdin.end();
  const r = await child.done;
  return reports(r.code, r.stderr);
}

/** Every cache file under `home`, with its mode. */
function cacheFiles(home: string): { path: string; mode: number }[] {
  const root = join(home, 'muvee-dingtalk', 'code-cache');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => ({ path, mode: statSync(path).mode & 0o777 }));
}

/** Every cache file under `home` made one V8 refuses (the stamp kept, the data garbage). */
function plantRefusedCaches(home: string): Buffer[] {
  const files = cacheFiles(home);
  assert.ok(files.length > 0);
  return files.map(({ path }) => {
    const data = readFileSync(path);
    const planted = Buffer.concat([data.subarray(0, 16), Buffer.alloc(data.length - 16, 7)]);
    writeFileSync(path, planted);
    return planted;
  });
}

describe('per-user compiled-code caches', () => {
  for (const args of [['check-config'], MINT_MEMBER]) {
    test(`${args[0]}: the first run writes them (this user only), the second uses every one`, (t) => {
      const home = tempDir(t);
      const cwd = tempDir(t);
      const first = run(home, args, cwd);
      assert.equal(first.accepted.length + first.rejected.length, 0, first.stderr);
      const files = cacheFiles(home);
      assert.ok(files.length >= 3, `caches written: ${files.map((f) => f.path).join(', ')}`);
      assert.deepEqual(
        files.filter((f) => f.mode !== 0o600),
        [],
      );
      const folder = join(home, 'muvee-dingtalk', 'code-cache');
      for (const dir of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
        const stat = statSync(join(folder, dir));
        if (stat.isDirectory()) assert.equal(stat.mode & 0o777, 0o700, dir);
      }
      const second = run(home, args, cwd);
      assert.equal(second.status, first.status, second.stderr);
      assert.equal(second.accepted.length, files.length, second.stderr);
      assert.deepEqual(second.rejected, []);
      assert.ok(second.accepted.some((l) => l.includes(`commands/${args[0]}.cjs`)));
    });
  }

  // A first run that ends early (here a token refused) compiles little of the command; its cache
  // would cost every later run the compiling it lacks. It is improved by the first run that
  // succeeds, and then left alone.
  test('a cache made by a failed run is rewritten once, by the first run that succeeds', (t) => {
    const home = tempDir(t);
    const cwd = tempDir(t);
    const token = spawnSync(process.execPath, [BIN, ...MINT_MEMBER], {
      cwd,
      env: baseEnv({ JWT_SECRET: SECRET, MUVEE_DINGTALK_CODE_CACHE: 'off' }),
      encoding: 'utf8',
    }).stdout.trim();
    const bundle = () => {
      const file = cacheFiles(home).find((f) =>
        f.path.endsWith('runtime~fast-verify-token.cjs.v8cache'),
      );
      assert.ok(
        file,
        `caches: ${cacheFiles(home)
          .map((f) => f.path)
          .join(', ')}`,
      );
      return readFileSync(file.path);
    };
    assert.equal(run(home, ['verify-token', 'not-a-token'], cwd).status, 5);
    const failed = bundle();
    assert.equal(failed[16], 0, 'marked as made by a run that did not succeed');
    const first = run(home, ['verify-token', token], cwd);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(first.accepted.some((l) => l.includes('fast-verify-token.cjs accepted')));
    const improved = bundle();
    assert.equal(improved[16], 1, 'marked as made by a run that succeeded');
    assert.ok(improved.length > failed.length, `${improved.length} > ${failed.length}`);
    // Later runs, failed or not, leave it as it is.
    assert.equal(run(home, ['verify-token', 'not-a-token'], cwd).status, 5);
    assert.equal(run(home, ['verify-token', token], cwd).status, 0);
    assert.ok(bundle().equals(improved));
  });

  // A request through undici turns on --liftoff-only (runtime/wasm.ts): what is compiled after it
  // is not cached (V8 would refuse it), what was cached before stays usable.
  test('check-config --live (undici, V8 flags changed mid-run): the second run refuses nothing', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const home = tempDir(t);
    const cwd = tempDir(t);
    await liveCheck(emulator, cwd, { XDG_CACHE_HOME: home });
    const second = await liveCheck(emulator, cwd, { XDG_CACHE_HOME: home });
    assert.equal(emulator.hits.accessToken, 2);
    assert.ok(
      second.accepted.some((l) => l.endsWith('vendor/undici.cjs accepted')),
      second.stderr,
    );
    assert.deepEqual(second.rejected, []);
    const third = await liveCheck(emulator, cwd, { XDG_CACHE_HOME: home });
    assert.deepEqual(third.accepted, second.accepted, 'the second run left every cache as it was');
  });

  test("another build's cache is never offered to V8, and is replaced", (t) => {
    const home = tempDir(t);
    const cwd = tempDir(t);
    run(home, ['check-config'], cwd);
    const files = cacheFiles(home);
    assert.ok(files.length > 0);
    // The same V8 data under another build's stamp: V8 checks a source's length, not its text.
    for (const { path } of files) {
      const data = readFileSync(path);
      writeFileSync(path, Buffer.concat([Buffer.from('0123456789abcdef'), data.subarray(16)]));
    }
    const other = run(home, ['check-config'], cwd);
    assert.deepEqual([other.accepted, other.rejected], [[], []], other.stderr);
    const stamp = readFileSync(join(DIST, '.build-stamp'), 'utf8').slice(0, 16);
    for (const { path } of cacheFiles(home)) {
      assert.equal(readFileSync(path).subarray(0, 16).toString('latin1'), stamp, path);
    }
    assert.ok(run(home, ['check-config'], cwd).accepted.length > 0);
  });

  test('a folder others can write is not used: no cache read or written, the command as usual', (t) => {
    const cwd = tempDir(t);
    // Writable by all, not sticky: another user could swap our folder for theirs.
    const open = tempDir(t);
    chmodSync(open, 0o777);
    const inOpen = run(open, ['check-config'], cwd);
    assert.equal(inOpen.status, run(tempDir(t), ['check-config'], cwd).status, inOpen.stderr);
    assert.deepEqual(cacheFiles(open), []);
    // Our own folder made group-writable, its caches replaced by what V8 would refuse: read,
    // they would be "rejected" (on Node 20 the build's caches beside the files are used instead).
    const home = tempDir(t);
    run(home, ['check-config'], cwd);
    const planted = plantRefusedCaches(home);
    chmodSync(join(home, 'muvee-dingtalk'), 0o775);
    const loose = run(home, ['check-config'], cwd);
    assert.deepEqual(loose.rejected, [], loose.stderr);
    assert.deepEqual(
      cacheFiles(home).map((f) => readFileSync(f.path)),
      planted,
      'nothing written',
    );
  });

  test(
    'a folder of another user is not used',
    { skip: process.getuid?.() !== 0 && 'needs root to give a folder away' },
    (t) => {
      const cwd = tempDir(t);
      const home = tempDir(t);
      run(home, ['check-config'], cwd);
      plantRefusedCaches(home);
      chownSync(join(home, 'muvee-dingtalk', 'code-cache'), 65534, 65534);
      const r = run(home, ['check-config'], cwd);
      assert.deepEqual(r.rejected, [], r.stderr);
      // Root with another user's HOME (sudo without -H): nothing of root's is made in it.
      const theirs = tempDir(t);
      chownSync(theirs, 65534, 65534);
      const sudo = run(theirs, ['check-config'], cwd);
      assert.equal(sudo.status, r.status, sudo.stderr);
      assert.equal(existsSync(join(theirs, 'muvee-dingtalk')), false);
    },
  );

  test('MUVEE_DINGTALK_CODE_CACHE=off: nothing written, nothing read', (t) => {
    const home = tempDir(t);
    const cwd = tempDir(t);
    run(home, ['check-config'], cwd, { MUVEE_DINGTALK_CODE_CACHE: 'off' });
    assert.equal(existsSync(join(home, 'muvee-dingtalk')), false);
  });
});

describe('the folder and its keys', () => {
  test('only this user or root owns it and the folders above; none writable by others unless sticky', (t) => {
    const uid = process.getuid!();
    const base = tempDir(t); // in the temporary folder: /tmp is writable by all, and sticky
    const mine = join(base, 'a', 'b');
    mkdirSync(mine, { recursive: true, mode: 0o700 });
    assert.equal(onlyWritableBy(uid, mine), true);
    chmodSync(join(base, 'a'), 0o777);
    assert.equal(onlyWritableBy(uid, mine), false, 'a parent writable by all, not sticky');
    chmodSync(join(base, 'a'), 0o1777);
    assert.equal(onlyWritableBy(uid, mine), true, 'sticky, as /tmp');
    chmodSync(mine, 0o770);
    assert.equal(onlyWritableBy(uid, mine), false, 'the folder itself writable by its group');
    chmodSync(mine, 0o700);
    assert.equal(onlyWritableBy(uid + 1, mine), false, "another user's folder");
  });

  test('the command names the folder; anything else is "other"', () => {
    assert.equal(commandKey(DIST, ['--json', 'verify-token', 'x']), 'verify-token');
    assert.equal(commandKey(DIST, ['--db', 'x.db', 'users', 'list']), 'users');
    assert.equal(commandKey(DIST, ['bogus']), 'other');
    assert.equal(commandKey(DIST, ['../../etc']), 'other');
    assert.equal(
      fnv1a('/usr/lib/node_modules/muvee-dingtalk/dist/'),
      fnv1a('/usr/lib/node_modules/muvee-dingtalk/dist/'),
    );
    assert.notEqual(fnv1a('/a/dist/'), fnv1a('/b/dist/'));
  });
});

// Node 20 with no per-user folder to use (here: turned off): the caches the build trained.
describe('the caches the build trained (Node 20)', () => {
  const skip =
    typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function'
      ? `Node ${process.version}: the package brings no caches for it`
      : false;
  const OFF = { MUVEE_DINGTALK_CODE_CACHE: 'off' };

  test('a run uses them', { skip }, (t) => {
    const home = tempDir(t);
    const r = run(home, ['check-config'], tempDir(t), OFF);
    assert.ok(
      r.accepted.some((l) => l.includes('program.cjs accepted')),
      r.stderr,
    );
    assert.ok(
      r.accepted.some((l) => l.includes('check-config.cjs accepted')),
      r.stderr,
    );
    assert.deepEqual(r.rejected, []);
    assert.equal(existsSync(join(home, 'muvee-dingtalk')), false);
  });

  // undici is loaded on the first request (issue 22), and must be before runtime/wasm.ts sets
  // --liftoff-only: V8 refuses a cache for code compiled under other flags.
  test(
    "a request through undici uses undici's cache (check-config --live)",
    { skip },
    async (t) => {
      const emulator = await startEmulator();
      t.after(() => emulator.close());
      const r = await liveCheck(emulator, tempDir(t), OFF);
      assert.equal(emulator.hits.accessToken, 1, r.stderr);
      assert.ok(
        r.accepted.some((l) => l.endsWith('vendor/undici.cjs accepted')),
        r.stderr,
      );
      assert.deepEqual(r.rejected, []);
    },
  );
});
