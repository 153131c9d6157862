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
import { json, runCli, SECRET, tempDir } from './helpers.ts';

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
