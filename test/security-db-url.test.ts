/**
 * Issue 20, M7 and L9 (its PostgreSQL part): muvee's database password on the command line is
 * warned about and has a way around (`--db env:NAME`); a malformed PostgreSQL URL is a usage
 * problem (exit 2, `db-unusable`), never an unexpected error (exit 1), and never printed with
 * its password.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { json, runCli, SECRET, tempDir } from './helpers.ts';
import { pgUnavailable, startCluster, type PgCluster } from './pg/cluster.ts';

const PASSWORD = 'Pa55-word-in-argv';

describe('--db with a password on the command line (issue 20 M7)', () => {
  test('warned about on every command, the password never printed', async (t) => {
    const url = `postgres://muvee:${PASSWORD}@127.0.0.1:1/muvee`;
    for (const args of [
      ['users', 'list'],
      ['admin', 'invitations'],
      ['mint-token', '--email', 'a@b.example'],
      ['verify-token', jwt.sign({ uid: 'x' }, SECRET)],
      ['check-config'],
    ]) {
      const r = await runCli([...args, '--db', url], {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(t),
      });
      assert.match(
        r.stderr,
        /⚠ --db postgres:\/\/muvee:\*\*\*@127\.0\.0\.1:1\/muvee puts the database password on the command line.*--db env:DATABASE_URL/,
        `${args[0]}: ${r.stderr}`,
      );
      assert.ok(!(r.stdout + r.stderr).includes(PASSWORD), `${args[0]} printed the password`);
    }
  });

  test('no warning without a password, or with --db env:NAME', async (t) => {
    const r = await runCli(['users', 'list', '--db', 'postgres://muvee@127.0.0.1:1/muvee'], {
      cwd: tempDir(t),
    });
    assert.doesNotMatch(r.stderr, /command line/);
    const e = await runCli(['users', 'list', '--db', 'env:MY_DB'], {
      env: { MY_DB: `postgres://muvee:${PASSWORD}@127.0.0.1:1/muvee` },
      cwd: tempDir(t),
    });
    assert.doesNotMatch(e.stderr, /command line/);
    assert.match(e.stderr, /postgres:\/\/muvee:\*\*\*@127\.0\.0\.1:1\/muvee/, 'MY_DB was used');
    assert.ok(!e.stderr.includes(PASSWORD));
  });

  test('--db env:NAME of an unset variable is a usage error naming it', async (t) => {
    const r = await runCli(['users', 'list', '--db', 'env:NOT_SET_HERE', '--json'], {
      cwd: tempDir(t),
    });
    assert.equal(r.code, 2);
    assert.equal(json<{ error: { code: string } }>(r).error.code, 'usage');
    assert.match(r.stderr, /NOT_SET_HERE, which is not set/);
  });

  test('--db env:NAME reads the env file too, and a SQLite path works the same way', async (t) => {
    const dir = tempDir(t);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/.env`, `TEAM_DB=${dir}/team.db\n`);
    const login = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--db', 'env:TEAM_DB'],
      {
        env: { JWT_SECRET: SECRET },
        cwd: dir,
      },
    );
    assert.equal(login.code, 0, login.stderr);
    assert.ok(existsSync(`${dir}/team.db`), 'the file TEAM_DB names was written');
    assert.ok(!existsSync(`${dir}/env:TEAM_DB`));
    const list = await runCli(['users', 'list', '--json', '--db', 'env:TEAM_DB'], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /zhangsan@corp\.example/);
  });
});

describe('a malformed PostgreSQL URL is exit 2 (issue 20 L9)', () => {
  const bad = [
    `postgres://muvee:${PASSWORD}@[bad/muvee`,
    `postgres://muvee:${PASSWORD}@127.0.0.1:99999/muvee`,
    `postgresql://muvee:${PASSWORD}@host:port/muvee`,
  ];
  for (const url of bad) {
    test(`${url.replace(PASSWORD, '***')}: users list, login --db, mint-token --email`, async (t) => {
      for (const args of [
        ['users', 'list'],
        ['login', '--emulator', '--auto-approve'],
        ['mint-token', '--email', 'a@b.example'],
      ]) {
        const r = await runCli([...args, '--json', '--db', url], {
          env: { JWT_SECRET: SECRET },
          cwd: tempDir(t),
        });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(json<{ error: { code: string } }>(r).error.code, 'db-unusable');
        assert.match(r.stderr, /is not a valid PostgreSQL URL|not a PostgreSQL URL/);
        assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
      }
    });
  }

  test('verify-token keeps its verdict beside a malformed URL', async (t) => {
    const token = jwt.sign(
      { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@b.example', role: 'member' },
      SECRET,
      { expiresIn: '1h' },
    );
    const r = await runCli(['verify-token', token, '--json', '--db', bad[0]!], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ valid: boolean }>(r).valid, true);
    assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
  });
});

const skip = pgUnavailable();
describe('--db env:NAME against a real PostgreSQL', () => {
  if (skip) {
    test('env:NAME with PostgreSQL', { skip }, () => {});
    return;
  }
  let cluster: PgCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(() => cluster?.stop());
  test('login --apply and users list through --db env:DATABASE_URL: no password anywhere', async (t) => {
    const url = cluster.url(await cluster.createMuveeDatabase('envurl'));
    const env = { JWT_SECRET: SECRET, DATABASE_URL: url };
    const login = await runCli(
      ['login', '--emulator', '--auto-approve', '--apply', '--json', '--db', 'env:DATABASE_URL'],
      { env, cwd: tempDir(t) },
    );
    assert.equal(login.code, 0, login.stderr);
    assert.doesNotMatch(login.stderr, /command line/);
    const rows = await cluster.sql<{ email: string }>('SELECT email FROM users', [], 'envurl');
    assert.deepEqual(rows, [{ email: 'zhangsan@corp.example' }]);
    assert.ok(!(login.stdout + login.stderr).includes(cluster.superPassword));
  });
});
