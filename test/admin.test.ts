/** The admin subcommands and `users export --sql`, in-process on a temp store. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exportSql, sqlLiteral } from '../src/store/export-sql.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { json, runCli, tempDir } from './helpers.ts';

function seeded(t: { after(fn: () => void): void }) {
  const db = join(tempDir(t), 'admin.db');
  const store = Store.open(db);
  store.recordLogin({
    email: 'zs@corp.example',
    name: 'ZS',
    avatarUrl: '',
    admin: false,
    unionId: 'U1',
  });
  store.close();
  const cli = (...args: string[]) => runCli(['--db', db, ...args]);
  return { db, cli };
}

describe('admin', () => {
  test('access-mode: default open, set, refused value', async (t) => {
    const { cli, db } = seeded(t);
    assert.equal((await cli('admin', 'access-mode')).stdout.trim(), 'open');
    const set = await cli('--json', 'admin', 'access-mode', 'request');
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(json(set), { accessMode: 'request' });
    const store = Store.open(db);
    assert.equal(store.accessMode(), 'request');
    store.close();
    const bad = await cli('admin', 'access-mode', 'closed');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /open, invite, request/);
  });

  test('invite, invitations, uninvite', async (t) => {
    const { cli } = seeded(t);
    assert.match(
      (await cli('admin', 'invite', ' Alice@Corp.example')).stdout,
      /invited alice@corp\.example/,
    );
    assert.match((await cli('admin', 'invite', 'alice@corp.example')).stdout, /invited already/);
    const list = json<{ invitations: { email: string }[] }>(
      await cli('--json', 'admin', 'invitations'),
    );
    assert.deepEqual(
      list.invitations.map((i) => i.email),
      ['alice@corp.example'],
    );
    assert.match((await cli('admin', 'uninvite', 'ALICE@corp.example')).stdout, /withdrawn/);
    assert.match((await cli('admin', 'uninvite', 'alice@corp.example')).stdout, /was not invited/);
  });

  test('approve a pending member', async (t) => {
    const { cli, db } = seeded(t);
    const store = Store.open(db);
    store.setAccessMode('request');
    const pending = store.recordLogin({
      email: 'new@corp.example',
      name: 'N',
      avatarUrl: '',
      admin: false,
      unionId: 'U2',
    });
    store.close();
    assert.equal(pending.user.authorized, false);
    const r = await cli('--json', 'admin', 'approve', 'new@corp.example');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ authorized: boolean; changed: boolean }>(r).authorized, true);
    assert.equal(
      (await cli('admin', 'approve', pending.user.id)).stdout.trim(),
      'new@corp.example was authorized already',
    );
    assert.equal((await cli('admin', 'approve', 'nobody@corp.example')).code, 2);
  });

  test('override: set, kept by a login, cleared', async (t) => {
    const { cli, db } = seeded(t);
    const r = await cli('--json', 'admin', 'override', 'zs@corp.example', '--name', 'Zhang S.');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ nameOverridden: boolean }>(r).nameOverridden, true);
    // The name a login by 'new nick' leaves.
    const nameAfterLogin = () => {
      const store = Store.open(db);
      try {
        return store.recordLogin({
          email: 'zs@corp.example',
          name: 'new nick',
          avatarUrl: '',
          admin: false,
          unionId: 'U1',
        }).user.name;
      } finally {
        store.close();
      }
    };
    assert.equal(nameAfterLogin(), 'Zhang S.');
    await cli('admin', 'override', 'zs@corp.example', '--clear-name');
    assert.equal(nameAfterLogin(), 'new nick');
    assert.equal((await cli('admin', 'override', 'zs@corp.example')).code, 2);
    assert.equal(
      (await cli('admin', 'override', 'zs@corp.example', '--name', 'x', '--clear-name')).code,
      2,
    );
  });

  test('without a database: a usage error that says how to make one', async (t) => {
    const r = await runCli([
      '--db',
      join(tempDir(t), 'none.db'),
      'admin',
      'approve',
      'a@b.example',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no database .* 'muvee-dingtalk login' creates it/);
  });
});

describe('users export --sql', () => {
  test('literals are escaped for PostgreSQL', () => {
    assert.equal(sqlLiteral("O'Brien", 'text'), "E'O''Brien'");
    // Backslashes and controls escaped: the same under standard_conforming_strings on or off.
    assert.equal(sqlLiteral("a\\'b\x1b\u202e", 'text'), "E'a\\\\''b\\x1b\\u202e'");
    assert.equal(sqlLiteral(1, 'bool'), 'true');
    assert.equal(sqlLiteral(0, 'bool'), 'false');
    assert.equal(sqlLiteral(null, 'uuid'), 'NULL');
    assert.equal(
      sqlLiteral('2026-01-01T00:00:00.000Z', 'timestamptz'),
      "E'2026-01-01T00:00:00.000Z'::timestamptz",
    );
  });

  test('one transaction of INSERTs into muvee tables, in dependency order', async (t) => {
    const { cli } = seeded(t);
    await cli('admin', 'invite', 'alice@corp.example');
    await cli('admin', 'access-mode', 'invite');
    const r = await cli('users', 'export', '--sql');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(1, 5), [
      '\\set ON_ERROR_STOP on',
      "SET client_encoding = 'UTF8';",
      'SET standard_conforming_strings = on;',
      'BEGIN;',
    ]);
    assert.equal(lines.at(-1), 'COMMIT;');
    const tables = lines
      .filter((l) => l.startsWith('INSERT'))
      .map((l) => /^INSERT INTO (\w+)/.exec(l)![1]);
    assert.deepEqual(tables, ['users', 'platform_members', 'invitations', 'system_settings']);
    assert.match(
      r.stdout,
      /INSERT INTO users \(id, email, name, avatar_url, role, created_at, authorized, name_overridden, avatar_overridden\) VALUES \(E'[0-9a-f-]{36}'::uuid, E'zs@corp\.example', E'ZS', E'', E'member', E'[^']+'::timestamptz, true, false, false\);/,
    );
    assert.doesNotMatch(r.stdout, /muvee_dingtalk_links/);
    assert.equal((await cli('users', 'export')).code, 2);
  });

  test('exportSql of an empty store is an empty transaction', () => {
    assert.equal(
      exportSql({ users: [], platformMembers: [], invitations: [], systemSettings: [] })
        .split('\n')
        .slice(4)
        .join('\n'),
      'BEGIN;\nCOMMIT;\n',
    );
  });
});
