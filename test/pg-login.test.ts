/**
 * The CLI against muvee's own PostgreSQL (a throwaway cluster with muvee's schema): `login`
 * is a dry run that leaves every table byte for byte unchanged, `--apply` writes what muvee's
 * EnsurePlatformMember writes; `mint-token --email` signs muvee's uid and role.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { json, MINT_MEMBER, runCli, SECRET, tempDir } from './helpers.ts';
import { pgUnavailable, startCluster, type PgCluster } from './pg/cluster.ts';

const skip = pgUnavailable();
if (skip) console.warn(`\n!!!!! PostgreSQL login tests SKIPPED: ${skip} !!!!!\n`);

interface LoginDoc {
  email: string;
  role: string;
  dryRun?: boolean;
  user: { id: string } | null;
  sessionToken: string;
  error?: { code: string; message: string };
}

describe("login, mint-token and users on muvee's PostgreSQL", () => {
  if (skip) {
    test('PostgreSQL login cases', { skip }, () => {});
    return;
  }
  let cluster: PgCluster;
  let n = 0;
  before(async () => {
    cluster = await startCluster();
  });
  after(() => cluster?.stop());
  const fresh = async () => cluster.url(await cluster.createMuveeDatabase(`login_${++n}`));
  const rows = async (url: string, sql: string) => {
    const db = new URL(url).pathname.slice(1);
    return cluster.sql<Record<string, unknown>>(sql, [], db);
  };

  const login = async (url: string, args: string[] = [], env: Record<string, string> = {}) => {
    const r = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--db', url, ...args],
      {
        env: { JWT_SECRET: SECRET, ...env },
        cwd: tempDir(),
      },
    );
    return { ...r, doc: json<LoginDoc>(r) };
  };

  test('without --apply: the whole flow, what muvee would do, and every table byte for byte unchanged', async () => {
    const url = await fresh();
    const db = new URL(url).pathname.slice(1);
    const before = cluster.dumpData(db);
    const r = await login(url, [], { ADMIN_EMAILS: 'zhangsan@corp.example' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.dryRun, true);
    assert.equal(r.doc.role, 'admin');
    assert.equal(cluster.dumpData(db), before);
    assert.ok(!(r.stdout + r.stderr).includes(new URL(url).password), 'no password printed');
  });

  test("--apply: the rows muvee's EnsurePlatformMember writes; a second login keeps the id", async () => {
    const url = await fresh();
    const first = await login(url, ['--apply'], { ADMIN_EMAILS: 'zhangsan@corp.example' });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.doc.dryRun, false);
    const users = await rows(url, 'SELECT id::text, email, role, name FROM users');
    assert.equal(users.length, 1);
    assert.equal(users[0]!.email, 'zhangsan@corp.example');
    assert.equal(users[0]!.role, 'member', "users.role stays 'member'");
    assert.equal(users[0]!.id, first.doc.user!.id);
    const members = await rows(url, 'SELECT user_id::text, role, authorized FROM platform_members');
    assert.deepEqual(members, [{ user_id: first.doc.user!.id, role: 'admin', authorized: true }]);
    const again = await login(url, ['--apply']);
    assert.equal(again.doc.user!.id, first.doc.user!.id);
    assert.equal(again.doc.role, 'admin', 'never demoted');
    // The dry run against an existing user names its id.
    const plan = await login(url);
    assert.equal(plan.doc.user!.id, first.doc.user!.id);
    // The tool's own DingTalk link table is never created in muvee's database.
    const tables = await rows(
      url,
      "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'muvee_dingtalk%'",
    );
    assert.deepEqual(tables, []);
  });

  test('invite mode: refused (not_invited) and nothing written, dry run or --apply; request: pending', async () => {
    const url = await fresh();
    await rows(url, "INSERT INTO system_settings (key, value) VALUES ('access_mode', 'invite')");
    for (const args of [[], ['--apply']]) {
      const r = await login(url, args);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.doc.error!.message, /not_invited/);
    }
    assert.deepEqual(await rows(url, 'SELECT * FROM users'), []);
    await rows(url, "UPDATE system_settings SET value = 'request' WHERE key = 'access_mode'");
    const r = await login(url, ['--apply']);
    assert.equal(r.code, 0, r.stderr);
    const [member] = await rows(url, 'SELECT authorized FROM platform_members');
    assert.equal(member!.authorized, false);
  });

  test("mint-token --email: the token's uid is the row's id, the role the platform role", async () => {
    const url = await fresh();
    const [user] = await rows(
      url,
      "INSERT INTO users (email, name) VALUES ('alice@corp.example', 'Alice') RETURNING id::text",
    );
    await rows(
      url,
      `INSERT INTO platform_members (user_id, role) VALUES ('${String(user!.id)}', 'admin')`,
    );
    const r = await runCli(['mint-token', '--email', 'alice@corp.example', '--db', url], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(),
    });
    assert.equal(r.code, 0, r.stderr);
    const claims = jwt.verify(r.stdout.trim(), SECRET) as { uid: string; role: string };
    assert.equal(claims.uid, user!.id);
    assert.equal(claims.role, 'admin');
  });

  test("DATABASE_URL (muvee's own variable) selects PostgreSQL, redacted; --apply on SQLite is a usage error", async () => {
    const url = await fresh();
    const r = await runCli(['check-config', '--json'], {
      env: { DATABASE_URL: url },
      cwd: tempDir(),
    });
    const doc = json<{ checks: { id: string; message: string }[] }>(r);
    const db = doc.checks.find((c) => c.id === 'db-path')!.message;
    assert.match(db, /muvee's PostgreSQL at postgres(ql)?:\/\/[^@]*:\*\*\*@/);
    assert.ok(!r.stdout.includes(new URL(url).password));
    const sqlite = await runCli(
      ['login', '--emulator', '--auto-approve', '--apply', '--db', join(tempDir(), 'x.db')],
      {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(),
      },
    );
    assert.equal(sqlite.code, 2);
    assert.match(sqlite.stderr, /--apply is for muvee's PostgreSQL/);
  });

  test('admin on PostgreSQL: a write without --apply says what would change and writes nothing', async () => {
    const url = await fresh();
    const dry = await runCli(['--json', 'admin', 'invite', 'Bob@corp.example', '--db', url], {
      cwd: tempDir(),
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(json(dry), { dryRun: true, wouldChange: 'invite bob@corp.example' });
    assert.deepEqual(await rows(url, 'SELECT email FROM invitations'), []);
    const applied = await runCli(['admin', 'invite', 'Bob@corp.example', '--apply', '--db', url], {
      cwd: tempDir(),
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await rows(url, 'SELECT email FROM invitations'), [
      { email: 'bob@corp.example' },
    ]);
    const mode = await runCli(['admin', 'access-mode', '--db', url], { cwd: tempDir() });
    assert.equal(mode.stdout.trim(), 'open');
  });

  test("users list/show and verify-token read muvee's users and platform roles", async () => {
    const url = await fresh();
    const [user] = await rows(
      url,
      "INSERT INTO users (email, name) VALUES ('carol@corp.example', 'Carol') RETURNING id::text",
    );
    const id = String(user!.id);
    await rows(
      url,
      `INSERT INTO platform_members (user_id, role, authorized) VALUES ('${id}', 'admin', false)`,
    );
    const list = await runCli(['--json', 'users', 'list', '--db', url], { cwd: tempDir() });
    assert.equal(list.code, 0, list.stderr);
    const users = json<{ users: { id: string; role: string; authorized: boolean }[] }>(list).users;
    assert.deepEqual(
      users.map((u) => [u.id, u.role, u.authorized]),
      [[id, 'admin', false]],
    );
    const show = await runCli(['users', 'show', 'carol@corp.example', '--db', url], {
      cwd: tempDir(),
    });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /pending approval/);
    const minted = await runCli(['mint-token', '--email', 'carol@corp.example', '--db', url], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(),
    });
    assert.match(minted.stderr, /not let in by muvee/);
    const verified = await runCli(['verify-token', '--json', minted.stdout.trim(), '--db', url], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(),
    });
    assert.equal(verified.code, 0, verified.stderr);
    const doc = json<{ userInDb: boolean; roleInDb: string }>(verified);
    assert.equal(doc.userInDb, true);
    assert.equal(doc.roleInDb, 'admin');
  });

  test("verify-token --each on muvee's PostgreSQL: every token's user looked up, in order", async () => {
    const url = await fresh();
    const [user] = await rows(
      url,
      "INSERT INTO users (email, name) VALUES ('dave@corp.example', 'Dave') RETURNING id::text",
    );
    const id = String(user!.id);
    await rows(
      url,
      `INSERT INTO platform_members (user_id, role, authorized) VALUES ('${id}', 'admin', true)`,
    );
    const sign = (uid: string, role: string) =>
      jwt.sign({ uid, email: 'dave@corp.example', role }, SECRET, {
        algorithm: 'HS256',
        expiresIn: 60,
      });
    const input = [
      sign(id, 'admin'),
      'not-a-token',
      '',
      sign('7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', 'member'),
      sign(id, 'member'),
    ].join('\n');
    const r = await runCli(['verify-token', '--each', '-', '--db', url], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(),
      input,
    });
    assert.equal(r.code, 5, r.stderr);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { line: number; userInDb: boolean | null; roleMatches?: boolean },
      );
    assert.deepEqual(
      lines.map((l) => [l.line, l.userInDb, l.roleMatches]),
      [
        [1, true, true],
        [2, null, undefined],
        [4, false, undefined],
        [5, true, false],
      ],
    );
  });

  test('verify-token with an unreachable database: the verdict stands, the lookup is said', async () => {
    const token = (
      await runCli(MINT_MEMBER, {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(),
      })
    ).stdout.trim();
    const r = await runCli(
      ['verify-token', '--json', token, '--db', 'postgres://u:pw@127.0.0.1:1/none'],
      {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(),
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = json<{ valid: boolean; userInDb: null; dbProblem: string }>(r);
    assert.equal(doc.valid, true);
    assert.equal(doc.userInDb, null);
    assert.match(doc.dbProblem, /\*\*\*/);
    assert.ok(!r.stdout.includes(':pw@'));
  });

  test("users export --sql from the local store imports into muvee's PostgreSQL as it is", async () => {
    const dir = tempDir();
    const db = join(dir, 'local.db');
    for (const who of ['zhangsan', 'lisi']) {
      const r = await runCli(['login', '--emulator', '--auto-approve', who, '--json', '--db', db], {
        env: { JWT_SECRET: SECRET, ADMIN_EMAILS: 'zhangsan@corp.example' },
        cwd: dir,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    await runCli(['admin', 'invite', "o'brien@corp.example", '--db', db], { cwd: dir });
    await runCli(['admin', 'access-mode', 'invite', '--db', db], { cwd: dir });
    const sql = await runCli(['users', 'export', '--sql', '--db', db], { cwd: dir });
    assert.equal(sql.code, 0, sql.stderr);
    const url = await fresh();
    // psql's own meta-command is for psql (security-export.test.ts imports with psql itself).
    await rows(url, sql.stdout.replace(/^\\set ON_ERROR_STOP on$/m, ''));
    const users = await rows(
      url,
      'SELECT u.email, m.role FROM users u JOIN platform_members m ON m.user_id = u.id ORDER BY u.email',
    );
    assert.deepEqual(users, [
      { email: 'emuUnionLisi00000002@dingtalk.local', role: 'member' },
      { email: 'zhangsan@corp.example', role: 'admin' },
    ]);
    assert.deepEqual(await rows(url, 'SELECT email FROM invitations'), [
      { email: "o'brien@corp.example" },
    ]);
    assert.deepEqual(
      await rows(url, "SELECT value FROM system_settings WHERE key = 'access_mode'"),
      [{ value: 'invite' }],
    );
  });

  test("users export --sql meets muvee's seeded access_mode: the same value imports, another stops the import", async () => {
    const dir = tempDir();
    const db = join(dir, 'local.db');
    const login = await runCli(['login', '--emulator', '--db', db], { cwd: dir });
    assert.equal(login.code, 0, login.stderr);
    await runCli(['admin', 'access-mode', 'open', '--db', db], { cwd: dir });
    const sql = (await runCli(['users', 'export', '--sql', '--db', db], { cwd: dir })).stdout;
    const script = sql.replace(/^\\set ON_ERROR_STOP on$/m, '');
    // muvee's migration 027 seeds access_mode = 'open' in every muvee database.
    const same = await fresh();
    await rows(same, "INSERT INTO system_settings (key, value) VALUES ('access_mode', 'open')");
    await rows(same, script);
    assert.deepEqual(await rows(same, 'SELECT email FROM users'), [
      { email: 'zhangsan@corp.example' },
    ]);
    const other = await fresh();
    await rows(other, "INSERT INTO system_settings (key, value) VALUES ('access_mode', 'invite')");
    await assert.rejects(
      rows(other, script),
      /muvee already has system_settings access_mode = 'invite', this export has 'open'; change one of them to match/,
    );
    assert.deepEqual(await rows(other, 'SELECT email FROM users'), [], 'nothing is written');
    assert.deepEqual(
      await rows(other, "SELECT value FROM system_settings WHERE key = 'access_mode'"),
      [{ value: 'invite' }],
      "muvee's setting is never overwritten",
    );
  });
});
