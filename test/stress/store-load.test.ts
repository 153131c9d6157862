/**
 * The store under load: 8 processes × 200 logins at once on one file, and writers killed
 * with SIGKILL at random moments. `npm run test:stress`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Database } from '../../src/store/sqlite/binding.ts';
import { ROOT, tempDir } from '../helpers.ts';

const WRITER = join(ROOT, 'test/fixtures/login-writer.ts');

function writer(db: string, id: number, count: number | 'forever') {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WRITER, db, String(id), String(count)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const writing = new Promise<void>((resolve) => {
    const check = () => (stdout.includes('writing') ? resolve() : setTimeout(check, 5));
    check();
  });
  return { child, done, writing };
}

test('8 processes × 200 logins at once: no SQLITE_BUSY, exact rows and roles', async (t) => {
  const db = join(tempDir(t), 'load.db');
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => writer(db, i, 200).done));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /SQLITE_BUSY|locked/);
  }
  const d = new Database(db, { readonly: true });
  const count = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
  // Each worker: 100 own users; all workers share 20 users.
  assert.equal(count('SELECT count(*) n FROM users'), 8 * 100 + 20);
  assert.equal(count('SELECT count(*) n FROM muvee_dingtalk_links'), 8 * 100 + 20);
  assert.equal(count("SELECT count(*) n FROM platform_members WHERE role = 'admin'"), 1);
  assert.equal(
    count(
      "SELECT count(*) n FROM users u JOIN platform_members m ON m.user_id = u.id WHERE u.email = 'shared0@corp.example' AND m.role = 'admin'",
    ),
    1,
  );
  assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
  d.close();
  process.stderr.write(
    `store load: 8 processes × 200 logins = 1600 upserts, 820 rows, ${Date.now() - started} ms\n`,
  );
});

test('writers killed with SIGKILL mid-write leave a sound file and no partial login', async (t) => {
  const db = join(tempDir(t), 'kill.db');
  let kills = 0;
  for (let round = 0; round < 12; round++) {
    const pair = [writer(db, round * 2, 'forever'), writer(db, round * 2 + 1, 'forever')];
    await Promise.all(pair.map((w) => w.writing));
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
    for (const w of pair) w.child.kill('SIGKILL');
    for (const w of pair) assert.equal((await w.done).signal, 'SIGKILL');
    kills += 2;
  }
  const d = new Database(db);
  assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
  const count = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
  const users = count('SELECT count(*) n FROM users');
  assert.ok(users > 0);
  // One transaction per login: a user never exists without its DingTalk link, nor the reverse.
  assert.equal(
    count(
      'SELECT count(*) n FROM users u WHERE NOT EXISTS (SELECT 1 FROM muvee_dingtalk_links o WHERE o.user_id = u.id)',
    ),
    0,
  );
  assert.equal(
    count(
      'SELECT count(*) n FROM muvee_dingtalk_links o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)',
    ),
    0,
  );
  d.close();
  process.stderr.write(
    `store kill: ${kills} writers killed, ${users} users, integrity ok, no partial login\n`,
  );
});
