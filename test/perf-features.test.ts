/**
 * What issue 13 added for speed, tested for behaviour only (the figures are bench/'s):
 * `users list` streamed with --limit/--offset (JSON one valid document, the table aligned),
 * `verify-token --each` (one JSON line per token, the exit code), the bin's commander-free
 * verify-token (same answers as the program), and the emulator's sweeping of expired codes
 * and access tokens.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startEmulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { displayWidth } from '../src/cli/output.ts';
import { fastVerifyTokenArgs } from '../src/runtime/fast-verify-token.ts';
import { mintSessionToken } from '../src/muvee/session.ts';
import { safe } from '../src/cli/sanitize.ts';
import { Database } from '../src/store/sqlite/binding.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { columns, releaser } from '../src/commands/users.ts';
import { baseEnv, BIN, http, ROOT, runBin, runCli, SECRET, tempDir } from './helpers.ts';
import type { StoredUser } from '../src/muvee/model.ts';

const TRACER = join(ROOT, 'test/fixtures/trace-loads.cjs');

const START = Date.UTC(2025, 0, 1);

/** A store with `count` users made by logins one second apart; returns its path and users. */
function storeWith(dir: string, count: number, name = (i: number) => `User ${i}`) {
  const db = join(dir, 'users.db');
  const store = Store.open(db);
  try {
    for (let i = 0; i < count; i++) {
      store.recordLogin({
        email: `user${String(i).padStart(4, '0')}@corp.example`,
        name: name(i),
        avatarUrl: '',
        admin: i === 0,
        unionId: `union-${i}`,
        now: new Date(START + i * 1000),
      });
    }
    return { db, users: store.list() };
  } finally {
    store.close();
  }
}

describe('users list', () => {
  test('--json is one valid document with every user, equal to the stored ones', async (t) => {
    const dir = tempDir(t);
    // Enough users for several 64 KiB chunks; names with quotes, CJK, a newline and an escape.
    const odd = ['say "hi"', '张三', 'line\nbreak', 'esc\u001b[2J', 'back\\slash'];
    const { db, users } = storeWith(dir, 400, (i) => odd[i % odd.length]!);
    const r = await runCli(['users', 'list', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 65_536, 'the output spans several chunks');
    assert.deepEqual(JSON.parse(r.stdout), { users: JSON.parse(JSON.stringify(users)) });
  });

  // Issue 22: the bin exits as soon as a command is over; output a full non-blocking pipe still
  // holds must all be written first (fd.ts queues it in a stream then).
  /** The bin's stdout, a non-blocking pipe read only once it has been full for a while. */
  async function throughFullPipe(dir: string, args: string[], stdin = '') {
    const fifo = join(dir, 'out.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // O_RDWR: opening does not wait for a reader; O_NONBLOCK: a full pipe is EAGAIN.
    const writeEnd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const nonBlocking = join(ROOT, 'test/fixtures/nonblocking-stdout.cjs');
    const child = spawn(process.execPath, ['-r', nonBlocking, BIN, ...args], {
      cwd: dir,
      env: baseEnv({ JWT_SECRET: SECRET }),
      stdio: ['pipe', writeEnd, 'pipe'],
    });
    child.stdin!.end(stdin);
    closeSync(writeEnd);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(65_536);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      let n: number;
      try {
        n = readSync(readEnd, buffer);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    const code = await exited;
    closeSync(readEnd);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.ok(text.length > 2 * 65_536, 'the pipe was filled more than once');
    return { code, text };
  }

  test('the bin exits at once, yet a full non-blocking stdout gets every byte', async (t) => {
    const dir = tempDir(t);
    const { db, users } = storeWith(dir, 600);
    const { code, text } = await throughFullPipe(dir, ['users', 'list', '--json', '--db', db]);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(text), { users: JSON.parse(JSON.stringify(users)) });
  });

  test('verify-token (its commander-free path) exits at once too, after every line', async (t) => {
    const dir = tempDir(t);
    const tokens = Array.from(
      { length: 3000 },
      (_, i) =>
        mintSessionToken(
          {
            uid: `7d0f8a4e-8a53-4a8e-9f3c-${String(i).padStart(12, '0')}`,
            email: `u${i}@corp.example`,
            role: 'member',
          },
          SECRET,
        ).token,
    );
    const { code, text } = await throughFullPipe(
      dir,
      ['verify-token', '--each', '--json', '-'],
      `${tokens.join('\n')}\n`,
    );
    assert.equal(code, 0);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, tokens.length);
    assert.ok(lines.every((l) => (JSON.parse(l) as { valid: boolean }).valid));
  });

  test('--limit and --offset page through the users in creation order', async (t) => {
    const dir = tempDir(t);
    const { db, users } = storeWith(dir, 7);
    const page = async (...args: string[]) => {
      const r = await runCli(['users', 'list', '--json', '--db', db, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { users: { email: string }[] }).users.map((u) => u.email);
    };
    const emails = users.map((u) => u.email);
    assert.deepEqual(await page('--limit', '3'), emails.slice(0, 3));
    assert.deepEqual(await page('--limit', '3', '--offset', '3'), emails.slice(3, 6));
    assert.deepEqual(await page('--offset', '5'), emails.slice(5));
    assert.deepEqual(await page('--offset', '50'), []);
    assert.deepEqual(await page('--limit', '0'), []);

    const human = await runCli(['users', 'list', '--db', db, '--limit', '2', '--offset', '1']);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^EMAIL\s+ROLE\s+STATUS\s+NAME\s+LAST LOGIN\s+ID$/);
    assert.ok(lines[1]!.startsWith(emails[1]!) && lines[2]!.startsWith(emails[2]!));

    const past = await runCli(['users', 'list', '--db', db, '--offset', '9']);
    assert.equal(past.code, 0);
    assert.equal(past.stdout, '');
    assert.match(past.stderr, /past the first 9/);

    for (const bad of [
      ['--limit', '-1'],
      ['--limit', 'x'],
      ['--offset', '1.5'],
    ]) {
      const r = await runCli(['users', 'list', '--db', db, ...bad]);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    }
  });

  test('the table stays aligned with wide names and escapes control characters', async (t) => {
    const dir = tempDir(t);
    const names = ['张三丰', 'Amy', 'bell\u0007', 'عربي', '李四'];
    const { db, users } = storeWith(dir, 5, (i) => names[i]!);
    const r = await runCli(['users', 'list', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('\u0007'), 'the control character is shown escaped');
    assert.ok(r.stdout.includes('bell\\x07'));
    const lines = r.stdout.trimEnd().split('\n');
    // Every row's id starts at the same display column as the header's ID.
    const column = (line: string, text: string) => displayWidth(line.slice(0, line.indexOf(text)));
    const idColumn = column(lines[0]!, 'ID');
    users.forEach((user, i) => assert.equal(column(lines[i + 1]!, user.id), idColumn));
  });

  test('batches: pages across batch edges, equal created_at ordered by email', async (t) => {
    const dir = tempDir(t);
    // 1,203 users (three batches of 500 and a bit), three at each second, inserted in reverse
    // email order so the order cannot come from insertion.
    const db = join(dir, 'users.db');
    const store = Store.open(db);
    const count = 1203;
    for (let i = 0; i < count; i++) {
      store.recordLogin({
        email: `user${String(count - i).padStart(4, '0')}@corp.example`,
        name: i % 2 ? `User ${i}` : `张三${i}`,
        avatarUrl: '',
        admin: false,
        unionId: i % 4 ? `union-${i}` : undefined,
        now: new Date(START + Math.floor(i / 3) * 1000),
      });
    }
    const users = store.list();
    store.close();
    const emails = users.map((u) => u.email);
    assert.equal(emails[0], 'user1201@corp.example', 'the first second: three users by email');
    const json = async (...args: string[]) => {
      const r = await runCli(['users', 'list', '--json', '--db', db, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { users: { email: string }[] }).users.map((u) => u.email);
    };
    for (const offset of [0, 1, 499, 500, 501, 1000, 1202, 1203, 1300]) {
      assert.deepEqual(await json('--offset', String(offset)), emails.slice(offset), `${offset}`);
      for (const limit of [1, 499, 500, 501, 1000]) {
        assert.deepEqual(
          await json('--offset', String(offset), '--limit', String(limit)),
          emails.slice(offset, offset + limit),
          `--offset ${offset} --limit ${limit}`,
        );
      }
    }
    // The whole list through the bin (bytes straight to stdout) and in-process (strings).
    for (const run of [runCli, runBin]) {
      const r = await run(['users', 'list', '--json', '--db', db]);
      assert.deepEqual(JSON.parse(r.stdout), { users: JSON.parse(JSON.stringify(users)) });
      const table = await run(['users', 'list', '--db', db]);
      assert.equal(table.stdout, expectedTable(users));
    }
    const page = await runCli(['users', 'list', '--db', db, '--offset', '499', '--limit', '502']);
    assert.equal(page.stdout, expectedTable(users.slice(499, 1001)));
  });

  // A control character in a value of one byte a character is measured the exact way: each
  // kind alone, so each detection is tested.
  const oneByte: Record<string, string> = {
    'multi-byte only': '',
    'a control character': `UPDATE users SET name = 'bell' || char(7) WHERE email = 'user0006@corp.example'`,
    DEL: `UPDATE users SET email = 'del' || char(127) || '@corp.example' WHERE email = 'user0007@corp.example'`,
    'quote and backslash (no control)': `UPDATE muvee_dingtalk_links SET last_login_at = 'say "hi" \\' WHERE union_id = 'union-0'`,
  };
  for (const [hostile, sql] of Object.entries(oneByte)) {
    test(`hostile stored text (${hostile}): shown escaped, the table aligned, the JSON valid`, async (t) => {
      const dir = tempDir(t);
      const names = ['张三丰', 'Amy', 'عربي', '李\u202e四', 'tab\u0085c1', 'zero\u200fwidth'];
      const { db } = storeWith(dir, 8, (i) => names[i % names.length]!);
      const raw = new Database(db);
      raw.pragma('ignore_check_constraints = ON');
      // Not UTF-8 (SQLite does not check); an odd role; an id ending in spaces.
      raw.exec(`UPDATE users SET name = CAST(x'41ff42c328e4b8' AS TEXT) WHERE email = 'user0001@corp.example';
        UPDATE users SET avatar_url = CAST(x'9b3231' AS TEXT) WHERE email = 'user0002@corp.example';
        UPDATE platform_members SET role = 'root' || char(27) || '[31m'
          WHERE user_id = (SELECT id FROM users WHERE email = 'user0003@corp.example');
        UPDATE muvee_dingtalk_links SET last_login_at = '2025' || char(8239) || 'x'
          WHERE union_id = 'union-4';`);
      raw.pragma('foreign_keys = OFF');
      raw.exec(`UPDATE users SET id = 'short  ' WHERE email = 'user0005@corp.example'`);
      if (sql) raw.exec(sql);
      raw.close();
      const users = Store.openExisting(db)!.list();
      for (const run of [runCli, runBin]) {
        const r = await run(['users', 'list', '--db', db]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u200f\u202e]/);
        assert.equal(r.stdout, expectedTable(users));
        const j = await run(['users', 'list', '--json', '--db', db]);
        assert.equal(j.code, 0, j.stderr);
        assert.deepEqual(JSON.parse(j.stdout), { users: JSON.parse(JSON.stringify(users)) });
      }
      for (const json of [[], ['--json']]) {
        // The bytes themselves (runBin's text would hide bytes that are not UTF-8).
        const r = spawnSync(process.execPath, [BIN, 'users', 'list', '--db', db, ...json]);
        assert.equal(r.status, 0, String(r.stderr));
        assert.ok(isUtf8(r.stdout), `users list ${json.join('')}: UTF-8 out`);
      }
      const shown = (await runCli(['users', 'list', '--db', db])).stdout;
      assert.ok(shown.includes('A\ufffdB\ufffd('), 'bytes that are not UTF-8 shown as U+FFFD');
      assert.ok(shown.includes('root\\x1b[31m'), 'an odd role is sanitised too');
      if (hostile === 'a control character') assert.ok(shown.includes('bell\\x07'));
      if (hostile === 'DEL') assert.ok(shown.includes('del\\x7f@'));
    });
  }

  const without: Record<string, string> = {
    'the (created_at, email) index: row by row': 'DROP INDEX users_created_at_email',
    "the list's own table: looked up": 'DROP TABLE muvee_dingtalk_users_list',
  };
  for (const [what, sql] of Object.entries(without)) {
    test(`a file without ${what}, the same list`, async (t) => {
      const dir = tempDir(t);
      const { db, users } = storeWith(dir, 12, (i) => (i % 2 ? `User ${i}` : `张三${i}`));
      const raw = new Database(db);
      raw.exec(sql);
      raw.close();
      const table = await runCli(['users', 'list', '--db', db]);
      assert.equal(table.stdout, expectedTable(users));
      const json = await runCli(['users', 'list', '--json', '--db', db]);
      assert.deepEqual(JSON.parse(json.stdout), { users: JSON.parse(JSON.stringify(users)) });
      const args = ['users', 'list', '--json', '--db', db, '--offset', '3', '--limit', '5'];
      assert.deepEqual(JSON.parse((await runCli(args)).stdout), {
        users: JSON.parse(JSON.stringify(users.slice(3, 8))),
      });
      const page = await runCli(['users', 'list', '--db', db, '--offset', '2', '--limit', '4']);
      assert.equal(page.stdout, expectedTable(users.slice(2, 6)));
    });
  }

  test('columns() is displayWidth, one character at a time', () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      assert.equal(columns(ch), displayWidth(ch), `U+${c.toString(16)}`);
    }
    for (const text of [
      '',
      'abc',
      '张三 Amy',
      '𠀀 wide astral',
      '😀 emoji',
      'lone \ud800 high',
      'x\udc00',
    ]) {
      assert.equal(columns(text), displayWidth(text), text);
    }
  });

  test('a written chunk is freed at once where ArrayBuffer transfer exists (Node ≥ 22)', () => {
    const release = releaser();
    const chunk = Buffer.alloc(1 << 16, 0x61);
    release(chunk);
    const transfer = 'transfer' in ArrayBuffer.prototype;
    assert.equal(chunk.buffer.byteLength, transfer ? 0 : 1 << 16);
    const pooled = Buffer.from('abc'); // a slice of Node's shared pool: never detached
    release(pooled);
    assert.equal(pooled.toString(), 'abc');
  });

  test('no database: an empty JSON list, a hint for humans', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'none.db');
    const j = await runCli(['users', 'list', '--json', '--db', db]);
    assert.equal(j.code, 0);
    assert.deepEqual(JSON.parse(j.stdout), { users: [] });
    const h = await runCli(['users', 'list', '--db', db]);
    assert.equal(h.code, 0);
    assert.match(h.stderr, /no database/);
  });
});

/**
 * `users list`'s table as output.ts `columns` lays it out (every value sanitised, padded by
 * display width; ROLE and STATUS as wide as 'member' and 'pending'): what the SQLite-built
 * table must equal, byte for byte.
 */
function expectedTable(users: StoredUser[]): string {
  const head = ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'LAST LOGIN', 'ID'];
  const rows = users.map((u) => [
    safe(u.email),
    safe(u.role),
    u.authorized ? 'active' : 'pending',
    safe(u.name),
    u.lastLoginAt === null ? '—' : safe(u.lastLoginAt),
    safe(u.id),
  ]);
  const widest = (i: number) => Math.max(head[i]!.length, ...rows.map((r) => displayWidth(r[i]!)));
  const widths = [widest(0), 'member'.length, 'pending'.length, widest(3), widest(4), 0];
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - displayWidth(c))))
      .join('  ')
      .trimEnd();
  return [head, ...rows].map((r) => `${line(r)}\n`).join('');
}

describe('verify-token --each', () => {
  const env = { JWT_SECRET: SECRET };
  const good = (email: string) =>
    mintSessionToken({ uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email, role: 'member' }, SECRET)
      .token;
  const forged = (() => {
    const [h, p] = good('a@corp.example').split('.');
    return `${h}.${p}.${createHmac('sha256', 'not-the-secret').update(`${h}.${p}`).digest('base64url')}`;
  })();

  const lines = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; valid: boolean; reason?: string });

  for (const [how, run] of [
    ['in-process', runCli],
    ['the bin', runBin],
  ] as const) {
    test(`a valid/invalid mix: one JSON line per token, exit 5 (${how})`, async (t) => {
      const cwd = tempDir(t);
      const input = [
        good('a@corp.example'),
        '',
        forged,
        `muvee_session=${good('b@corp.example')}; theme=dark`,
        'not-a-token',
        'x=y',
      ].join('\n');
      const r = await run(['verify-token', '--each', '-'], { env, cwd, input });
      assert.equal(r.code, 5, r.stderr);
      assert.deepEqual(
        lines(r.stdout).map(({ line, valid, reason }) => [line, valid, reason]),
        [
          [1, true, undefined],
          [3, false, 'bad-signature'],
          [4, true, undefined],
          [5, false, 'malformed'],
          [6, false, 'malformed'],
        ],
      );
      assert.match(r.stderr, /5 tokens: 2 valid, 3 rejected/);
    });
  }

  test('all valid is exit 0; --json changes nothing; the DB is looked up', async (t) => {
    const cwd = tempDir(t);
    const { db, users } = storeWith(cwd, 2);
    const tokens = users.map(
      (u) => mintSessionToken({ uid: u.id, email: u.email, role: 'member' }, SECRET).token,
    );
    tokens.push(good('nobody@corp.example'));
    const r = await runCli(['verify-token', '--each', '--json', '--db', db], {
      env,
      cwd,
      input: `${tokens.join('\r\n')}\r\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { valid: boolean; userInDb: boolean; roleMatches?: boolean });
    assert.equal(out.length, 3);
    assert.ok(out.every((o) => o.valid));
    assert.deepEqual(
      out.map((o) => [o.userInDb, o.roleMatches]),
      [
        [true, false], // the first user is an admin (ADMIN via the login), the token says member
        [true, true],
        [false, undefined],
      ],
    );
  });

  test(
    'a long input also goes to a worker thread: the same lines in the same order, the same exit',
    { skip: availableParallelism() < 2 ? 'one core: no worker thread' : false },
    async (t) => {
      const cwd = tempDir(t);
      const { db, users } = storeWith(cwd, 2);
      // Enough lines for several batches on both threads; every kind of line, in a pattern.
      const kinds = [
        (i: number) =>
          mintSessionToken(
            { uid: users[i % 2]!.id, email: `u${i}@corp.example`, role: 'member' },
            SECRET,
          ).token,
        () => '',
        () => forged,
        (i: number) => `muvee_session=${good(`c${i}@corp.example`)}; theme=dark`,
        () => 'x=y',
        () => 'not-a-token',
        (i: number) => ` ${good(`s${i}@corp.example`)}\r`,
      ];
      const input = Array.from({ length: 15000 }, (_, i) => kinds[i % kinds.length]!(i)).join('\n');
      const args = ['verify-token', '--each', '-', '--db', db];
      const one = await runCli(args, { env, cwd, input });
      const traceFile = join(cwd, 'trace.txt');
      writeFileSync(traceFile, '');
      const bin = spawnSync(process.execPath, ['-r', TRACER, '--', BIN, ...args], {
        cwd,
        env: baseEnv({ ...env, TRACE_FILE: traceFile }),
        input,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.ok(
        readFileSync(traceFile, 'utf8')
          .split('\n')
          .some((file) => file.startsWith('worker:')),
        'a worker thread was started',
      );
      assert.equal(bin.status, 5, bin.stderr);
      assert.equal(one.code, 5);
      assert.equal(bin.stderr, one.stderr);
      assert.match(bin.stderr, /12857 tokens: 6428 valid, 6429 rejected/);
      // Times in the verdicts are the tokens' own, so the two runs agree byte for byte.
      assert.equal(bin.stdout, one.stdout);
    },
  );

  test('an input of 10,000 tokens never waits for a worker thread to start (issue 19)', (t) => {
    const cwd = tempDir(t);
    const token = mintSessionToken(
      { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@corp.example', role: 'member' },
      SECRET,
    ).token;
    const traceFile = join(cwd, 'trace.txt');
    writeFileSync(traceFile, '');
    const bin = spawnSync(
      process.execPath,
      ['-r', TRACER, '--', BIN, 'verify-token', '--each', '-'],
      {
        cwd,
        env: baseEnv({ ...env, TRACE_FILE: traceFile }),
        input: `${Array(10_000).fill(token).join('\n')}\n`,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.equal(bin.status, 0, bin.stderr);
    assert.match(bin.stderr, /10000 tokens: 10000 valid/);
    const loaded = readFileSync(traceFile, 'utf8').split('\n');
    assert.deepEqual(
      loaded.filter((file) => file.startsWith('worker:')),
      [],
      'no worker thread started',
    );
  });

  test('no tokens is a usage error; --each takes only stdin', async (t) => {
    const cwd = tempDir(t);
    const empty = await runCli(['verify-token', '--each', '-'], { env, cwd, input: '\n\n' });
    assert.equal(empty.code, 2);
    const named = await runCli(['verify-token', '--each', good('a@corp.example')], { env, cwd });
    assert.equal(named.code, 2);
  });
});

describe("the bin's verify-token without commander", () => {
  test('reads the plain forms and leaves everything else to commander', () => {
    assert.deepEqual(fastVerifyTokenArgs(['verify-token', 'a.b.c']), {
      globals: { json: false, color: true },
      token: 'a.b.c',
      options: { leeway: 0 },
    });
    assert.deepEqual(
      fastVerifyTokenArgs([
        '--db',
        'x.db',
        '--json',
        'verify-token',
        '--leeway',
        '30',
        '--no-color',
        '--env-file',
        'e',
        '--each',
      ]),
      {
        globals: { json: true, color: false, db: 'x.db', envFile: 'e' },
        token: '-',
        options: { leeway: 30, each: true },
      },
    );
    assert.deepEqual(fastVerifyTokenArgs(['verify-token', '--decode', 'a.b.c']), {
      globals: { json: false, color: true },
      token: 'a.b.c',
      options: { leeway: 0, decode: true },
    });
    for (const args of [
      ['verify-token', '--help'],
      ['verify-token', '-h'],
      ['verify-token', '--leeway=5', 't'],
      ['verify-token', '--leeway', 'abc', 't'],
      ['verify-token', '--leeway'],
      ['verify-token', 'a', 'b'],
      ['verify-token', '--', 't'],
      ['verify-token', '--bogus'],
      ['--leeway', '5', 'verify-token'],
      ['--db', '--json', 'verify-token'],
      ['help', 'verify-token'],
      ['mint-token'],
    ]) {
      assert.equal(fastVerifyTokenArgs(args), undefined, args.join(' '));
    }
  });

  test('the bin answers exactly as the program does', async (t) => {
    const cwd = tempDir(t);
    const { db, users } = storeWith(cwd, 1);
    const token = mintSessionToken(
      { uid: users[0]!.id, email: 'x@corp.example', role: 'admin' },
      SECRET,
    ).token;
    const cases: [string[], string?][] = [
      [['verify-token', token]],
      [['--json', 'verify-token', token, '--db', db]],
      [['verify-token', '--leeway', '30', token, '--db', db]],
      [['verify-token', 'not.a.token', '--json']],
      [['verify-token', '--json'], `muvee_session=${token}`],
      [['verify-token', '-'], ''],
      [['verify-token', '--leeway', 'abc', token]],
      [['verify-token', '--json', '--env-file', join(cwd, 'missing.env'), token]],
      [['verify-token', '--decode', token]],
      [['--json', 'verify-token', '--decode', '-'], `muvee_session=${token}`],
      [['verify-token', '--decode', 'a.b']],
    ];
    for (const [args, input] of cases) {
      const options = { env: { JWT_SECRET: SECRET, NO_COLOR: '1' }, cwd, input };
      const [bin, program] = await Promise.all([runBin(args, options), runCli(args, options)]);
      const label = args.join(' ');
      assert.equal(bin.code, program.code, `${label}: ${bin.stderr} / ${program.stderr}`);
      // Times in the human output may tick between the two runs (--decode's '(in 7d)' too).
      const steady = (text: string) =>
        text.replace(/\((expires in [^)]*|expired [^)]*|in [^)]*|[^)]* ago)\)/g, '(…)');
      assert.equal(steady(bin.stdout), steady(program.stdout), label);
      assert.equal(steady(bin.stderr), steady(program.stderr), label);
    }
    const missing = await runBin(['verify-token', token], { cwd });
    assert.equal(missing.code, 2, 'no JWT_SECRET: the error printer runs');
    assert.match(missing.stderr, /JWT_SECRET is not set/);
    const decoded = await runBin(['verify-token', '--decode', token], { cwd });
    assert.equal(decoded.code, 0, 'no JWT_SECRET needed to decode');
    assert.match(decoded.stdout, /UNVERIFIED/);
  });
});

describe('emulator sweeping', () => {
  const redirect = 'http://127.0.0.1:1/auth/dingtalk/callback';
  const authorize = async (url: string) => {
    const query = new URLSearchParams({
      client_id: EMULATOR_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      prompt: 'consent',
      state: 's',
      redirect_uri: redirect,
    });
    const r = await http(`${url}/oauth2/auth?${query}`);
    return new URL(String(r.headers.location)).searchParams.get('code')!;
  };
  const exchange = async (url: string, code: string) => {
    const r = await http(`${url}/v1.0/oauth2/userAccessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: EMULATOR_CLIENT_ID,
        clientSecret: EMULATOR_CLIENT_SECRET,
        code,
        grantType: 'authorization_code',
      }),
    });
    return JSON.parse(r.body) as { accessToken?: string; code?: string };
  };
  const me = async (url: string, token: string) =>
    (
      await http(`${url}/v1.0/contact/users/me`, {
        headers: { 'x-acs-dingtalk-access-token': token },
      })
    ).status;

  test('expired codes are dropped and no token is held; live ones work; a code is single-use', async () => {
    const emu = await startEmulator({
      autoApprove: 'zhangsan',
      codeTtlMs: 300,
      accessTokenTtlMs: 300,
    });
    try {
      emu.registerRedirectUri(redirect);
      const abandoned = await authorize(emu.url);
      const first = await exchange(emu.url, await authorize(emu.url));
      assert.ok(first.accessToken);
      const none = { spentRefreshTokens: 0 }; // tokens carry their grant: nothing held per token
      assert.deepEqual(emu.held(), { codes: 1, ...none }, 'a spent code is dropped');

      await new Promise((r) => setTimeout(r, 1100));
      const live = await authorize(emu.url); // sweeps: the abandoned code has expired
      assert.deepEqual(emu.held(), { codes: 1, ...none });
      assert.equal((await exchange(emu.url, abandoned)).code, 'invalidParameter.authCode.notFound');
      assert.equal(await me(emu.url, first.accessToken), 400, 'an expired token is refused');

      const second = await exchange(emu.url, live);
      assert.ok(second.accessToken, 'the live code still works');
      assert.equal(await me(emu.url, second.accessToken), 200);
      assert.equal((await exchange(emu.url, live)).code, 'invalidParameter.authCode.notFound');
      assert.deepEqual(emu.held(), { codes: 0, ...none });
    } finally {
      await emu.close();
    }
  });
});
