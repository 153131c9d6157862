/**
 * What issue 13 added for speed, tested for behaviour only (the figures are bench/'s):
 * `users list` streamed with --limit/--offset (JSON one valid document, the table aligned),
 * `verify-token --each` (one JSON line per token, the exit code), the bin's commander-free
 * verify-token (same answers as the program), and the emulator's sweeping of expired codes
 * and access tokens.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startEmulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { displayWidth } from '../src/output.ts';
import { fastVerifyTokenArgs } from '../src/runtime/fast-verify-token.ts';
import { mintSessionToken } from '../src/session.ts';
import { Store } from '../src/store.ts';
import { baseEnv, BIN, http, ROOT, runBin, runCli, SECRET, tempDir } from './helpers.ts';

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
      const input = Array.from({ length: 9000 }, (_, i) => kinds[i % kinds.length]!(i)).join('\n');
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
          .some((file) => file.endsWith('/dist/runtime/token-worker.cjs')),
        'a worker thread was started',
      );
      assert.equal(bin.status, 5, bin.stderr);
      assert.equal(one.code, 5);
      assert.equal(bin.stderr, one.stderr);
      assert.match(bin.stderr, /7714 tokens: 3857 valid, 3857 rejected/);
      // Times in the verdicts are the tokens' own, so the two runs agree byte for byte.
      assert.equal(bin.stdout, one.stdout);
    },
  );

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
      // Times in the human output may tick between the two runs.
      const steady = (text: string) =>
        text.replace(/\((expires in [^)]*|expired [^)]*|[^)]* ago)\)/g, '(…)');
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

  test('expired codes and access tokens are dropped; live ones work; a code is single-use', async () => {
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
      assert.deepEqual(emu.held(), { codes: 1, accessTokens: 1 }, 'a spent code is dropped');

      await new Promise((r) => setTimeout(r, 1100));
      const live = await authorize(emu.url); // sweeps: the abandoned code has expired
      assert.deepEqual(emu.held(), { codes: 1, accessTokens: 0 });
      assert.equal((await exchange(emu.url, abandoned)).code, 'invalidParameter.authCode.notFound');
      assert.equal(await me(emu.url, first.accessToken), 400, 'an expired token is refused');

      const second = await exchange(emu.url, live);
      assert.ok(second.accessToken, 'the live code still works');
      assert.equal(await me(emu.url, second.accessToken), 200);
      assert.equal((await exchange(emu.url, live)).code, 'invalidParameter.authCode.notFound');
      assert.deepEqual(emu.held(), { codes: 0, accessTokens: 1 });
    } finally {
      await emu.close();
    }
  });
});
