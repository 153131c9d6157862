/**
 * The CLI as users run it (bin → dist), as a child process: exit codes and --json shapes.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { createRequire } from 'node:module';
import { COMMANDS as COMMAND_MODULES } from '../src/commands/index.ts';
import { EXIT_CODES } from '../src/cli/errors.ts';
import { createServer } from 'node:net';
import {
  baseEnv,
  BIN,
  json,
  ROOT,
  runBin,
  runCli,
  SECRET,
  startBin,
  startCli,
  tempDir,
} from './helpers.ts';
import { spawnSync } from 'node:child_process';

const UID = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
const GOOD_ENV = {
  DINGTALK_CLIENT_ID: 'dingabcdefghij123456',
  DINGTALK_CLIENT_SECRET: 'cs-'.padEnd(64, 'q'),
  DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
  BASE_DOMAIN: 'corp.example',
  ADMIN_EMAILS: 'boss@corp.example',
  JWT_SECRET: SECRET,
};

const COMMANDS = Object.keys(COMMAND_MODULES);

describe('cli frame', () => {
  test('--help lists every command and the start-here example', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const command of COMMANDS) {
      assert.match(r.stdout, new RegExp(`\\n  ${command}`));
    }
    assert.match(r.stdout, /login --emulator/);
  });

  for (const command of COMMANDS) {
    test(`${command} --help has an example`, async () => {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples?:\n {2}\$ muvee-dingtalk/);
    });
  }

  test('--version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });

  test('unknown command and bad flag are usage errors (exit 2) with one ✗ line and no stack', async () => {
    for (const args of [
      ['bogus'],
      ['verify-token', '--leeway', 'abc', 'x.y.z'],
      ['mint-token', '--role', 'root'],
    ]) {
      const r = await runCli(args, { env: { JWT_SECRET: SECRET } });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^✗ /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  test('no command shows help and exits 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr + r.stdout, /Usage: muvee-dingtalk/);
  });

  test('--json errors are one JSON document on stdout', async () => {
    const r = await runCli(['--json', 'bogus']);
    assert.equal(r.code, 2);
    assert.equal(json<{ error: { code: string } }>(r).error.code, 'usage');
  });

  test('a missing explicit --env-file is exit 2 naming the file', async () => {
    const r = await runCli(['--env-file', '/nonexistent/x.env', 'check-config', '--json']);
    assert.equal(r.code, 2);
    const doc = json<{ error: { code: string; message: string } }>(r);
    assert.equal(doc.error.code, 'config');
    assert.match(doc.error.message, /\/nonexistent\/x\.env/);
  });

  test('a malformed .env line is a config error naming the line (commands), a failed check (check-config)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, '.env'), `JWT_SECRET=${SECRET}\nthis is not a variable\n`);
    const mint = await runCli(
      ['mint-token', '--uid', UID, '--email', 'a@b.example', '--role', 'member'],
      { cwd: dir },
    );
    assert.equal(mint.code, 2);
    assert.match(mint.stderr, /line 2/);
    const check = await runCli(['check-config', '--json'], { cwd: dir });
    assert.equal(check.code, 7);
    const doc = json<{ checks: { id: string; status: string }[] }>(check);
    assert.equal(doc.checks.find((c) => c.id === 'env-file')?.status, 'fail');
  });

  test('DEBUG=muvee-dingtalk shows the stack of an expected error', async () => {
    const r = await runCli(['verify-token', 'x'], { env: { DEBUG: 'muvee-dingtalk' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\n\s+at /);
  });
});

describe('check-config', () => {
  test('an empty environment exits 7 and lists what is missing', async (t) => {
    const r = await runCli(['check-config'], { cwd: tempDir(t) });
    assert.equal(r.code, 7);
    assert.match(r.stdout, /✗ client-id/);
    assert.match(r.stdout, /✗ client-secret/);
    assert.match(r.stdout, /✗ jwt-secret/);
  });

  test('a good environment exits 0; --json has the design shape; no secret printed', async (t) => {
    const r = await runCli(['check-config', '--json'], { env: GOOD_ENV, cwd: tempDir(t) });
    assert.equal(r.code, 0, r.stdout);
    const doc = json<{ ok: boolean; checks: { id: string; status: string; message: string }[] }>(r);
    assert.equal(doc.ok, true);
    for (const check of doc.checks) {
      assert.deepEqual(Object.keys(check).sort(), ['id', 'message', 'status']);
      assert.ok(['pass', 'warn', 'fail'].includes(check.status));
    }
    for (const secret of [GOOD_ENV.DINGTALK_CLIENT_SECRET, SECRET]) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret));
    }
  });

  test('--strict turns warnings into failure', async (t) => {
    const env = { ...GOOD_ENV, ADMIN_EMAILS: '' };
    const dir = tempDir(t);
    assert.equal((await runCli(['check-config'], { env, cwd: dir })).code, 0);
    assert.equal((await runCli(['check-config', '--strict'], { env, cwd: dir })).code, 7);
  });

  test('--db flag beats MUVEE_DINGTALK_DB beats .env', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, '.env'), 'MUVEE_DINGTALK_DB=from-file.db\n');
    const dbMessage = async (args: string[], env: Record<string, string> = {}) => {
      const doc = json<{ checks: { id: string; message: string }[] }>(
        await runCli([...args, 'check-config', '--json'], { env, cwd: dir }),
      );
      return doc.checks.find((c) => c.id === 'db-path')?.message ?? '';
    };
    assert.match(await dbMessage([]), /from-file\.db/);
    assert.match(await dbMessage([], { MUVEE_DINGTALK_DB: 'from-env.db' }), /from-env\.db/);
    assert.match(
      await dbMessage(['--db', 'from-flag.db'], { MUVEE_DINGTALK_DB: 'from-env.db' }),
      /from-flag\.db/,
    );
  });
});

describe('mint-token and verify-token', () => {
  const env = { JWT_SECRET: SECRET };

  test('mint-token prints a token any HS256 library accepts with exactly muvee claims', async (t) => {
    const r = await runCli(
      ['mint-token', '--uid', UID, '--email', 'a@corp.example', '--role', 'admin'],
      { env, cwd: tempDir(t) },
    );
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const claims = jwt.verify(token, SECRET, { algorithms: ['HS256'] }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims), ['uid', 'email', 'role', 'iat', 'exp']);
    assert.equal(claims.uid, UID);
    assert.equal(claims.role, 'admin');
    assert.equal((claims.exp as number) - (claims.iat as number), 604800);
  });

  test('mint-token --cookie --ttl', async (t) => {
    const r = await runCli(
      [
        'mint-token',
        '--uid',
        UID,
        '--email',
        'a@corp.example',
        '--role',
        'member',
        '--ttl',
        '1h',
        '--cookie',
      ],
      { env, cwd: tempDir(t) },
    );
    assert.equal(r.code, 0);
    assert.match(
      r.stdout.trim(),
      /^muvee_session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/,
    );
  });

  test('mint-token refuses a missing secret (exit 2) and warns on a weak one', async (t) => {
    const dir = tempDir(t);
    const args = ['mint-token', '--uid', UID, '--email', 'a@corp.example', '--role', 'member'];
    const missing = await runCli(args, { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /JWT_SECRET is not set/);
    const weak = await runCli(args, { env: { JWT_SECRET: 'short' }, cwd: dir });
    assert.equal(weak.code, 0);
    assert.match(weak.stderr, /⚠ JWT_SECRET is only 5 bytes/);
  });

  test('mint-token: bad uid, missing role, nobody named: exit 2', async (t) => {
    const dir = tempDir(t);
    for (const args of [
      ['--uid', '42', '--email', 'a@b.c', '--role', 'admin'],
      ['--uid', UID, '--email', 'a@b.c'],
      [],
      ['--email', 'nobody@corp.example'],
    ]) {
      const r = await runCli(['mint-token', ...args], { env, cwd: dir });
      assert.equal(r.code, 2, args.join(' '));
    }
  });

  test('verify-token accepts a token from an independent implementation, via argument, stdin and cookie', async (t) => {
    const dir = tempDir(t);
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ uid: UID, email: 'a@corp.example', role: 'member', iat: now, exp: now + 600 })}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const viaArg = await runCli(['verify-token', token], { env, cwd: dir });
    assert.equal(viaArg.code, 0, viaArg.stdout + viaArg.stderr);
    assert.match(viaArg.stdout, /✓ valid/);
    assert.match(viaArg.stdout, /expires in (9m|10m)/);
    const viaStdin = await runCli(['verify-token', '-', '--json'], {
      env,
      cwd: dir,
      input: `${token}\n`,
    });
    assert.equal(viaStdin.code, 0);
    const doc = json(viaStdin);
    assert.equal(doc.valid, true);
    assert.deepEqual(Object.keys(doc).slice(0, 1), ['valid']);
    for (const key of ['header', 'claims', 'expiresAt', 'userInDb']) assert.ok(key in doc, key);
    assert.equal(doc.userInDb, null);
    const viaCookie = await runCli(['verify-token', '--json'], {
      env,
      cwd: dir,
      input: `Cookie: theme=dark; muvee_session=${token}`,
    });
    assert.equal(viaCookie.code, 0);
  });

  test('verify-token rejects each bad token with exit 5 and its reason', async (t) => {
    const dir = tempDir(t);
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const sign = (header: unknown, payload: unknown, secret = SECRET, alg = 'sha256') => {
      const i = `${b64(header)}.${b64(payload)}`;
      return `${i}.${createHmac(alg, secret).update(i).digest('base64url')}`;
    };
    const claims = { uid: UID, email: 'a@corp.example', role: 'member', iat: now, exp: now + 600 };
    const cases: [string, string][] = [
      [`${b64({ alg: 'none' })}.${b64(claims)}.`, 'wrong-algorithm'],
      [sign({ alg: 'HS512' }, claims, SECRET, 'sha512'), 'wrong-algorithm'],
      [sign({ alg: 'HS256' }, claims, 'wrong-secret-wrong-secret-wrong-secret'), 'bad-signature'],
      [sign({ alg: 'HS256' }, { ...claims, exp: now - 100 }), 'expired'],
      [sign({ alg: 'HS256' }, { ...claims, nbf: now + 1000 }), 'not-yet-valid'],
      [sign({ alg: 'HS256' }, { ...claims, role: 'root' }), 'bad-claims'],
      ['a.b', 'malformed'],
    ];
    for (const [token, reason] of cases) {
      const r = await runCli(['verify-token', '--json', token], { env, cwd: dir });
      assert.equal(r.code, 5, reason);
      const doc = json(r);
      assert.equal(doc.valid, false);
      assert.equal(doc.reason, reason);
    }
    const human = await runCli(['verify-token', cases[2]![0]], { env, cwd: dir });
    assert.equal(human.code, 5);
    assert.match(human.stdout, /✗ rejected \(bad-signature\)/);
  });

  test('verify-token --leeway', async (t) => {
    const dir = tempDir(t);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt.sign(
      { uid: UID, email: 'a@b.example', role: 'admin', iat: now - 100, exp: now - 30 },
      SECRET,
    );
    assert.equal((await runCli(['verify-token', token], { env, cwd: dir })).code, 5);
    assert.equal(
      (await runCli(['verify-token', '--leeway', '120', token], { env, cwd: dir })).code,
      0,
    );
  });

  test('verify-token without JWT_SECRET is exit 2', async (t) => {
    const r = await runCli(['verify-token', '--json', 'a.b.c'], { cwd: tempDir(t) });
    assert.equal(r.code, 2);
    assert.equal(json<{ error: { code: string } }>(r).error.code, 'config');
  });

  test('verify-token without JWT_SECRET names --decode', async (t) => {
    const r = await runCli(['verify-token', 'a.b.c'], { cwd: tempDir(t) });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /JWT_SECRET is not set; .*--decode/);
  });
});

describe('verify-token --decode (no JWT_SECRET; nothing checked)', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { uid: UID, email: 'a@corp.example', role: 'admin', iat: now, exp: now + 600 };
  // Signed with some secret this run never sees: decoding does not care.
  const token = jwt.sign(claims, 'a-secret-nobody-here-knows-0123456789abcdef');

  test('prints header and claims marked UNVERIFIED, never the valid layout; exit 0', async (t) => {
    const r = await runCli(['verify-token', '--decode', token], { cwd: tempDir(t) });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^⚠ UNVERIFIED — signature not checked/);
    assert.doesNotMatch(r.stdout, /✓|valid muvee session token/);
    const rows = lines.slice(1, -1);
    assert.deepEqual(
      rows.map((row) => row.trim().split(/\s{2,}/)[0]),
      ['header', 'uid', 'email', 'role', 'iat', 'exp'].map((name) => `${name} (unverified)`),
    );
    assert.match(r.stdout, new RegExp(`uid \\(unverified\\)\\s+${UID}`));
    assert.match(r.stdout, /exp \(unverified\)\s+\d+ = \d{4}-\d\d-\d\d [\d:]+ UTC \(in (9m|10m)/);
  });

  test('--json: "verified": false with the header and claims as written', async (t) => {
    const r = await runCli(['--json', 'verify-token', '--decode', token], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = json<Record<string, unknown>>(r);
    assert.equal(doc.verified, false);
    assert.ok(!('valid' in doc), 'no verdict: nothing was checked');
    assert.deepEqual(doc.claims, claims);
    assert.deepEqual(doc.header, { alg: 'HS256', typ: 'JWT' });
    assert.equal(doc.expiresAt, new Date((now + 600) * 1000).toISOString());
  });

  test('from stdin and a cookie, as verify-token reads them', async (t) => {
    const r = await runCli(['verify-token', '--decode', '--json', '-'], {
      cwd: tempDir(t),
      input: `Cookie: theme=dark; muvee_session=${token}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(json<{ claims: unknown }>(r).claims, claims);
  });

  test("every name and value is sanitised: the token is anyone's text", async (t) => {
    const evil = `${b64({ alg: 'none', 'x\u001b]0;pwned\u0007': 1 })}.${b64({ 'role\u202e': 'admin\u001b[2J', email: 'a\nb@c' })}.`;
    const r = await runCli(['verify-token', '--decode', evil], { cwd: tempDir(t) });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u202e]/u.test(r.stdout), r.stdout);
    assert.match(r.stdout, /role\\u202e \(unverified\)\s+admin\\x1b\[2J/);
    assert.match(r.stdout, /email \(unverified\)\s+a\\x0ab@c/);
  });

  test('malformed: exit 5, in both forms', async (t) => {
    const cwd = tempDir(t);
    for (const bad of ['a.b', `${b64([1])}.${b64(claims)}.x`, `x.${b64('text')}.y`]) {
      const human = await runCli(['verify-token', '--decode', bad], { cwd });
      assert.equal(human.code, 5, bad);
      assert.match(human.stdout, /^✗ cannot decode \(malformed\): /);
      const doc = json<Record<string, unknown>>(
        await runCli(['--json', 'verify-token', '--decode', bad], { cwd }),
      );
      assert.deepEqual([doc.verified, doc.reason, doc.claims], [false, 'malformed', null]);
    }
  });

  test('--decode reads one token: with --each it is a usage error', async (t) => {
    const r = await runCli(['verify-token', '--decode', '--each', '-'], {
      cwd: tempDir(t),
      input: `${token}\n`,
    });
    assert.equal(r.code, 2);
  });
});

describe('prerendered help', () => {
  test('helpKey picks only plain help and version requests', async () => {
    const { helpKey } = await import('../src/runtime/prerendered.ts');
    assert.equal(helpKey(['--help']), '');
    assert.equal(helpKey(['-h']), '');
    assert.equal(helpKey(['help']), '');
    assert.equal(helpKey(['login', '--help']), 'login');
    assert.equal(helpKey(['users', 'show', '-h']), 'users show');
    assert.equal(helpKey(['help', 'login']), 'login');
    assert.equal(helpKey(['--version']), 'version');
    assert.equal(helpKey(['--json', '--help']), undefined);
    assert.equal(helpKey(['login']), undefined);
    assert.equal(helpKey(['verify-token', 'a.b.c', '--help']), undefined);
  });

  for (const args of [
    ['--help'],
    ['login', '--help'],
    ['users', 'show', '--help'],
    ['help', 'mint-token'],
    ['--version'],
  ]) {
    test(`${args.join(' ')} equals commander's own output`, async () => {
      const fast = await runCli(args);
      const slow = await runCli(['--no-color', ...args]);
      assert.equal(fast.code, 0);
      assert.equal(fast.stdout, slow.stdout);
    });
  }
});

describe('the built CLI (dist/)', () => {
  const requireDist = createRequire(join(ROOT, 'dist', 'main.cjs'));

  for (const name of COMMANDS) {
    test(`${name} is in the build and runs from it`, async () => {
      // Not a prerendered help request (--no-color): commander loads the command from dist/.
      const r = await runBin(['--no-color', name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: muvee-dingtalk ${name} `));
    });
  }

  test('each declaration names itself as the list does', async () => {
    for (const [name, load] of Object.entries(COMMAND_MODULES)) {
      assert.equal((await load()).command.name, name);
    }
  });

  test('one CliError class: an error thrown in one file is an instanceof in another', () => {
    const { CliError } = requireDist('./cli/errors.cjs') as typeof import('../src/cli/errors.ts');
    const { requireJwtSecret } = requireDist(
      './config/config.cjs',
    ) as typeof import('../src/config/config.ts');
    assert.throws(
      () => requireJwtSecret({ jwtSecret: undefined } as never),
      (error) => error instanceof CliError && error.code === 'config',
    );
    const holders = (readdirSync(join(ROOT, 'dist'), { recursive: true }) as string[]).filter(
      (f) =>
        f.endsWith('.cjs') &&
        readFileSync(join(ROOT, 'dist', f), 'utf8').includes('muvee-dingtalk.CliError'),
    );
    // verify-token's self-contained bundles (and its two readers of the local file) carry their
    // own copy (a file less to load at every start); everything they hand on is told by its brand (isCliError), never by instanceof:
    // a CliError of theirs is reported as such (exit 2 here, not 1 "unexpected error").
    assert.deepEqual(holders, [
      'cli/errors.cjs',
      'runtime/fast-verify-token.cjs',
      'runtime/token-worker.cjs',
      'store/sqlite/file-reader.cjs',
      'store/sqlite/reader.cjs',
    ]);
    const r = spawnSync(process.execPath, [BIN, 'verify-token', 'a.b.c'], {
      env: baseEnv({}),
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /JWT_SECRET/);
  });

  // The fast path's Output (its own copy of sanitize.ts) hands its styled ✗ to the program's
  // reporter: Safe text is told by its brand, so the colour is kept, not printed as `\x1b[31m`.
  test("one Safe class too: the fast path's errors keep their colour", () => {
    const r = spawnSync(process.execPath, [BIN, 'verify-token', 'a.b.c'], {
      env: baseEnv({ FORCE_COLOR: '1' }),
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.startsWith('\u001b[31m✗\u001b[39m JWT_SECRET is not set'), r.stderr);
    assert.ok(!r.stderr.includes('\\x1b'), r.stderr);
  });
});

describe('a closed stdout (| head, | true)', () => {
  for (const args of [['--no-color', 'login', '--help'], ['--no-color', '--help'], ['--help']]) {
    test(`${args.join(' ')} into a pipe closed early ends quietly with exit 0`, (t) => {
      const dir = tempDir(t);
      // `true` exits before the CLI writes anything: every write meets EPIPE.
      const r = spawnSync(
        'bash',
        ['-c', `set -o pipefail; "$BIN" ${args.join(' ')} 2>"$DIR/err" | true`],
        { env: { ...process.env, BIN: BIN, DIR: dir }, encoding: 'utf8' },
      );
      assert.equal(readFileSync(join(dir, 'err'), 'utf8'), '');
      assert.equal(r.status, 0);
    });
  }
});

describe('first use', () => {
  test("'users lst' is a usage error that suggests 'list'; 'users' alone lists", async (t) => {
    const r = await runCli(['users', 'lst', '--db', join(tempDir(t), 'x.db')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown users subcommand 'lst' \(did you mean list\?\)/);
    const list = await runCli(['users', '--db', join(tempDir(t), 'x.db')]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /no database at/);
  });

  test('a base64-padded token is rejected as a token (exit 5), not a usage error', async (t) => {
    const r = await runCli(
      ['verify-token', '--json', 'eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOiJ4In0.abc='],
      {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(t),
      },
    );
    assert.equal(r.code, 5, r.stderr);
    assert.equal(json<{ valid: boolean }>(r).valid, false);
  });

  test('--env <path> is --env-file under a name Node does not read itself', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'team.env'), 'DINGTALK_CLIENT_ID=dingfromthefile12345\n');
    const r = await runCli(['check-config', '--json', '--env', 'team.env'], { cwd: dir });
    const ids = json<{ checks: { name: string; message: string }[] }>(r).checks.filter((c) =>
      c.message.includes('dingfromthefile12345'),
    );
    assert.ok(ids.length > 0, r.stdout);
    const missing = await runCli(['check-config', '--env', 'missing.env'], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /env file '.*missing\.env' does not exist/);
    const both = await runCli(['check-config', '--env', 'a.env', '--env-file', 'b.env'], {
      cwd: dir,
    });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--env and --env-file name two files/);
  });

  test('through npx, --env reaches this tool (Node running npx reads --env-file itself)', (t) => {
    const npx = spawnSync(
      'npx',
      ['--prefix', ROOT, 'muvee-dingtalk', '--env', 'missing.env', 'check-config'],
      {
        cwd: tempDir(t),
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true' },
        encoding: 'utf8',
      },
    );
    assert.equal(npx.status, 2, npx.stderr);
    assert.match(npx.stderr, /✗ env file '.*missing\.env' does not exist/);
  });

  test('emulator --port 70000 or banana is a usage error naming the range', async () => {
    for (const port of ['70000', 'banana', '-1']) {
      const r = await runCli(['emulator', '--port', port]);
      assert.equal(r.code, 2, port);
      assert.match(r.stderr, new RegExp(`must be a port number 0–65535, got '${port}'`));
    }
  });

  test('the README lists every error.code with its exit code', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const listed = /The `code` values, by exit code: (.*?)\. Where/.exec(readme)?.[1] ?? '';
    const inReadme = new Map<string, number>();
    for (const [, exit, codes] of listed.matchAll(/(\d+) ((?:`[a-z-]+`,? ?)+)/g))
      for (const [, code] of codes!.matchAll(/`([a-z-]+)`/g)) inReadme.set(code!, Number(exit));
    const actual = new Map(
      Object.entries(EXIT_CODES).map(([code, exit]) => [code, exit] as [string, number]),
    );
    assert.deepEqual(inReadme, actual);
  });

  test('each command help shows the global options', async () => {
    for (const name of COMMANDS.filter((c) => c !== 'users' && c !== 'admin')) {
      const r = await runCli([name, '--help']);
      assert.match(r.stdout, /Global options[\s\S]*--env-file[\s\S]*--db[\s\S]*--json/, name);
    }
  });
});

describe('Ctrl-C and SIGTERM end every command the one way', () => {
  test('a command that does not watch the signal: exit 130, a line, the JSON error', async (t) => {
    const run = startCli(['verify-token', '--each', '-', '--json'], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // reading stdin, which stays open
    run.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'interrupted');
    assert.match(error.message, /verify-token interrupted \(SIGTERM\)/);
  });

  test('the bin: SIGTERM while verify-token --each reads stdin (its own fast path) is exit 130', async (t) => {
    const child = startBin(['verify-token', '--each', '-', '--json'], {
      cwd: tempDir(t),
      env: { JWT_SECRET: SECRET },
    });
    // Enough lines for a first chunk of answers out: then it is reading, its handlers in place;
    // stdin stays open, so it waits for more.
    child.stdin.write(`${'x'.repeat(10)}\n`.repeat(2000));
    while (child.stdoutText() === '') await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const r = await child.done;
    assert.equal(r.signal, null);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /verify-token interrupted \(SIGTERM\)/);
  });

  test('the bin: SIGTERM during a DingTalk call that never answers is exit 130, not 143', async (t) => {
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const { port } = silent.address() as import('node:net').AddressInfo;
    const child = startBin(['check-config', '--live', '--json'], {
      cwd: tempDir(t),
      env: {
        DINGTALK_CLIENT_ID: 'dingabcdefghij123456',
        DINGTALK_CLIENT_SECRET: 's'.repeat(40),
        DINGTALK_REDIRECT_URL: 'http://localhost:8080/auth/dingtalk/callback',
        JWT_SECRET: SECRET,
        DINGTALK_API_BASE: `http://127.0.0.1:${port}`,
      },
    });
    while (sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const r = await child.done;
    assert.equal(r.signal, null);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'interrupted');
    assert.match(r.stderr, /check-config interrupted \(SIGTERM\)/);
    assert.ok(!r.stdout.includes('s'.repeat(40)) && !r.stderr.includes('s'.repeat(40)));
  });
});
