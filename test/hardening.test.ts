/**
 * Bad input and secrets: malformed configuration never crashes; unusable DB files are clear
 * errors naming the path; no secret reaches stdout, stderr or the database.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { VARIABLES } from '../src/config/config.ts';
import { startEmulator } from '../src/emulator/server.ts';
import {
  AUTHORIZE_URL,
  decide,
  emulatorLoginEnv,
  json,
  MINT_MEMBER,
  runCli,
  startCli,
  tempDir,
} from './helpers.ts';

const CLIENT_ID = 'dingsecretsapp000001';
const CLIENT_SECRET = 'CLIENTSECRET-d41d8cd98f00b204e9800998ecf8427e-d41d8cd98f00b204e980';
const JWT_SECRET = 'JWTSECRET-9e107d9d372bb6826bd81d3542a419d6-9e107d9d372bb6826bd8';
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe('configuration bad input', { concurrency: 4 }, () => {
  const weird = [
    ' ',
    '\t',
    '   padded   ',
    'ü',
    '例子.测试',
    '😀',
    'http://[::1',
    'http://exa mple.com/x',
    '%%%',
    'a,,b,',
    ',',
    'x'.repeat(5000),
    '\u200b',
  ];
  for (const name of VARIABLES) {
    test(`${name}: odd values never crash check-config or mint-token`, async (t) => {
      const dir = tempDir(t);
      for (const value of weird) {
        const env = { [name]: value, JWT_SECRET: name === 'JWT_SECRET' ? value : JWT_SECRET };
        const check = await runCli(['check-config', '--json'], { env, cwd: dir });
        assert.ok(
          check.code === 0 || check.code === 7,
          `${name}=${JSON.stringify(value)}: exit ${check.code}\n${check.stderr}`,
        );
        assert.ok(Array.isArray(json<{ checks: unknown[] }>(check).checks));
        const mint = await runCli(MINT_MEMBER, { env, cwd: dir });
        assert.ok(
          [0, 2].includes(mint.code ?? -1),
          `${name}=${JSON.stringify(value)} mint: exit ${mint.code}\n${mint.stderr}`,
        );
        assert.doesNotMatch(check.stderr + mint.stderr, /\n\s+at /, 'no stack trace');
      }
    });
  }

  test('a malformed DINGTALK_REDIRECT_URL is exit 2 for login, naming the variable', async (t) => {
    const r = await runCli(['login', '--no-browser'], {
      env: {
        DINGTALK_CLIENT_ID: CLIENT_ID,
        DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
        JWT_SECRET,
        DINGTALK_REDIRECT_URL: 'http://[::1',
      },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /DINGTALK_REDIRECT_URL 'http:\/\/\[::1' is not a URL/);
  });

  test('ALLOWED_DOMAINS with empty items still admits correctly', async (t) => {
    const r = await runCli(['login', '--emulator', '--auto-approve', 'wangwu', '--json'], {
      env: { ALLOWED_DOMAINS: ',,corp.example,,', JWT_SECRET },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 6);
    const ok = await runCli(['login', '--emulator', '--auto-approve', 'zhangsan', '--json'], {
      env: { ALLOWED_DOMAINS: ',,corp.example,,', JWT_SECRET },
      cwd: tempDir(t),
    });
    assert.equal(ok.code, 0);
  });

  test('an unreadable --env-file is exit 2 naming it', async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const file = join(dir, 'secret.env');
    writeFileSync(file, `JWT_SECRET=${JWT_SECRET}\n`);
    chmodSync(file, 0o600);
    // As root, a file's mode does not stop us: run the CLI as nobody instead.
    const r = await runCli(['--env-file', file, 'check-config', '--json'], {
      cwd: dir,
      ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      json<{ error: { message: string } }>(r).error.message,
      /secret\.env' is not readable/,
    );
  });
});

describe('unusable database files', { concurrency: 2 }, () => {
  test('a corrupted DB file: exit 2 with the path, for users and login', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'junk.db');
    writeFileSync(db, Buffer.alloc(8192, 0x5a));
    const list = await runCli(['users', 'list', '--db', db]);
    assert.equal(list.code, 2);
    assert.ok(list.stderr.includes(db));
    assert.doesNotMatch(list.stderr, /\n\s+at /);
    const login = await runCli(['login', '--emulator', '--auto-approve', '--db', db, '--json'], {
      cwd: dir,
      env: { JWT_SECRET },
    });
    assert.equal(login.code, 2);
    assert.equal(json<{ error: { code: string } }>(login).error.code, 'db-unusable');
    assert.ok(readFileSync(db).equals(Buffer.alloc(8192, 0x5a)), 'left as it was');
  });

  test('a read-only DB file: exit 2 with the path, never a crash', async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const first = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--db', join(dir, 'muvee-dingtalk.db')],
      {
        cwd: dir,
        env: { JWT_SECRET },
      },
    );
    assert.equal(first.code, 0);
    const db = join(dir, 'muvee-dingtalk.db');
    chmodSync(db, 0o644);
    if (!isRoot) chmodSync(db, 0o444);
    const r = await runCli(
      ['login', '--emulator', '--auto-approve', 'lisi', '--json', '--db', db],
      {
        cwd: dir,
        env: { JWT_SECRET },
        ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      },
    );
    assert.equal(r.code, 2, r.stderr);
    const { error } = json<{ error: { code: string; message: string } }>(r);
    assert.equal(error.code, 'db-unusable');
    assert.ok(error.message.includes(db));
  });

  test('a DB path in a missing folder: exit 2 naming it', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'no', 'such', 'folder', 'x.db');
    const r = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', db], {
      cwd: dir,
      env: { JWT_SECRET },
    });
    assert.equal(r.code, 2);
    assert.ok(json<{ error: { message: string } }>(r).error.message.includes(db));
  });
});

describe('secrets never leak', () => {
  test('every command, with recognisable secrets: none in stdout, stderr or the DB', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'store.db');
    const emu = await startEmulator({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [] }],
      recordTokens: true,
    });
    const outputs: string[] = [];
    try {
      const login = await emulatorLoginEnv(emu, {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        jwtSecret: JWT_SECRET,
        db,
      });
      const env = { ...login.env, ADMIN_EMAILS: 'zhangsan@corp.example', DEBUG: 'muvee-dingtalk' };
      const record = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);

      // A real-mode login, human and JSON.
      let token = '';
      for (const args of [[], ['--json']]) {
        const child = startCli(['login', '--no-browser', ...args], { env, cwd: dir });
        const [, url] = await child.waitForStderr(AUTHORIZE_URL);
        const { page } = await decide(url!, 'approve');
        outputs.push(page.body);
        const r = await child.done;
        assert.equal(r.code, 0, r.stderr);
        record(r);
        if (args.length) token = json<{ sessionToken: string }>(r).sessionToken;
      }
      // Failures: permission missing, consent denied, wrong secret on exchange.
      for (const [user, decision, extraEnv] of [
        ['zhaoliu', 'approve', {}],
        ['zhangsan', 'deny', {}],
        ['zhangsan', 'approve', { DINGTALK_CLIENT_SECRET: `${CLIENT_SECRET}-WRONG` }],
      ] as const) {
        const child = startCli(['login', '--no-browser'], {
          env: { ...env, ...extraEnv },
          cwd: dir,
        });
        const [, url] = await child.waitForStderr(AUTHORIZE_URL);
        const { page } = await decide(url!, decision, user);
        outputs.push(page.body);
        record(await child.done);
      }
      for (const args of [
        ['check-config'],
        ['check-config', '--live', '--json'],
        ['mint-token', '--email', 'zhangsan@corp.example', '--cookie'],
        ['verify-token', token],
        ['verify-token', '--json', token.slice(0, -2)],
        ['users', 'list'],
        ['users', 'show', 'zhangsan@corp.example', '--json'],
        ['--json', 'verify-token', 'not.a.token'],
      ]) {
        record(await runCli(args, { env, cwd: dir }));
      }
      record(
        await runCli(['check-config', '--live'], {
          env: { ...env, DINGTALK_CLIENT_SECRET: `${CLIENT_SECRET}-WRONG` },
          cwd: dir,
        }),
      );
      // The emulator command, started with the configured secret, prints only its length.
      const emulatorRun = startCli(['emulator', '--port', '0'], { env, cwd: dir });
      await new Promise<void>((resolve) => {
        const poll = () =>
          /Press Ctrl-C/.test(emulatorRun.stdoutText()) ? resolve() : setTimeout(poll, 20);
        poll();
      });
      emulatorRun.kill('SIGINT');
      record(await emulatorRun.done);

      const secrets = [CLIENT_SECRET, JWT_SECRET, ...emu.issuedTokens];
      assert.ok(emu.issuedTokens.length >= 4, 'the logins got tokens to leak');
      const everything = outputs.join('\n');
      for (const secret of secrets)
        assert.ok(!everything.includes(secret), `leaked: ${secret.slice(0, 12)}…`);
      const dbBytes = readdirSync(dir)
        .filter((f) => f.startsWith('store.db'))
        .map((f) => readFileSync(join(dir, f)).toString('latin1'))
        .join('');
      assert.ok(dbBytes.length > 0);
      for (const secret of secrets)
        assert.ok(!dbBytes.includes(secret), `in the DB: ${secret.slice(0, 12)}…`);
      // The session token itself is printed on purpose.
      assert.ok(everything.includes(token));
    } finally {
      await emu.close();
    }
  });
});
