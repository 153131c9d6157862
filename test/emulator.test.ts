/** The emulator's own contract: it must behave like DingTalk (dingtalk-api.md). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseFaultSpec } from '../src/emulator/faults.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import {
  EMULATOR_CLIENT_ID as ID,
  EMULATOR_CLIENT_SECRET as SECRET,
  parseUsers,
} from '../src/emulator/users.ts';
import { http, runCli, startCli, tempDir } from './helpers.ts';
import { writeFileSync } from 'node:fs';
import { Agent as NodeAgent, get as httpGet } from 'node:http';
import { join } from 'node:path';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';

const REDIRECT = 'http://127.0.0.1:1/auth/dingtalk/callback';
const authorizeParams = (extra: Record<string, string> = {}) =>
  new URLSearchParams({
    client_id: ID,
    response_type: 'code',
    scope: 'openid',
    prompt: 'consent',
    state: 'st',
    redirect_uri: REDIRECT,
    ...extra,
  });

describe('emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({
      clients: [{ clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] }],
      codeTtlMs: 300,
    });
  });
  after(() => emu.close());

  const post = (path: string, body: unknown, type = 'application/json') =>
    http(`${emu.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const approve = async (user = 'zhangsan', params = authorizeParams()) => {
    params.set('decision', 'approve');
    params.set('user', user);
    const r = await post(
      '/oauth2/auth/decision',
      params.toString(),
      'application/x-www-form-urlencoded',
    );
    assert.equal(r.status, 302);
    return new URL(String(r.headers.location));
  };
  const exchange = (code: string, extra: Record<string, unknown> = {}) =>
    post('/v1.0/oauth2/userAccessToken', {
      clientId: ID,
      clientSecret: SECRET,
      code,
      grantType: 'authorization_code',
      ...extra,
    });

  test('binds to 127.0.0.1', () => assert.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/));

  test('the authorize page lists the users with Approve and Deny', async () => {
    const r = await http(`${emu.url}/oauth2/auth?${authorizeParams()}`);
    assert.equal(r.status, 200);
    for (const text of ['张三', '李四', '王五', '赵六', 'Approve', 'Deny', 'no email'])
      assert.ok(r.body.includes(text), text);
  });

  const badAuthorize: [string, Record<string, string>, RegExp][] = [
    ['unknown client_id', { client_id: 'dingnope' }, /not a known app/],
    ['response_type token', { response_type: 'token' }, /response_type/],
    ['scope email', { scope: 'email' }, /scope/],
    ['prompt missing', { prompt: '' }, /prompt/],
    ['unregistered redirect_uri', { redirect_uri: 'http://127.0.0.1:2/evil' }, /not registered/],
  ];
  for (const [name, extra, message] of badAuthorize) {
    test(`authorize refuses ${name}`, async () => {
      const r = await http(`${emu.url}/oauth2/auth?${authorizeParams(extra)}`);
      assert.equal(r.status, 400);
      assert.match(r.body, message);
    });
  }

  test('approve redirects with code and authCode (same value) and state', async () => {
    const location = await approve();
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get('code'), location.searchParams.get('authCode'));
    assert.equal(location.searchParams.get('state'), 'st');
  });

  test('deny redirects with error=access_denied and state', async () => {
    const params = authorizeParams();
    params.set('decision', 'deny');
    const r = await post(
      '/oauth2/auth/decision',
      params.toString(),
      'application/x-www-form-urlencoded',
    );
    const location = new URL(String(r.headers.location));
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.equal(location.searchParams.get('state'), 'st');
    assert.equal(location.searchParams.get('code'), null);
  });

  test('codes are single use', async () => {
    const code = (await approve()).searchParams.get('authCode')!;
    assert.equal((await exchange(code)).status, 200);
    const again = await exchange(code);
    assert.equal(again.status, 400);
    assert.equal(JSON.parse(again.body).code, 'invalidParameter.authCode.notFound');
  });

  test('codes expire', async () => {
    const code = (await approve()).searchParams.get('authCode')!;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(
      JSON.parse((await exchange(code)).body).code,
      'invalidParameter.authCode.notFound',
    );
  });

  test('a wrong secret is 400 invalidClientIdOrSecret with requestid and message', async () => {
    const code = (await approve()).searchParams.get('authCode')!;
    const r = await exchange(code, { clientSecret: 'wrong' });
    assert.equal(r.status, 400);
    const body = JSON.parse(r.body);
    assert.equal(body.code, 'invalidClientIdOrSecret');
    assert.equal(typeof body.code, 'string');
    assert.equal(typeof body.requestid, 'string');
    assert.equal(typeof body.message, 'string');
    // A failed exchange does not spend the code.
    assert.equal((await exchange(code)).status, 200);
  });

  test('camelCase is required: snake_case or form-encoded gives clientId is mandatory', async () => {
    const code = (await approve()).searchParams.get('authCode')!;
    const snake = await post('/v1.0/oauth2/userAccessToken', {
      client_id: ID,
      client_secret: SECRET,
      code,
      grant_type: 'authorization_code',
    });
    assert.equal(snake.status, 400);
    assert.equal(JSON.parse(snake.body).message, 'clientId is mandatory for this action.');
    const form = await post(
      '/v1.0/oauth2/userAccessToken',
      new URLSearchParams({
        clientId: ID,
        clientSecret: SECRET,
        code,
        grantType: 'authorization_code',
      }).toString(),
      'application/x-www-form-urlencoded',
    );
    assert.equal(form.status, 400);
  });

  test('refresh_token grant', async () => {
    const code = (await approve()).searchParams.get('authCode')!;
    const first = JSON.parse((await exchange(code)).body);
    const refreshed = await post('/v1.0/oauth2/userAccessToken', {
      clientId: ID,
      clientSecret: SECRET,
      grantType: 'refresh_token',
      refreshToken: first.refreshToken,
    });
    assert.equal(refreshed.status, 200);
    assert.notEqual(JSON.parse(refreshed.body).accessToken, first.accessToken);
  });

  test('users/me: missing header, Bearer instead of the header, bad token, success', async () => {
    const missing = await http(`${emu.url}/v1.0/contact/users/me`);
    assert.equal(missing.status, 400);
    assert.equal(JSON.parse(missing.body).code, 'AuthenticationFailed.MissingParameter');
    const code = (await approve()).searchParams.get('authCode')!;
    const { accessToken } = JSON.parse((await exchange(code)).body);
    const bearer = await http(`${emu.url}/v1.0/contact/users/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(JSON.parse(bearer.body).code, 'AuthenticationFailed.MissingParameter');
    const bad = await http(`${emu.url}/v1.0/contact/users/me`, {
      headers: { 'x-acs-dingtalk-access-token': 'nope' },
    });
    assert.equal(JSON.parse(bad.body).code, 'InvalidAuthentication');
    const ok = await http(`${emu.url}/v1.0/contact/users/me`, {
      headers: { 'x-acs-dingtalk-access-token': accessToken },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(ok.body)).sort(), [
      'avatarUrl',
      'email',
      'mobile',
      'nick',
      'openId',
      'stateCode',
      'unionId',
    ]);
  });

  test('access tokens expire', async () => {
    const short = await startEmulator({
      clients: [{ clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] }],
      accessTokenTtlMs: 100,
    });
    try {
      const params = authorizeParams({ decision: 'approve', user: 'zhangsan' });
      const r = await http(`${short.url}/oauth2/auth/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
      });
      const code = new URL(String(r.headers.location)).searchParams.get('code')!;
      const t = await http(`${short.url}/v1.0/oauth2/userAccessToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          clientId: ID,
          clientSecret: SECRET,
          code,
          grantType: 'authorization_code',
        }),
      });
      const { accessToken } = JSON.parse(t.body);
      await new Promise((res) => setTimeout(res, 200));
      const me = await http(`${short.url}/v1.0/contact/users/me`, {
        headers: { 'x-acs-dingtalk-access-token': accessToken },
      });
      assert.equal(JSON.parse(me.body).code, 'InvalidAuthentication');
    } finally {
      await short.close();
    }
  });

  test('app token: wrong secret 400 invalidClientIdOrSecret; right one 200', async () => {
    const wrong = await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: 'nope' });
    assert.equal(wrong.status, 400);
    assert.equal(JSON.parse(wrong.body).code, 'invalidClientIdOrSecret');
    const right = await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: SECRET });
    assert.equal(right.status, 200);
    assert.equal(JSON.parse(right.body).expireIn, 7200);
  });

  test('faults: status with a DingTalk body, times, and the control API', async () => {
    emu.setFault('accessToken', { status: 503, body: '{"code":"ServiceUnavailable"}', times: 1 });
    assert.equal(
      (await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: SECRET })).status,
      503,
    );
    assert.equal(
      (await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: SECRET })).status,
      200,
    );
    const set = await http(`${emu.url}/__emulator/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        accessToken: { status: 200, body: '<html>', contentType: 'text/html' },
      }),
    });
    assert.equal(set.status, 200);
    const html = await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: SECRET });
    assert.equal(html.headers['content-type'], 'text/html');
    await http(`${emu.url}/__emulator/faults`, { method: 'DELETE' });
    assert.equal(
      (await post('/v1.0/oauth2/accessToken', { appKey: ID, appSecret: SECRET })).status,
      200,
    );
  });

  test('auto-approve redirects at once', async () => {
    emu.setAutoApprove('lisi');
    try {
      const r = await http(`${emu.url}/oauth2/auth?${authorizeParams()}`);
      assert.equal(r.status, 302);
      assert.ok(new URL(String(r.headers.location)).searchParams.get('authCode'));
    } finally {
      emu.setAutoApprove(undefined);
    }
  });

  test('keep-alive clients reuse one connection (Node http.Agent and undici)', async () => {
    // Both keep an idle connection only while the announced `Keep-Alive: timeout` exceeds
    // their margin (1 s and 2 s): a 1 s announcement made every request a new connection.
    const nodeAgent = new NodeAgent({ keepAlive: true, maxSockets: 1 });
    const undiciAgent = new UndiciAgent();
    let undiciConnections = 0;
    undiciAgent.on('connect', () => undiciConnections++);
    try {
      const reused: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        reused.push(
          await new Promise<boolean>((resolve, reject) => {
            const req = httpGet(`${emu.url}/__emulator/health`, { agent: nodeAgent }, (res) => {
              res.resume();
              res.on('end', () => resolve(req.reusedSocket));
            });
            req.on('error', reject);
          }),
        );
        // The client's turn to see the end of the answer and park the socket.
        await new Promise((r) => setImmediate(r));
        const { body } = await undiciRequest(`${emu.url}/__emulator/health`, {
          dispatcher: undiciAgent,
        });
        await body.text();
      }
      assert.deepEqual(reused, [false, true, true], 'http.Agent');
      assert.equal(undiciConnections, 1, 'undici');
    } finally {
      nodeAgent.destroy();
      await undiciAgent.close();
    }
  });

  test('HTML on the page is escaped', async () => {
    const r = await http(
      `${emu.url}/oauth2/auth?${authorizeParams({ state: '"><script>alert(1)</script>' })}`,
    );
    assert.ok(!r.body.includes('<script>alert(1)'));
    assert.ok(r.body.includes('&quot;&gt;&lt;script&gt;'));
  });
});

describe('fault specs and users files', () => {
  test('parseFaultSpec', () => {
    assert.deepEqual(parseFaultSpec('usersMe=latency:15000'), ['usersMe', { latencyMs: 15000 }]);
    assert.deepEqual(parseFaultSpec('userAccessToken=reset,times:2'), [
      'userAccessToken',
      { reset: true, times: 2 },
    ]);
    const [, html] = parseFaultSpec('accessToken=502,html');
    assert.equal(html.status, 502);
    assert.equal(html.contentType, 'text/html');
    const [, status] = parseFaultSpec('accessToken=500');
    assert.equal(JSON.parse(status.body!).code, 'InternalError');
    assert.throws(() => parseFaultSpec('nowhere=500'), { code: 'usage' });
    assert.throws(() => parseFaultSpec('usersMe=explode'), { code: 'usage' });
  });

  test('parseUsers', () => {
    const users = parseUsers({
      users: [
        { nick: 'A', unionId: 'U1', email: '' },
        { id: 'b', nick: 'B', unionId: 'U2' },
      ],
    });
    assert.deepEqual(
      users.map((u) => u.id),
      ['U1', 'b'],
    );
    assert.throws(() => parseUsers([]), { code: 'usage' });
    assert.throws(() => parseUsers([{ nick: 'x' }]), { code: 'usage', message: /unionId/ });
    assert.throws(() => parseUsers([{ nick: 'x', unionId: 'u', email: 5 }]), { code: 'usage' });
  });
});

describe('emulator command', () => {
  test('starts, prints its base URL, and serves the user list', async () => {
    const child = startCli(['emulator', '--port', '0']);
    await new Promise<void>((resolve) => {
      const check = () =>
        /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(child.stdoutText())
          ? resolve()
          : setTimeout(check, 20);
      check();
    });
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.stdoutText())![1]!;
    const page = await http(
      `${base}/oauth2/auth?${authorizeParams({ redirect_uri: 'http://localhost:8080/auth/dingtalk/callback' })}`,
    );
    assert.equal(page.status, 200);
    assert.match(page.body, /张三/);
    child.kill('SIGINT');
    const done = await child.done;
    assert.equal(done.code, 0);
  });

  test('--client-secret warns (the process list shows it); --client-secret-file is read instead', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'secret');
    writeFileSync(file, 'file-secret-0123456789abcdef\n');
    for (const args of [
      ['--client-secret', 'cmdline-secret-0123'],
      ['--client-secret-file', file],
    ]) {
      const child = startCli(['emulator', '--port', '0', '--client-id', 'dingotherapp', ...args]);
      await new Promise<void>((resolve) => {
        const check = () =>
          /listening on/.test(child.stdoutText()) ? resolve() : setTimeout(check, 20);
        check();
      });
      child.kill('SIGINT');
      const done = await child.done;
      assert.equal(done.code, 0, done.stderr);
      if (args[0] === '--client-secret') assert.match(done.stderr, /process list/);
      else assert.doesNotMatch(done.stderr, /process list/);
      assert.ok(!(done.stdout + done.stderr).includes('file-secret-0123456789abcdef'));
    }
  });

  test('check-config --live passes with the right secret and fails with exit 7 and invalidClientIdOrSecret otherwise', async () => {
    const emulator = await startEmulator();
    try {
      const env = {
        DINGTALK_API_BASE: emulator.url,
        DINGTALK_CLIENT_ID: ID,
        JWT_SECRET: 'x'.repeat(40),
      };
      const good = await runCli(['check-config', '--live', '--json'], {
        env: { ...env, DINGTALK_CLIENT_SECRET: SECRET },
      });
      assert.equal(good.code, 0, good.stdout);
      const live = JSON.parse(good.stdout).checks.find((c: { id: string }) => c.id === 'live');
      assert.equal(live.status, 'pass');
      const bad = await runCli(['check-config', '--live'], {
        env: { ...env, DINGTALK_CLIENT_SECRET: 'wrong-secret-wrong-secret-wrong-secret' },
      });
      assert.equal(bad.code, 7);
      assert.match(bad.stdout, /✗ live .*invalidClientIdOrSecret/);
      assert.ok(!bad.stdout.includes('wrong-secret-wrong'));
      await emulator.close();
      const down = await runCli(['check-config', '--live', '--json'], {
        env: { ...env, DINGTALK_CLIENT_SECRET: SECRET },
      });
      assert.equal(down.code, 7);
      assert.match(
        JSON.parse(down.stdout).checks.find((c: { id: string }) => c.id === 'live').message,
        /could not reach DingTalk/,
      );
    } finally {
      await emulator.close();
    }
  });
});
