/**
 * Issue 12 ("Safe in a terminal and in CI logs, and friendly on first use"), the login side:
 * everything that can fail locally fails before the browser opens (8a), progress and refused
 * callbacks in the terminal (12), the hint for a redirect URL elsewhere (13), and the flags
 * `--client-id`, `--redirect-url`, `--quiet` and a checked `--listen` (14).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID as ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import jwt from 'jsonwebtoken';
import {
  AUTHORIZE_URL,
  decide,
  freePort,
  json,
  runCli,
  SECRET,
  startCli,
  tempDir,
} from './helpers.ts';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(() => emu.close());

/** A real-mode login's environment against the emulator (nothing registered: never reached). */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DINGTALK_LOGIN_BASE: emu.url,
    DINGTALK_API_BASE: emu.url,
    DINGTALK_CLIENT_ID: ID,
    DINGTALK_CLIENT_SECRET: EMULATOR_CLIENT_SECRET,
    DINGTALK_REDIRECT_URL: 'http://127.0.0.1:0/auth/dingtalk/callback',
    JWT_SECRET: SECRET,
    ...extra,
  };
}

describe('8a: an unusable DB path fails before the browser opens', () => {
  const cases: [string, (dir: string) => string][] = [
    ['/proc/x.db', () => '/proc/x.db'],
    ['/dev/null', () => '/dev/null'],
    [
      'a FIFO',
      (dir) => {
        const fifo = join(dir, 'fifo.db');
        spawnSync('mkfifo', [fifo]);
        assert.ok(existsSync(fifo), 'mkfifo made the FIFO');
        return fifo;
      },
    ],
    ['/etc/hostname/x.db', () => '/etc/hostname/x.db'],
    ['a directory', (dir) => dir],
    ['a missing folder', (dir) => join(dir, 'missing', 'x.db')],
  ];
  for (const [name, make] of cases) {
    test(`login: ${name} → exit 2 db-unusable naming the path, no authorize URL`, async (t) => {
      const dir = tempDir(t);
      const db = make(dir);
      const before = emu.hits.authorize ?? 0;
      const result = await runCli(['login', '--no-browser', '--json', '--timeout', '2'], {
        env: env({ MUVEE_DINGTALK_DB: db }),
        cwd: dir,
      });
      assert.equal(result.code, 2, result.stderr);
      const { error } = json<{ error: { code: string; message: string } }>(result);
      assert.equal(error.code, 'db-unusable');
      assert.ok(error.message.includes(db), error.message);
      assert.match(error.message, /--db/);
      assert.doesNotMatch(result.stderr, /oauth2\/auth/, 'the authorize URL was never printed');
      assert.equal(emu.hits.authorize ?? 0, before);
    });

    test(`check-config: ${name} fails the db-path check`, async (t) => {
      const dir = tempDir(t);
      const db = make(dir);
      const result = await runCli(['check-config', '--json'], {
        env: env({ MUVEE_DINGTALK_DB: db }),
        cwd: dir,
      });
      const check = json<{ checks: { id: string; status: string; message: string }[] }>(
        result,
      ).checks.find((c) => c.id === 'db-path')!;
      assert.equal(check.status, 'fail', check.message);
      assert.doesNotMatch(check.message, /is writable/);
      assert.equal(result.code, 7);
    });
  }

  test('check-config and login warn about a DB file others can read or write, and a link', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'users.db');
    const dbCheck = async (path: string) => {
      const result = await runCli(['check-config', '--json'], {
        env: env({ MUVEE_DINGTALK_DB: path }),
        cwd: dir,
      });
      return json<{ checks: { id: string; status: string; message: string }[] }>(
        result,
      ).checks.find((c) => c.id === 'db-path')!;
    };
    writeFileSync(db, '');
    chmodSync(db, 0o600);
    assert.equal((await dbCheck(db)).status, 'pass');
    chmodSync(db, 0o644);
    const readable = await dbCheck(db);
    assert.equal(readable.status, 'warn');
    assert.match(readable.message, /readable by other users \(mode 0644\).*emails.*chmod 600/);
    chmodSync(db, 0o666);
    const writable = await dbCheck(db);
    assert.equal(writable.status, 'warn');
    assert.match(writable.message, /writable by other users \(mode 0666\)/);
    chmodSync(db, 0o600);
    const link = join(dir, 'link.db');
    symlinkSync(db, link);
    const linked = await dbCheck(link);
    assert.equal(linked.status, 'warn');
    assert.match(linked.message, /symbolic link/);

    // login: the warning on stderr before the URL, and the login goes on (here: to its timeout).
    chmodSync(db, 0o644);
    const result = await runCli(['login', '--no-browser', '--timeout', '1'], {
      env: env({ MUVEE_DINGTALK_DB: db }),
      cwd: dir,
    });
    assert.equal(result.code, 4, result.stderr);
    const warning = result.stderr.indexOf('readable by other users');
    assert.ok(warning >= 0, result.stderr);
    assert.ok(warning < result.stderr.indexOf('oauth2/auth'), 'warned before the URL');
  });
});

describe('13: a redirect URL elsewhere', () => {
  test('the hint says muvee spends the code first once deployed, and how to use localhost', async (t) => {
    const result = await runCli(['login', '--no-browser', '--no-store', '--timeout', '1'], {
      env: env({ DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback' }),
      cwd: tempDir(t),
    });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /paste it here/);
    assert.match(result.stderr, /muvee is NOT deployed there/);
    assert.match(result.stderr, /spends the single-use code/);
    assert.match(
      result.stderr,
      /DINGTALK_REDIRECT_URL=http:\/\/localhost:8080\/auth\/dingtalk\/callback/,
    );
  });
});

describe('14: login flags', () => {
  /** A login run completed by this test as the browser; returns the result and the URL. */
  async function login(args: string[], extra: Record<string, string>, cwd: string) {
    const run = startCli(['login', '--no-browser', ...args], { env: env(extra), cwd });
    const [, url] = await run.waitForStderr(AUTHORIZE_URL);
    await decide(url!, 'approve');
    return { result: await run.done, url: new URL(url!) };
  }
  const registered = async () => {
    const redirect = `http://127.0.0.1:${await freePort()}/auth/dingtalk/callback`;
    emu.registerRedirectUri(redirect);
    return redirect;
  };

  test('--client-id and --redirect-url override the environment for this run', async (t) => {
    const dir = tempDir(t);
    const redirect = await registered();
    const { result, url } = await login(
      ['--json', '--client-id', ID, '--redirect-url', redirect],
      {
        DINGTALK_CLIENT_ID: 'dingnotthisapp0000000',
        DINGTALK_REDIRECT_URL: 'http://127.0.0.1:1/not/this',
        MUVEE_DINGTALK_DB: join(dir, 'u.db'),
      },
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(url.searchParams.get('client_id'), ID);
    assert.equal(url.searchParams.get('redirect_uri'), redirect);
    assert.equal(json<{ email: string }>(result).email, 'zhangsan@corp.example');
  });

  test('no --client-secret: secrets never on the command line', async (t) => {
    const result = await runCli(['login', '--client-secret', 'x'], { env: env(), cwd: tempDir(t) });
    assert.equal(result.code, 2);
  });

  test('--redirect-url that is not a URL: usage error', async (t) => {
    const result = await runCli(['login', '--redirect-url', 'nope'], {
      env: env(),
      cwd: tempDir(t),
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /http:\/\/localhost:8080\/auth\/dingtalk\/callback/);
  });

  test('--quiet: stdout holds the session token alone', async (t) => {
    const dir = tempDir(t);
    const redirect = await registered();
    const { result } = await login(
      ['--quiet'],
      { DINGTALK_REDIRECT_URL: redirect, MUVEE_DINGTALK_DB: join(dir, 'u.db') },
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = jwt.verify(result.stdout.trim(), SECRET) as Record<string, unknown>;
    assert.equal(claims.email, 'zhangsan@corp.example');
  });

  test('--quiet: a refusal prints nothing on stdout, the error on stderr', async (t) => {
    const dir = tempDir(t);
    const redirect = await registered();
    const { result } = await login(
      ['--quiet'],
      {
        DINGTALK_REDIRECT_URL: redirect,
        MUVEE_DINGTALK_DB: join(dir, 'u.db'),
        ALLOWED_DOMAINS: 'elsewhere.example',
      },
      dir,
    );
    assert.equal(result.code, 6);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^✗ .*zhangsan@corp\.example/m);
  });

  test('--quiet with --json is a usage error', async (t) => {
    const result = await runCli(['login', '--quiet', '--json'], { env: env(), cwd: tempDir(t) });
    assert.equal(result.code, 2);
  });

  for (const value of ['nonsense', 'foo:bar', '127.0.0.1:99999', 'a b:80']) {
    test(`--listen '${value}' is a usage error with the expected form`, async (t) => {
      for (const extra of [[], ['--emulator']]) {
        const result = await runCli(['login', '--no-browser', ...extra, '--listen', value], {
          env: env(),
          cwd: tempDir(t),
        });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /host:port/);
        assert.match(result.stderr, /127\.0\.0\.1:8080/);
      }
    });
  }
});
