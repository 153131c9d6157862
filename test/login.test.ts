/**
 * `login` end to end, as a child process against the emulator, with this test acting as the
 * browser over HTTP. Every case of the login issue, with its exit code.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Database } from '../src/store/sqlite/binding.ts';
import jwt from 'jsonwebtoken';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import {
  EMULATOR_CLIENT_ID as ID,
  EMULATOR_CLIENT_SECRET as CLIENT_SECRET,
} from '../src/emulator/users.ts';
import {
  AUTHORIZE_URL,
  decide,
  http,
  json,
  runCli,
  SECRET,
  startCli,
  tempDir,
  emulatorLoginEnv,
} from './helpers.ts';

interface LoginDoc {
  email: string;
  emailSource: string;
  admitted: boolean;
  role: string;
  profile: Record<string, unknown>;
  user: {
    id: string;
    email: string;
    name: string;
    avatarUrl: string;
    role: string;
    createdAt: string;
  } | null;
  sessionToken: string;
}

describe('login against the emulator', () => {
  let emu: Emulator;
  let dir: string;
  before(async () => {
    emu = await startEmulator();
    dir = tempDir();
  });
  after(() => emu.close());
  const app = { clientId: ID, clientSecret: CLIENT_SECRET, jwtSecret: SECRET };

  /** Starts `login --no-browser --json` pointed at the emulator; resolves once the URL is printed. */
  async function start(
    options: { env?: Record<string, string>; args?: string[]; db?: string; redirect?: string } = {},
  ) {
    const db = options.db ?? join(dir, `${Math.random().toString(36).slice(2)}.db`);
    const { env, redirect } = await emulatorLoginEnv(emu, {
      ...app,
      db,
      redirect: options.redirect,
    });
    const child = startCli(['login', '--no-browser', '--json', ...(options.args ?? [])], {
      env: { ...env, ...options.env },
      cwd: dir,
    });
    const [, url] = await child.waitForStderr(AUTHORIZE_URL);
    return { child, url: url!, db, redirect };
  }

  const users = (db: string) => {
    if (!existsSync(db)) return [];
    const d = new Database(db, { readonly: true });
    // The platform role (muvee's platform_members), beside the legacy users.role.
    const rows = d
      .prepare(
        'SELECT u.*, u.role AS legacy_role, m.role AS role, m.authorized AS member_authorized FROM users u LEFT JOIN platform_members m ON m.user_id = u.id ORDER BY u.email',
      )
      .all() as Record<string, unknown>[];
    d.close();
    return rows;
  };

  const assertNoStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .*:\d+:\d+/);

  test('user with email, admin via ADMIN_EMAILS: stored, page after the write, token verifies', async () => {
    const { child, url, db } = await start({ env: { ADMIN_EMAILS: 'zhangsan@corp.example' } });
    const { page } = await decide(url, 'approve', 'zhangsan');
    const pageServedAt = Date.now();
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in with DingTalk/);
    assert.equal(page.headers.connection, 'close');
    // The page came after the DB write: the row is there already.
    assert.equal(users(db).length, 1);
    const result = await child.done;
    assert.ok(
      Date.now() - pageServedAt < 3000,
      'the process exits promptly after the success page',
    );
    assert.equal(result.code, 0, result.stderr);
    const doc = json<LoginDoc>(result);
    assert.deepEqual(Object.keys(doc), [
      'email',
      'emailSource',
      'admitted',
      'admission',
      'warnings',
      'role',
      'profile',
      'database',
      'user',
      'sessionToken',
      'session',
    ]);
    assert.equal(doc.email, 'zhangsan@corp.example');
    assert.equal(doc.emailSource, 'profile');
    assert.equal(doc.admitted, true);
    assert.equal(doc.role, 'admin');
    assert.equal(doc.profile.unionId, 'emuUnionZhangsan0001');
    assert.deepEqual(Object.keys(doc.user!), [
      'id',
      'email',
      'name',
      'avatarUrl',
      'role',
      'authorized',
      'createdAt',
    ]);
    const claims = jwt.verify(doc.sessionToken, SECRET, { algorithms: ['HS256'] }) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(claims), ['uid', 'email', 'role', 'iat', 'exp']);
    assert.equal(claims.uid, doc.user!.id);
    assert.equal(claims.role, 'admin');
    assert.equal(statSync(db).mode & 0o777, 0o600);
    const [row] = users(db);
    assert.equal(row!.id, doc.user!.id);
    assert.equal(row!.role, 'admin');
    assert.equal(row!.legacy_role, 'member', "users.role stays 'member', as muvee writes it");
    // verify-token accepts it and finds the user.
    const verified = await runCli(['verify-token', '--json', '-'], {
      env: { JWT_SECRET: SECRET, MUVEE_DINGTALK_DB: db },
      input: doc.sessionToken,
    });
    assert.equal(verified.code, 0);
    assert.equal(json(verified).userInDb, true);
  });

  test('user without email: synthetic address, bypasses ALLOWED_DOMAINS', async () => {
    const { child, url, db } = await start({ env: { ALLOWED_DOMAINS: 'corp.example' } });
    await decide(url, 'approve', 'lisi');
    const result = await child.done;
    assert.equal(result.code, 0, result.stderr);
    const doc = json<LoginDoc>(result);
    assert.equal(doc.email, 'emuUnionLisi00000002@dingtalk.local');
    assert.equal(doc.emailSource, 'synthetic');
    assert.equal(doc.role, 'member');
    assert.equal(users(db).length, 1);
  });

  test('user outside ALLOWED_DOMAINS: exit 6, nothing written, failure page', async () => {
    const { child, url, db } = await start({ env: { ALLOWED_DOMAINS: 'corp.example' } });
    const { page } = await decide(url, 'approve', 'wangwu');
    assert.equal(page.status, 403);
    assert.match(page.body, /Sign-in failed/);
    const result = await child.done;
    assert.equal(result.code, 6);
    assert.equal(json<{ error: { code: string } }>(result).error.code, 'policy-denied');
    assert.deepEqual(users(db), []);
  });

  test('consent denied: exit 3 and the failure page', async () => {
    const { child, url, db } = await start();
    const { page } = await decide(url, 'deny');
    assert.match(page.body, /access_denied/);
    const result = await child.done;
    assert.equal(result.code, 3);
    assert.equal(json<{ error: { code: string } }>(result).error.code, 'consent-denied');
    assert.deepEqual(users(db), []);
  });

  test('profile permission missing: exit 3 naming Contact.User.Read', async () => {
    const { child, url, db } = await start();
    await decide(url, 'approve', 'zhaoliu');
    const result = await child.done;
    assert.equal(result.code, 3);
    assert.match(json<{ error: { message: string } }>(result).error.message, /Contact\.User\.Read/);
    assert.deepEqual(users(db), []);
  });

  for (const [name, fault, exit] of [
    ['token endpoint 500', { status: 500, body: '{"code":"InternalError","message":"boom"}' }, 4],
    [
      'token endpoint HTML page',
      { status: 200, body: '<html>portal</html>', contentType: 'text/html' },
      4,
    ],
    [
      'token endpoint 403 HTML block',
      { status: 403, body: '<html>blocked</html>', contentType: 'text/html' },
      3,
    ],
  ] as const) {
    test(`${name}: exit ${exit}, no stack, nothing written`, async () => {
      const { child, url, db } = await start();
      emu.setFault('userAccessToken', { ...fault, times: 1 });
      await decide(url, 'approve');
      const result = await child.done;
      assert.equal(result.code, exit, result.stderr);
      assertNoStack(result.stderr);
      assert.match(result.stderr, /^✗ /m);
      assert.deepEqual(users(db), []);
    });
  }

  test('timeout: exit 4', async () => {
    const { child } = await start({ args: ['--timeout', '1'] });
    const result = await child.done;
    assert.equal(result.code, 4);
    assert.equal(json<{ error: { code: string } }>(result).error.code, 'timeout');
  });

  test('Ctrl-C: exit 130, nothing left running', async () => {
    const { child } = await start();
    child.kill('SIGINT');
    const result = await child.done;
    assert.equal(result.code, 130);
  });

  test('busy port: exit 2 naming the port and the fix', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['login', '--no-browser', '--json'], {
        env: {
          DINGTALK_CLIENT_ID: ID,
          DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
          JWT_SECRET: SECRET,
          DINGTALK_REDIRECT_URL: `http://127.0.0.1:${port}/auth/dingtalk/callback`,
        },
        cwd: dir,
      });
      assert.equal(result.code, 2);
      const { error } = json<{ error: { code: string; message: string } }>(result);
      assert.equal(error.code, 'port-busy');
      assert.match(error.message, new RegExp(`port ${port}`));
      assert.match(error.message, /--listen/);
    } finally {
      blocker.close();
    }
  });

  test('wrong state, then no state, then the right one: completes', async () => {
    const { child, url, redirect } = await start();
    const wrong = await http(`${redirect}?authCode=x&state=wrong`);
    assert.equal(wrong.status, 400);
    const none = await http(`${redirect}?authCode=x`);
    assert.equal(none.status, 400);
    const post = await http(`${redirect}?authCode=x`, { method: 'POST' });
    assert.equal(post.status, 405);
    const elsewhere = await http(new URL('/favicon.ico', redirect).toString());
    assert.equal(elsewhere.status, 404);
    const { page } = await decide(url, 'approve');
    assert.equal(page.status, 200);
    const result = await child.done;
    assert.equal(result.code, 0);
  });

  test('XSS in error is escaped on the page and ends the login with exit 3', async () => {
    const { child, url, redirect } = await start();
    const state = new URL(url).searchParams.get('state')!;
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const page = await http(
      `${redirect}?error=${encodeURIComponent(evil)}&error_description=${encodeURIComponent('"><b>x')}&state=${state}`,
    );
    assert.ok(!page.body.includes('<script>alert(1)'));
    assert.ok(!page.body.includes('<img src=x'));
    assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!page.body.includes('"><b>'));
    const result = await child.done;
    assert.equal(result.code, 3);
  });

  test('repeated login keeps the id; overridden name is kept, a stale one is refreshed', async () => {
    const db = join(dir, 'repeat.db');
    const once = async () => {
      const { child, url } = await start({ db });
      await decide(url, 'approve', 'zhangsan');
      const result = await child.done;
      assert.equal(result.code, 0, result.stderr);
      return json<LoginDoc>(result);
    };
    const first = await once();
    const d = new Database(db);
    d.prepare("UPDATE users SET name = 'Stale'").run();
    d.close();
    const second = await once();
    assert.equal(second.user!.id, first.user!.id);
    assert.equal(second.user!.createdAt, first.user!.createdAt);
    assert.equal(second.user!.name, '张三');
    const d2 = new Database(db);
    d2.prepare("UPDATE users SET name = 'Chosen by me', name_overridden = 1").run();
    d2.close();
    const third = await once();
    assert.equal(third.user!.id, first.user!.id);
    assert.equal(third.user!.name, 'Chosen by me');
  });

  test('paste fallback: a redirect URL that is not loopback, the landed URL pasted on stdin', async () => {
    const { child, url, db } = await start({
      redirect: 'https://muvee.corp.example/auth/dingtalk/callback',
    });
    assert.match(child.stderrText(), /paste it here/);
    // The "browser" lands on muvee's real domain (never fetched here); the person copies the URL.
    const form = new URLSearchParams(new URL(url).searchParams);
    form.set('decision', 'approve');
    form.set('user', 'zhangsan');
    const answer = await http(`${emu.url}/oauth2/auth/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const landed = String(answer.headers.location);
    assert.match(landed, /^https:\/\/muvee\.corp\.example\/auth\/dingtalk\/callback\?/);
    child.stdin.write('not a url at all\n');
    child.stdin.write(`${landed}\n`);
    const result = await child.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /not accepted/);
    assert.equal(users(db).length, 1);
  });

  test('paste fallback checks state when present', async () => {
    const { child } = await start({
      redirect: 'https://muvee.corp.example/auth/dingtalk/callback',
      args: ['--timeout', '2'],
    });
    child.stdin.write(
      'https://muvee.corp.example/auth/dingtalk/callback?authCode=abc&state=forged\n',
    );
    const result = await child.done;
    assert.equal(result.code, 4);
    assert.match(result.stderr, /state parameter does not match/);
  });

  test('--no-store: no DB file, user null, token still minted', async () => {
    const { child, url, db } = await start({ args: ['--no-store'] });
    await decide(url, 'approve');
    const result = await child.done;
    assert.equal(result.code, 0);
    const doc = json<LoginDoc>(result);
    assert.equal(doc.user, null);
    assert.ok(doc.sessionToken);
    assert.equal(existsSync(db), false);
  });

  test('human output: profile with masked mobile, email source, role, stored user, cookie and curl', async () => {
    const { env } = await emulatorLoginEnv(emu, { ...app, db: join(dir, 'human.db') });
    const child = startCli(['login', '--no-browser'], { env, cwd: dir });
    const [, url] = await child.waitForStderr(AUTHORIZE_URL);
    await decide(url!, 'approve');
    const result = await child.done;
    assert.equal(result.code, 0);
    for (const text of [
      '138****0000',
      'from the profile',
      'role',
      'new user',
      'muvee_session=',
      'Path=/; Max-Age=604800; HttpOnly; SameSite=Lax',
      'curl -H "Cookie: muvee_session=$TOKEN"',
      'muvee-dingtalk verify-token -',
    ]) {
      assert.ok(result.stdout.includes(text), text);
    }
    // The token once (not in the cookie, curl and check lines again), never on a command line.
    const token = /^ {2}token +(\S+)$/m.exec(result.stdout)?.[1];
    assert.ok(token?.startsWith('eyJ'), result.stdout);
    assert.equal(result.stdout.split(token!).length - 1, 1, 'the token appears once');
    assert.ok(!/verify-token '?muvee_session=eyJ/.test(result.stdout));
    assert.ok(!result.stdout.includes('13800000000'));
    assert.ok(!(result.stdout + result.stderr).includes(CLIENT_SECRET));
  });
});

describe('login --emulator (the embedded default)', () => {
  test('CI=true and no flags: approves by itself and prints everything', async (t) => {
    const dir = tempDir(t);
    const result = await runCli(['login', '--emulator'], { env: { CI: 'true' }, cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    for (const text of [
      'Signed in with DingTalk',
      '张三',
      'zhangsan@corp.example',
      'role',
      'Stored user',
      'muvee_session=',
      'random secret',
    ]) {
      assert.ok(result.stdout.includes(text), text);
    }
    // An emulator run keeps its demo users out of the configured database unless --db names one.
    assert.ok(existsSync(join(dir, 'muvee-dingtalk-emulator.db')));
    assert.ok(!existsSync(join(dir, 'muvee-dingtalk.db')));
  });

  test('an emulator run never signs with the real JWT_SECRET nor writes the real DB unless named', async (t) => {
    const dir = tempDir(t);
    const real = join(dir, 'real.db');
    const result = await runCli(['login', '--emulator', '--auto-approve', '--json'], {
      cwd: dir,
      env: { JWT_SECRET: SECRET, MUVEE_DINGTALK_DB: real },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.throws(() => jwt.verify(json<LoginDoc>(result).sessionToken, SECRET));
    assert.ok(!existsSync(real), 'MUVEE_DINGTALK_DB from the environment is not written');
    assert.match(result.stderr, /random secret made for this run/);
    const named = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--use-jwt-secret', '--db', real],
      { cwd: dir, env: { JWT_SECRET: SECRET } },
    );
    assert.equal(named.code, 0, named.stderr);
    assert.doesNotThrow(() => jwt.verify(json<LoginDoc>(named).sessionToken, SECRET));
    assert.ok(existsSync(real));
  });

  test('--json: no session token, cookie or curl line on stderr; the mobile masked', async (t) => {
    const result = await runCli(['login', '--emulator', '--auto-approve', '--json'], {
      cwd: tempDir(t),
      env: { JWT_SECRET: SECRET },
    });
    assert.equal(result.code, 0, result.stderr);
    const doc = json<LoginDoc & { profile: { mobile: string } }>(result);
    assert.ok(!result.stderr.includes(doc.sessionToken));
    assert.doesNotMatch(result.stderr, /muvee_session=|curl /);
    assert.equal(doc.profile.mobile, '138****0000');
    const shown = await runCli(
      ['login', '--emulator', '--auto-approve', '--json', '--show-mobile'],
      {
        cwd: tempDir(t),
      },
    );
    assert.equal(json<{ profile: { mobile: string } }>(shown).profile.mobile, '13800000000');
  });

  test('--auto-approve lisi --json: one JSON document', async (t) => {
    const dir = tempDir(t);
    const result = await runCli(
      [
        'login',
        '--emulator',
        '--auto-approve',
        'lisi',
        '--json',
        '--no-browser',
        '--use-jwt-secret',
      ],
      { cwd: dir, env: { JWT_SECRET: SECRET } },
    );
    assert.equal(result.code, 0, result.stderr);
    const doc = json<LoginDoc>(result);
    assert.equal(doc.emailSource, 'synthetic');
    const claims = jwt.verify(doc.sessionToken, SECRET) as Record<string, unknown>;
    assert.equal(claims.uid, doc.user!.id);
  });

  test('several runs at once do not collide', async (t) => {
    const dir = tempDir(t);
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        runCli(['login', '--emulator', '--auto-approve', '--json'], {
          cwd: dir,
          env: { JWT_SECRET: SECRET },
        }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const ids = new Set(runs.map((r) => json<LoginDoc>(r).user!.id));
    assert.equal(ids.size, 1, 'same user, same id');
  });

  test('--auto-approve of an unknown user is a usage error', async (t) => {
    const result = await runCli(['login', '--emulator', '--auto-approve', 'nobody'], {
      cwd: tempDir(t),
    });
    assert.equal(result.code, 2);
  });

  test('--auto-approve without --emulator is a usage error', async (t) => {
    const result = await runCli(['login', '--auto-approve'], { cwd: tempDir(t) });
    assert.equal(result.code, 2);
  });

  test('without --emulator and without credentials: exit 2 naming the variable and the fix', async (t) => {
    const result = await runCli(['login', '--no-browser'], {
      cwd: tempDir(t),
      env: { JWT_SECRET: SECRET },
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DINGTALK_CLIENT_ID is not set.*--emulator/);
  });
});
