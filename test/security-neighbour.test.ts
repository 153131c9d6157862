/**
 * Issue 20, H1: a hostile neighbour who can write the database's folder (a shared, sticky
 * `/tmp`-style folder) plants `<db>-wal` (or `-shm`) beside the victim's 0600 file. The
 * decision (docs/security.md): such a file, owned by another user than the database's owner
 * and ours, or writable by others, is refused before SQLite reads anything: every command
 * exits 2 naming it, shows none of the planted rows, and the file stays as it was.
 *
 * The planted WAL is real: a copy of the victim's file, changed through a connection that keeps
 * its WAL (an admin `mallory`), the WAL copied beside the victim's file while still open.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { Database } from '../src/store/sqlite/binding.ts';
import { runCli, SECRET, tempDir } from './helpers.ts';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** The victim's DB in a 1777 folder, and a WAL that would replace zhangsan by mallory. */
async function plantedWal(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const db = join(shared, 'team.db');
  const login = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', db], {
    env: { JWT_SECRET: SECRET },
    cwd: dir,
  });
  assert.equal(login.code, 0, login.stderr);
  const own = join(dir, 'mallory.db');
  copyFileSync(db, own);
  const mallory = new Database(own);
  mallory.pragma('journal_mode = WAL');
  mallory.pragma('wal_autocheckpoint = 0');
  mallory.prepare("UPDATE users SET email = 'mallory@evil.example', name = 'mallory'").run();
  mallory.prepare("UPDATE platform_members SET role = 'admin'").run();
  copyFileSync(`${own}-wal`, `${db}-wal`);
  mallory.close();
  return { dir, db, before: readFileSync(db) };
}

describe('a planted -wal never replaces the database (issue 20 H1)', () => {
  test(
    'another user owns it: users list/show/export, admin, mint-token refuse with exit 2; login too, before the browser',
    { skip: asRoot ? false : 'needs root to give the planted file to another user (uid 65534)' },
    async (t) => {
      const { dir, db, before } = await plantedWal(t);
      chownSync(`${db}-wal`, NOBODY, NOBODY);
      for (const args of [
        ['users', 'list'],
        ['users', 'list', '--json'],
        ['users', 'show', 'mallory@evil.example'],
        ['users', 'export', '--sql'],
        ['admin', 'invitations'],
        ['admin', 'access-mode', 'request'],
        ['mint-token', '--email', 'mallory@evil.example'],
        ['login', '--emulator', '--auto-approve'],
      ]) {
        const r = await runCli([...args, '--db', db], { env: { JWT_SECRET: SECRET }, cwd: dir });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /team\.db-wal' beside it belongs to another user \(uid 65534\)/);
        assert.doesNotMatch(r.stdout, /mallory/);
      }
      assert.deepEqual(readFileSync(db), before, 'the file was left as it was');
    },
  );

  test('a planted -wal writable by others is refused the same way', async (t) => {
    const { dir, db } = await plantedWal(t);
    chmodSync(`${db}-wal`, 0o666);
    const r = await runCli(['users', 'list', '--db', db], { cwd: dir });
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /writable by other users/);
    assert.doesNotMatch(r.stdout, /mallory/);
  });

  test('verify-token keeps its verdict and reports the refused database', async (t) => {
    const { dir, db } = await plantedWal(t);
    chmodSync(`${db}-wal`, 0o666);
    const token = jwt.sign(
      { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@b.example', role: 'member' },
      SECRET,
      { expiresIn: '1h' },
    );
    const r = await runCli(['verify-token', token, '--json', '--db', db], {
      env: { JWT_SECRET: SECRET },
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { valid: boolean; userInDb: unknown };
    assert.equal(doc.valid, true);
    assert.equal(doc.userInDb, null);
  });

  test("our own WAL (a crash left it) is still read: the store's own file is not refused", async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'team.db');
    const login = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', db], {
      env: { JWT_SECRET: SECRET },
      cwd: dir,
    });
    assert.equal(login.code, 0, login.stderr);
    const open = new Database(db);
    open.pragma('wal_autocheckpoint = 0');
    open.prepare("UPDATE users SET name = 'renamed'").run();
    copyFileSync(db, join(dir, 'copy.db'));
    copyFileSync(`${db}-wal`, join(dir, 'copy.db-wal'));
    chmodSync(join(dir, 'copy.db-wal'), 0o600);
    open.close();
    const r = await runCli(['users', 'list', '--db', join(dir, 'copy.db')], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /renamed/);
  });
});
