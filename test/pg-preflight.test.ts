/**
 * Issue 22 item 3: `login` with muvee's PostgreSQL (`--db postgres://…` or DATABASE_URL) finds
 * an unreachable server, a wrong password or a database without muvee's tables BEFORE the
 * listener binds and the browser opens: exit 2 with the fix, and DingTalk (here the emulator)
 * never asked for anything, so no single-use code is spent. The unreachable case needs no
 * PostgreSQL; the others run against a throwaway cluster and are reported skipped without one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import {
  emulatorLoginEnv,
  freePort,
  json,
  runCli,
  SECRET,
  startCli,
  tempDir,
  type RunResult,
} from './helpers.ts';
import { pgUnavailable, startCluster, type PgCluster } from './pg/cluster.ts';

/** No request of any kind reached the emulator: no login page, no code, no token. */
function assertUntouched(emu: Emulator, r: RunResult): void {
  assert.deepEqual(
    emu.hits,
    { authorize: 0, userAccessToken: 0, usersMe: 0, accessToken: 0 },
    'DingTalk was asked nothing',
  );
  assert.doesNotMatch(r.stderr, /Sign in with DingTalk|oauth2\/auth|waiting for the callback/);
}

/**
 * A real-mode login (`--no-browser`, DingTalk at a standalone emulator), its database named by
 * `--db` or by muvee's DATABASE_URL.
 */
async function realLogin(
  emu: Emulator,
  url: string,
  how: '--db' | 'DATABASE_URL',
  extra: string[] = [],
): Promise<RunResult> {
  const { env } = await emulatorLoginEnv(emu, {
    clientId: EMULATOR_CLIENT_ID,
    clientSecret: EMULATOR_CLIENT_SECRET,
    jwtSecret: SECRET,
    db: '',
  });
  delete env.MUVEE_DINGTALK_DB;
  if (how === 'DATABASE_URL') env.DATABASE_URL = url;
  const args = ['login', '--no-browser', '--timeout', '20', ...extra];
  if (how === '--db') args.push('--db', url);
  // A login that got past its checks would wait for a browser: the timeout would fail the test.
  const run = startCli(args, { env, cwd: tempDir(), timeoutMs: 15_000 });
  run.stdin.end();
  return run.done;
}

describe('login checks muvee’s PostgreSQL before the browser (no server needed)', () => {
  test('nothing listens at the URL’s port: exit 2, the fix, DingTalk untouched', async (t) => {
    const emu = await startEmulator();
    t.after(() => emu.close());
    const url = `postgres://muvee:hunter2@127.0.0.1:${await freePort()}/muvee`;
    for (const how of ['--db', 'DATABASE_URL'] as const) {
      const r = await realLogin(emu, url, how);
      assert.equal(r.code, 2, `${how}: ${r.stderr}`);
      assert.match(r.stderr, /connection refused\); is PostgreSQL running there/);
      assert.doesNotMatch(r.stderr + r.stdout, /hunter2/, 'no password printed');
      assertUntouched(emu, r);
    }
    // --json, the emulator's own run: the same error as the one JSON document.
    const doc = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', url], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    assert.equal(doc.code, 2, doc.stderr);
    assert.equal(json<{ error: { code: string } }>(doc).error.code, 'db-unusable');
    assert.doesNotMatch(doc.stderr, /Sign in with DingTalk/, 'the emulator run never started');
  });

  test('Ctrl-C while connecting to a server that does not answer ends at once', async (t) => {
    // A listener that accepts connections and never says a word: pg waits for its timeout.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const mute = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      mute.close();
    });
    const port = (mute.address() as { port: number }).port;
    const run = startCli(
      ['login', '--emulator', '--auto-approve', '--db', `postgres://u:p@127.0.0.1:${port}/db`],
      { env: { JWT_SECRET: SECRET }, cwd: tempDir(t) },
    );
    run.stdin.end();
    while (sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    run.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(Date.now() - started < 2000, 'not after the 10 s connection timeout');
    assert.doesNotMatch(r.stderr, /Sign in with DingTalk/);
  });
});

const skip = pgUnavailable();
describe('login checks muvee’s PostgreSQL before the browser (a throwaway cluster)', () => {
  if (skip) {
    test('PostgreSQL preflight cases', { skip }, () => {});
    return;
  }
  let cluster: PgCluster;
  let emu: Emulator;
  before(async () => {
    [cluster, emu] = await Promise.all([startCluster(), startEmulator()]);
  });
  after(async () => {
    cluster?.stop();
    await emu?.close();
  });

  test('a wrong password: exit 2, the fix, DingTalk untouched', async () => {
    const db = await cluster.createMuveeDatabase('preflight_password');
    const url = cluster.url(db, cluster.superUser, 'not-the-password');
    for (const how of ['--db', 'DATABASE_URL'] as const) {
      const r = await realLogin(emu, url, how);
      assert.equal(r.code, 2, `${how}: ${r.stderr}`);
      assert.match(r.stderr, /password authentication failed for user .*; check the password/);
      assert.doesNotMatch(r.stderr, /not-the-password/);
      assertUntouched(emu, r);
    }
  });

  test('a database without muvee’s tables: exit 2, the fix, DingTalk untouched', async () => {
    const db = await cluster.createEmptyDatabase('preflight_empty');
    const r = await realLogin(emu, cluster.url(db), '--db', ['--apply']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no tables users, platform_members, invitations, system_settings/);
    assert.match(r.stderr, /is this muvee's database \(and has muvee run its migrations\)\?/);
    assertUntouched(emu, r);
    // The emulator's own run with --db: stopped before its listener and approval too.
    const e = await runCli(['login', '--emulator', '--auto-approve', '--db', cluster.url(db)], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(),
    });
    assert.equal(e.code, 2, e.stderr);
    assert.doesNotMatch(e.stderr, /Sign in with DingTalk|approving as/);
  });

  test('muvee’s database: the check passes and the login goes on (one extra connection)', async () => {
    const db = await cluster.createMuveeDatabase('preflight_ok');
    const r = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--db', cluster.url(db)],
      { env: { JWT_SECRET: SECRET }, cwd: tempDir() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ dryRun: boolean }>(r).dryRun, true);
  });
});
