import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION, Store } from '../src/store.ts';
import { ROOT, tempDir } from './helpers.ts';

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
    Store.open(path).close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const db = new Database(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
      .all();
    assert.deepEqual(
      tables.map((r) => (r as { name: string }).name),
      ['oauth_accounts', 'users'],
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
    assert.equal(count('SELECT count(*) n FROM oauth_accounts'), workers * (each / 2) + 20);
    assert.equal(count("SELECT count(*) n FROM users WHERE role = 'admin'"), 1);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  });
});
