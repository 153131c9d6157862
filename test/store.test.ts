import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { Database } from '../src/store/sqlite/binding.ts';
import { isCliError } from '../src/cli/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION, Store } from '../src/store/sqlite/store.ts';
import { CURRENT_SCHEMA, migrate } from '../src/store/sqlite/schema.ts';
import { ROOT, runCli, SECRET, tempDir } from './helpers.ts';

const login = (email: string, extra: Partial<Parameters<Store['recordLogin']>[0]> = {}) => ({
  email,
  name: 'Name',
  avatarUrl: 'https://a/1.png',
  admin: false,
  unionId: `U-${email}`,
  ...extra,
});

describe('store', () => {
  test('a new file: mode 0600, WAL, migrated to the latest version', (t) => {
    const path = join(tempDir(t), 'new.db');
    // Created without a sync of its own (issue 22), then written as every open writes:
    // synchronous NORMAL (1), for a new file as for an existing one.
    for (let i = 0; i < 2; i++) {
      const store = Store.open(path);
      const { db } = store as unknown as { db: InstanceType<typeof Database> };
      assert.equal(db.pragma('synchronous', { simple: true }), 1);
      store.close();
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const db = new Database(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
      .all();
    assert.deepEqual(
      tables.map((r) => (r as { name: string }).name),
      // muvee's tables, and this tool's own under a name that says so.
      [
        'invitations',
        'muvee_dingtalk_links',
        'muvee_dingtalk_users_list',
        'oauth_accounts',
        'platform_members',
        'system_settings',
        'users',
      ],
    );
    const columns = (table: string) =>
      (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    assert.deepEqual(columns('users').sort(), [
      'authorized',
      'avatar_overridden',
      'avatar_url',
      'created_at',
      'email',
      'id',
      'name',
      'name_overridden',
      'role',
    ]);
    assert.deepEqual(columns('platform_members').sort(), [
      'authorized',
      'created_at',
      'role',
      'user_id',
    ]);
    db.close();
  });

  // Issue 22: a new file gets CURRENT_SCHEMA in one exec; it must be what the migrations leave.
  test('a new file in one exec: the same sqlite_schema and user_version as migrated step by step', (t) => {
    const dir = tempDir(t);
    const schemaOf = (path: string) => {
      const db = new Database(path, { readonly: true });
      const rows = db
        .prepare('SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema ORDER BY rowid')
        .all();
      const result = {
        rows,
        version: db.pragma('user_version', { simple: true }),
        integrity: db.pragma('integrity_check', { simple: true }),
      };
      db.close();
      return result;
    };
    const stepwise = join(dir, 'stepwise.db');
    const old = new Database(stepwise);
    old.pragma('journal_mode = WAL');
    old.transaction(() => {
      for (const migration of MIGRATIONS) old.exec(migration);
      old.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    old.close();
    const fresh = join(dir, 'fresh.db');
    Store.open(fresh).close();
    const migrated = schemaOf(stepwise);
    const sql = (migrated.rows as { sql: string | null }[])
      .flatMap((r) => (r.sql ? [`${r.sql};`] : []))
      .join('\n');
    assert.deepEqual(
      schemaOf(fresh),
      migrated,
      `CURRENT_SCHEMA (src/store/sqlite/schema.ts) is not what MIGRATIONS leave; it should be:\n${sql}`,
    );
    assert.equal(CURRENT_SCHEMA.trim(), sql);
    assert.equal(migrated.integrity, 'ok');
  });

  test('migrate: an empty database takes CURRENT_SCHEMA at once, any other the steps', () => {
    const execs = (setup: (db: InstanceType<typeof Database>) => void) => {
      const db = new Database(':memory:');
      setup(db);
      const seen: string[] = [];
      const exec = db.exec.bind(db);
      db.exec = (source: string) => (seen.push(source), exec(source));
      migrate(db);
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      db.close();
      return seen;
    };
    assert.deepEqual(
      execs(() => {}),
      [CURRENT_SCHEMA],
    );
    // Version 0 but not empty (someone's own table): the steps, as before.
    assert.deepEqual(
      execs((db) => db.exec('CREATE TABLE notes (x)')),
      MIGRATIONS,
    );
    assert.deepEqual(
      execs((db) => {
        db.exec(MIGRATIONS[0]!);
        db.pragma('user_version = 1');
      }),
      MIGRATIONS.slice(1),
    );
  });

  test('migrates a version 2 file (the previous release) keeping every user, id and role', (t) => {
    const path = join(tempDir(t), 'v2.db');
    writeVersion2File(path);

    const store = Store.open(path);
    const boss = store.findByEmail('boss@corp.example')!;
    assert.equal(boss.id, '11111111-1111-4111-8111-111111111111');
    assert.equal(boss.role, 'admin');
    assert.equal(boss.authorized, true);
    assert.equal(boss.nameOverridden, true);
    assert.equal(boss.lastLoginAt, '2026-02-01T00:00:00.000Z');
    assert.deepEqual(store.unionIdsOf(boss.id), ['U-boss']);
    const zs = store.findByEmail('zs@corp.example')!;
    assert.equal(zs.id, '22222222-2222-4222-8222-222222222222');
    assert.equal(zs.role, 'member');
    assert.equal(store.list().length, 2);
    store.close();
    const db = new Database(path, { readonly: true });
    assert.equal(
      (
        db.prepare("SELECT count(*) n FROM oauth_accounts WHERE provider = 'dingtalk'").get() as {
          n: number;
        }
      ).n,
      0,
      'muvee never keeps DingTalk rows in oauth_accounts',
    );
    db.close();
  });

  test('migrates a version 1 file forward, keeping its users', (t) => {
    const path = join(tempDir(t), 'v1.db');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old
      .prepare(
        "INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES ('11111111-1111-4111-8111-111111111111', 'old@corp.example', 'Old', 'admin', 'then', 'then')",
      )
      .run();
    old.close();
    const store = Store.open(path);
    const user = store.findByEmail('old@corp.example');
    assert.equal(user?.role, 'admin');
    assert.equal(user?.lastLoginAt, null);
    const again = store.recordLogin(login('old@corp.example'));
    assert.equal(again.user.id, '11111111-1111-4111-8111-111111111111');
    assert.equal(again.created, false);
    store.close();
    const db = new Database(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  test('a file from a newer version is refused, not damaged', (t) => {
    const path = join(tempDir(t), 'future.db');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => Store.open(path), {
      code: 'db-unusable',
      message: /newer than this muvee-dingtalk/,
    });
  });

  test('a file that is not a database is a clear error with the path', (t) => {
    const path = join(tempDir(t), 'junk.db');
    writeFileSync(path, 'this is not sqlite '.repeat(200));
    assert.throws(
      () => Store.open(path),
      (error: { code: string; exitCode: number; message: string }) => {
        assert.equal(error.code, 'db-unusable');
        assert.equal(error.exitCode, 2);
        assert.ok(error.message.includes(path));
        return true;
      },
    );
  });

  test("muvee's upsert: id and created_at kept, name/avatar refreshed unless overridden", (t) => {
    const path = join(tempDir(t), 'u.db');
    const store = Store.open(path);
    const first = store.recordLogin(
      login('a@corp.example', { name: 'First', avatarUrl: 'https://a/1.png' }),
    );
    assert.equal(first.created, true);
    assert.equal(first.user.role, 'member');
    const second = store.recordLogin(
      login('a@corp.example', { name: 'Second', avatarUrl: 'https://a/2.png' }),
    );
    assert.equal(second.created, false);
    assert.equal(second.user.id, first.user.id);
    assert.equal(second.user.createdAt, first.user.createdAt);
    assert.equal(second.user.name, 'Second');
    store.close();
    const db = new Database(path);
    db.prepare(
      "UPDATE users SET name = 'Chosen', name_overridden = 1, avatar_url = 'https://mine', avatar_overridden = 1",
    ).run();
    db.close();
    const reopened = Store.open(path);
    const third = reopened.recordLogin(
      login('a@corp.example', { name: 'Third', avatarUrl: 'https://a/3.png' }),
    );
    assert.equal(third.user.name, 'Chosen');
    assert.equal(third.user.avatarUrl, 'https://mine');
    reopened.close();
  });

  test('ADMIN_EMAILS: a new user starts admin, an existing member is promoted, nobody is demoted', (t) => {
    const store = Store.open(join(tempDir(t), 'r.db'));
    assert.equal(store.recordLogin(login('boss@corp.example', { admin: true })).user.role, 'admin');
    store.recordLogin(login('m@corp.example'));
    const promoted = store.recordLogin(login('m@corp.example', { admin: true }));
    assert.equal(promoted.user.role, 'admin');
    assert.equal(promoted.promoted, true);
    assert.equal(store.recordLogin(login('m@corp.example', { admin: false })).user.role, 'admin');
    store.close();
  });

  test('a unionId seen before under another email is reported', (t) => {
    const store = Store.open(join(tempDir(t), 'x.db'));
    store.recordLogin(login('old@corp.example', { unionId: 'U1' }));
    const moved = store.recordLogin(login('new@corp.example', { unionId: 'U1' }));
    assert.equal(moved.previousEmailForUnionId, 'old@corp.example');
    assert.deepEqual(store.unionIdsOf(moved.user.id), ['U1']);
    assert.equal(
      store.recordLogin(login('new@corp.example', { unionId: 'U1' })).previousEmailForUnionId,
      undefined,
    );
    store.close();
  });

  test('openExisting creates nothing', (t) => {
    const path = join(tempDir(t), 'none.db');
    assert.equal(Store.openExisting(path), null);
    assert.throws(() => statSync(path));
  });

  test('concurrent writers from several processes lose no row', async (t) => {
    const path = join(tempDir(t), 'c.db');
    const workers = 4;
    const each = 60;
    const runs = Array.from(
      { length: workers },
      (_, w) =>
        new Promise<number>((resolve) => {
          const child = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              join(ROOT, 'test/fixtures/login-writer.ts'),
              path,
              String(w),
              String(each),
            ],
            { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
          );
          child.on('close', (code) => resolve(code ?? -1));
        }),
    );
    assert.deepEqual(await Promise.all(runs), Array(workers).fill(0));
    const db = new Database(path, { readonly: true });
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    // Each worker: `each/2` own users; all share 20 shared users.
    assert.equal(count('SELECT count(*) n FROM users'), workers * (each / 2) + 20);
    assert.equal(count('SELECT count(*) n FROM muvee_dingtalk_links'), workers * (each / 2) + 20);
    assert.equal(count('SELECT count(*) n FROM platform_members'), workers * (each / 2) + 20);
    assert.equal(count("SELECT count(*) n FROM platform_members WHERE role = 'admin'"), 1);
    assert.equal(count("SELECT count(*) n FROM users WHERE role = 'admin'"), 0);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  });
});

describe("users list's own table (muvee_dingtalk_users_list), kept by triggers", () => {
  /** What `users list --json` shows (read through that table) and what the real tables say. */
  const listed = async (path: string) => {
    const r = await runCli(['users', 'list', '--json', '--db', path], { cwd: dirname(path) });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { users: unknown[] }).users;
  };
  const stored = (path: string) => {
    const store = Store.openExisting(path)!;
    try {
      return JSON.parse(JSON.stringify(store.list())) as unknown[];
    } finally {
      store.close();
    }
  };

  test('follows every write: logins, roles, approvals, links, overrides, deletes', async (t) => {
    const path = join(tempDir(t), 'team.db');
    const store = Store.open(path);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const steps: [string, () => void][] = [
      [
        'first logins',
        () => {
          store.recordLogin(login('a@corp.example', { now: at(1) }));
          store.recordLogin(login('b@corp.example', { now: at(1), unionId: undefined }));
          store.recordLogin(login('c@corp.example', { now: at(2) }));
        },
      ],
      [
        'promoted by ADMIN_EMAILS, a later login',
        () => store.recordLogin(login('b@corp.example', { admin: true, now: at(5) })),
      ],
      [
        'request mode: pending, then approved',
        () => {
          store.setAccessMode('request');
          store.recordLogin(login('d@corp.example', { now: at(3) }));
        },
      ],
      ['approved', () => store.approve(store.findByEmail('d@corp.example')!.id)],
      [
        'a second DingTalk account for a',
        () => store.recordLogin(login('a@corp.example', { unionId: 'U-second', now: at(9) })),
      ],
      [
        'a unionId moves to another user',
        () => store.recordLogin(login('c@corp.example', { unionId: 'U-second', now: at(10) })),
      ],
      [
        'an override',
        () => store.setOverride(store.findByEmail('c@corp.example')!.id, 'name', 'C'),
      ],
    ];
    for (const [what, step] of steps) {
      step();
      assert.deepEqual(await listed(path), stored(path), what);
    }
    store.close();
    // Writes this tool does not make (muvee's own, or by hand) are followed too.
    const raw = new Database(path);
    raw.pragma('foreign_keys = ON');
    const byHand: [string, string][] = [
      [
        'a platform_members row deleted',
        "DELETE FROM platform_members WHERE user_id = (SELECT id FROM users WHERE email = 'a@corp.example')",
      ],
      [
        'a platform_members row added',
        "INSERT INTO platform_members (user_id, role, authorized, created_at) SELECT id, 'admin', 0, 'x' FROM users WHERE email = 'a@corp.example'",
      ],
      ['a link deleted', "DELETE FROM muvee_dingtalk_links WHERE union_id = 'U-second'"],
      [
        'a link updated',
        "UPDATE muvee_dingtalk_links SET last_login_at = '2027' WHERE union_id = 'U-a@corp.example'",
      ],
      [
        'an email changed',
        "UPDATE users SET email = 'a2@corp.example' WHERE email = 'a@corp.example'",
      ],
      ['created_at changed', "UPDATE users SET created_at = '2020' WHERE email = 'c@corp.example'"],
      ['a user deleted (cascades)', "DELETE FROM users WHERE email = 'd@corp.example'"],
      [
        'a user added by hand',
        "INSERT INTO users (id, email, created_at) VALUES ('e', 'e@corp.example', '2019')",
      ],
    ];
    for (const [what, sql] of byHand) {
      raw.exec(sql);
      assert.deepEqual(await listed(path), stored(path), what);
    }
    raw.close();
    assert.equal((await listed(path)).length, 4);
  });

  test('built for an older file by the migration, on disk and in the read-only copy', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'v2.db');
    writeVersion2File(path);
    const expected = [
      ['boss@corp.example', 'admin', '2026-02-01T00:00:00.000Z'],
      ['zs@corp.example', 'member', null],
    ];
    const summary = (users: unknown[]) =>
      (users as { email: string; role: string; lastLoginAt: string | null }[]).map((u) => [
        u.email,
        u.role,
        u.lastLoginAt,
      ]);
    assert.deepEqual(summary(await listed(path)), expected, 'read through a migrated copy');
    Store.open(path).close();
    assert.deepEqual(summary(await listed(path)), expected, 'migrated on disk');
    assert.deepEqual(await listed(path), stored(path));
  });
});

describe("access modes and platform_members, as muvee's EnsurePlatformMember", () => {
  const open = (t: { after(fn: () => void): void }) => {
    const store = Store.open(join(tempDir(t), 'modes.db'));
    t.after(() => store.close());
    return store;
  };

  test('open (the default, also for an unknown value): everyone in, authorized', (t) => {
    const store = open(t);
    assert.equal(store.accessMode(), 'open');
    const r = store.recordLogin(login('a@corp.example'));
    assert.equal(r.user.role, 'member');
    assert.equal(r.user.authorized, true);
    assert.equal(r.user.legacyRole, 'member');
  });

  test('invite: a stranger is refused and nothing is written', (t) => {
    const store = open(t);
    store.setAccessMode('invite');
    assert.throws(
      () => store.recordLogin(login('stranger@corp.example')),
      (e) => isCliError(e) && e.code === 'policy-denied' && /not_invited/.test(e.message),
    );
    assert.equal(store.list().length, 0);
    assert.deepEqual(store.unionIdsOf('x'), []);
  });

  test('invite: an invited email (any case, padded) gets in; an admin needs no invitation', (t) => {
    const store = open(t);
    store.setAccessMode('invite');
    store.invite('  Invited@Corp.example ');
    assert.deepEqual(
      store.invitations().map((i) => i.email),
      ['invited@corp.example'],
    );
    assert.equal(store.recordLogin(login('invited@corp.example')).user.authorized, true);
    const boss = store.recordLogin(login('boss@corp.example', { admin: true }));
    assert.equal(boss.user.role, 'admin');
    assert.equal(boss.user.legacyRole, 'member', "users.role stays 'member'");
  });

  test('request: a new member waits for approval; approve lets them in', (t) => {
    const store = open(t);
    store.setAccessMode('request');
    const r = store.recordLogin(login('new@corp.example'));
    assert.equal(r.created, true);
    assert.equal(r.user.authorized, false);
    // Logging in again does not authorize.
    assert.equal(store.recordLogin(login('new@corp.example')).user.authorized, false);
    assert.equal(store.approve(r.user.id), true);
    assert.equal(store.findById(r.user.id)?.authorized, true);
    assert.equal(store.approve(r.user.id), false, 'already authorized');
    // An admin is never pending.
    assert.equal(
      store.recordLogin(login('boss@corp.example', { admin: true })).user.authorized,
      true,
    );
  });

  test('invite: an existing unauthorized member who is now invited becomes authorized', (t) => {
    const store = open(t);
    store.setAccessMode('request');
    const pending = store.recordLogin(login('later@corp.example')).user;
    assert.equal(pending.authorized, false);
    store.setAccessMode('invite');
    // Not invited, but a member already: let through, still pending.
    assert.equal(store.recordLogin(login('later@corp.example')).user.authorized, false);
    store.invite('later@corp.example');
    const r = store.recordLogin(login('later@corp.example'));
    assert.equal(r.decision.authorizeByInvite, true);
    assert.equal(r.user.authorized, true);
  });

  test('promotion on every login, never demotion; the role is the platform role', (t) => {
    const store = open(t);
    const first = store.recordLogin(login('p@corp.example'));
    assert.equal(first.user.role, 'member');
    const promoted = store.recordLogin(login('p@corp.example', { admin: true }));
    assert.equal(promoted.promoted, true);
    assert.equal(promoted.user.role, 'admin');
    const again = store.recordLogin(login('p@corp.example'));
    assert.equal(again.user.role, 'admin', 'not demoted when ADMIN_EMAILS no longer has it');
    assert.equal(again.promoted, false);
  });

  test('emails are exact: another case or padding is another user', (t) => {
    const store = open(t);
    const a = store.recordLogin(login('boss@corp.example'));
    const b = store.recordLogin(login('Boss@corp.example'));
    const c = store.recordLogin(login(' boss@corp.example'));
    assert.equal(new Set([a.user.id, b.user.id, c.user.id]).size, 3);
    assert.equal(store.findByEmail('Boss@corp.example')?.id, b.user.id, 'exact match first');
    assert.equal(store.findByEmail('BOSS@CORP.EXAMPLE'), undefined, 'two near matches: none');
  });

  test('overrides: set keeps the value through logins, clear lets the next login refresh', (t) => {
    const store = open(t);
    const { user } = store.recordLogin(login('o@corp.example', { name: 'From DingTalk' }));
    store.setOverride(user.id, 'name', 'Chosen');
    assert.equal(
      store.recordLogin(login('o@corp.example', { name: 'New nick' })).user.name,
      'Chosen',
    );
    store.setOverride(user.id, 'name', undefined);
    assert.equal(
      store.recordLogin(login('o@corp.example', { name: 'New nick' })).user.name,
      'New nick',
    );
  });
});

describe('commands that only read open the file read-only and never migrate it', () => {
  const BOSS = '11111111-1111-4111-8111-111111111111';
  const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  test("users, mint-token and verify-token leave a previous release's file byte for byte", async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'v2.db');
    writeVersion2File(db);
    const before = digest(db);
    const env = { JWT_SECRET: SECRET, MUVEE_DINGTALK_DB: db };
    const list = await runCli(['users', 'list', '--json'], { env, cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { users: { email: string }[] }).users.map((u) => u.email).sort(),
      ['boss@corp.example', 'zs@corp.example'],
    );
    const show = await runCli(['users', 'show', 'boss@corp.example', '--json'], { env, cwd: dir });
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).role, 'admin', 'read through the migrated copy');
    const mint = await runCli(['mint-token', '--email', 'boss@corp.example'], { env, cwd: dir });
    assert.equal(mint.code, 0, mint.stderr);
    const verify = await runCli(['verify-token', mint.stdout.trim(), '--json'], { env, cwd: dir });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout).claims.uid, BOSS);

    assert.equal(digest(db), before, 'the file is unchanged');
    assert.ok(!existsSync(`${db}-wal`), 'not switched to WAL');
    const check = new Database(db, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 2);
    assert.equal(check.pragma('journal_mode', { simple: true }), 'delete');
    check.close();
  });

  // Version 3 is read as it is (the list looks users up), version 2 through a migrated copy.
  for (const version of [2, 3]) {
    test(`a version ${version} file in WAL mode (as a login left it): listed, left as it was`, async (t) => {
      const dir = tempDir(t);
      const path = join(dir, `v${version}.db`);
      const old = new Database(path);
      old.pragma('journal_mode = WAL');
      for (const migration of MIGRATIONS.slice(0, version)) old.exec(migration);
      old.pragma(`user_version = ${version}`);
      old.exec(
        version === 2
          ? `INSERT INTO users (id, email, name, role, created_at, updated_at, last_login_at)
               VALUES ('u1', 'a@corp.example', 'A', 'admin', '2026', '2026', '2027');
             INSERT INTO oauth_accounts (provider, provider_user_id, user_id)
               VALUES ('dingtalk', 'U1', 'u1');`
          : `INSERT INTO users (id, email, name, created_at) VALUES ('u1', 'a@corp.example', 'A', '2026');
             INSERT INTO platform_members (user_id, role, authorized, created_at)
               VALUES ('u1', 'admin', 1, '2026');
             INSERT INTO muvee_dingtalk_links (union_id, user_id, last_login_at)
               VALUES ('U1', 'u1', '2027');`,
      );
      old.close();
      const before = digest(path);
      for (const json of [['--json'], []]) {
        const r = await runCli(['users', 'list', '--db', path, ...json], { cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          json.length ? /"role":"admin".*"lastLoginAt":"2027"/ : /admin\s+active\s+A\s+2027/,
        );
      }
      assert.equal(digest(path), before);
    });
  }

  test('a file another user owns, in a folder this user cannot write: read all the same', async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const db = join(dir, 'team.db');
    const store = Store.open(db); // WAL, as a login leaves it
    store.recordLogin(login('zs@corp.example'));
    store.close();
    chmodSync(db, 0o644);
    const before = digest(db);
    const nobody = { uid: 65534, gid: 65534, cwd: '/tmp' };
    const env = { JWT_SECRET: SECRET, MUVEE_DINGTALK_DB: db };
    const list = await runCli(['users', 'list', '--json'], { env, ...nobody });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(
      (JSON.parse(list.stdout) as { users: { email: string }[] }).users[0]!.email,
      'zs@corp.example',
    );
    const mint = await runCli(['mint-token', '--email', 'zs@corp.example'], { env, ...nobody });
    assert.equal(mint.code, 0, mint.stderr);
    assert.equal(digest(db), before);
    assert.deepEqual(readdirSync(dir), ['team.db']);
  });
});

/** A file as the previous release (schema version 2) left it: two users, one DingTalk link. */
function writeVersion2File(path: string): void {
  const old = new Database(path);
  old.exec(MIGRATIONS[0]!);
  old.exec(MIGRATIONS[1]!);
  old.pragma('user_version = 2');
  const insert = old.prepare(
    'INSERT INTO users (id, email, name, role, created_at, updated_at, last_login_at, name_overridden) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  insert.run(
    '11111111-1111-4111-8111-111111111111',
    'boss@corp.example',
    'Boss',
    'admin',
    '2026-01-01T00:00:00.000Z',
    'x',
    '2026-02-01T00:00:00.000Z',
    1,
  );
  insert.run(
    '22222222-2222-4222-8222-222222222222',
    'zs@corp.example',
    'ZS',
    'member',
    '2026-01-02T00:00:00.000Z',
    'x',
    null,
    0,
  );
  old
    .prepare(
      "INSERT INTO oauth_accounts (provider, provider_user_id, user_id) VALUES ('dingtalk', 'U-boss', ?)",
    )
    .run('11111111-1111-4111-8111-111111111111');
  old.close();
}
