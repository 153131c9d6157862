/** The emulator's own contract: it must behave like DingTalk (dingtalk-api.md). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseFaultSpec } from '../src/emulator/faults.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import {
  createTokenSealer,
  MAX_SEALED_CLIENTS,
  MAX_SEALED_USERS,
  type SealedGrant,
} from '../src/emulator/tokens.ts';
import {
  EMULATOR_CLIENT_ID as ID,
  EMULATOR_CLIENT_SECRET as SECRET,
  parseUsers,
} from '../src/emulator/users.ts';
import { http, runCli, startCli, tempDir } from './helpers.ts';
import { randomBytes } from 'node:crypto';
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
      const t = await exchangeAt(short.url, code);
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

describe('emulator tokens and sweeping (fake clock)', () => {
  const OTHER = { clientId: 'dingotherapp00000002', clientSecret: 'other-secret' };
  let emu: Emulator;
  let now: number;
  before(async () => {
    emu = await startEmulator({
      clients: [
        { clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] },
        { ...OTHER, redirectUris: [REDIRECT] },
      ],
      autoApprove: 'zhangsan',
      now: () => now,
    });
  });
  after(() => emu.close());

  const start = Date.UTC(2026, 0, 1);
  const post = (path: string, body: unknown) =>
    http(`${emu.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const code = async (clientId = ID) => {
    const r = await http(`${emu.url}/oauth2/auth?${authorizeParams({ client_id: clientId })}`);
    return new URL(String(r.headers.location)).searchParams.get('code')!;
  };
  const tokens = async (
    body: Record<string, unknown>,
    app: { clientId: string; clientSecret: string } = { clientId: ID, clientSecret: SECRET },
  ) => JSON.parse((await post('/v1.0/oauth2/userAccessToken', { ...app, ...body })).body);
  const exchange = async (c: string, app?: { clientId: string; clientSecret: string }) =>
    tokens({ code: c, grantType: 'authorization_code' }, app);
  const refresh = async (refreshToken: string, app?: { clientId: string; clientSecret: string }) =>
    tokens({ refreshToken, grantType: 'refresh_token' }, app);
  const me = async (accessToken: string) => {
    const r = await http(`${emu.url}/v1.0/contact/users/me`, {
      headers: { 'x-acs-dingtalk-access-token': accessToken },
    });
    return r.status === 200 ? 'ok' : JSON.parse(r.body).code;
  };
  const UNKNOWN_CODE = 'invalidParameter.authCode.notFound';
  const UNKNOWN_REFRESH = 'invalidParameter.refreshToken.notFound';

  test('an access token is valid for exactly its announced expireIn', async () => {
    now = start;
    const issued = await exchange(await code());
    assert.equal(issued.expireIn, 7200);
    assert.match(issued.accessToken, /^[0-9a-f]{32}$/);
    assert.match(issued.refreshToken, /^[0-9a-f]{32}$/);
    now = start + 7200_000;
    assert.equal(await me(issued.accessToken), 'ok');
    now = start + 7200_001;
    assert.equal(await me(issued.accessToken), 'InvalidAuthentication');
  });

  test('a code is valid for its lifetime; a swept one is refused as an unknown code', async () => {
    now = start;
    const kept = await code();
    assert.equal((await exchange(kept)).accessToken?.length, 32);
    const lastMoment = await code();
    const abandoned = await code();
    assert.equal(emu.held().codes, 2);
    now = start + 300_000;
    assert.equal((await exchange(lastMoment)).accessToken?.length, 32, 'valid up to 5 min');
    now = start + 300_001;
    await code(); // the next approval sweeps
    assert.equal(emu.held().codes, 1, 'the abandoned code is gone, the new one held');
    const answer = await exchange(abandoned);
    assert.deepEqual(
      { code: answer.code, message: answer.message },
      { code: UNKNOWN_CODE, message: '不合法的临时授权码' },
    );
    const unknown = await exchange('0'.repeat(32));
    assert.deepEqual([answer.code, answer.message], [unknown.code, unknown.message]);
  });

  test('tokens carry their kind, app and scope; an altered or foreign token is refused', async () => {
    now = start;
    const issued = await exchange(await code());
    assert.notEqual(issued.accessToken, issued.refreshToken);
    assert.equal(await me(issued.refreshToken), 'InvalidAuthentication', 'a refresh token');
    assert.equal((await refresh(issued.accessToken)).code, UNKNOWN_REFRESH, 'an access token');
    assert.equal((await refresh(issued.refreshToken, OTHER)).code, UNKNOWN_REFRESH, 'other app');
    const flipped = (t: string) => (t[0] === 'a' ? 'b' : 'a') + t.slice(1);
    assert.equal(await me(flipped(issued.accessToken)), 'InvalidAuthentication');
    assert.equal(await me(issued.accessToken.toUpperCase()), 'InvalidAuthentication');
    assert.equal((await refresh(flipped(issued.refreshToken))).code, UNKNOWN_REFRESH);
    const other = await startEmulator({ autoApprove: 'zhangsan', now: () => now });
    try {
      const r = await http(`${other.url}/v1.0/contact/users/me`, {
        headers: { 'x-acs-dingtalk-access-token': issued.accessToken },
      });
      assert.equal(JSON.parse(r.body).code, 'InvalidAuthentication', "another run's token");
    } finally {
      await other.close();
    }
    const corp = await tokens({
      code: new URL(
        String(
          (await http(`${emu.url}/oauth2/auth?${authorizeParams({ scope: 'openid corpid' })}`))
            .headers.location,
        ),
      ).searchParams.get('code'),
      grantType: 'authorization_code',
    });
    assert.equal(corp.corpId, 'dingemulatorcorp0001');
    assert.equal((await refresh(corp.refreshToken)).corpId, 'dingemulatorcorp0001', 'kept');
    assert.equal((await exchange(await code(OTHER.clientId), OTHER)).corpId, undefined);
  });

  test('a refresh token is single use and lives 30 days; a spent one is held until then', async () => {
    const day = 24 * 3600_000;
    now = start;
    const spentBefore = emu.held().spentRefreshTokens;
    const first = await exchange(await code());
    const second = await exchange(await code());
    const refreshed = await refresh(first.refreshToken);
    assert.equal(await me(refreshed.accessToken), 'ok');
    assert.equal((await refresh(first.refreshToken)).code, UNKNOWN_REFRESH, 'single use');
    assert.equal(emu.held().spentRefreshTokens, spentBefore + 1);

    now = start + day;
    const third = await refresh(refreshed.refreshToken); // its refresh token: day 1 + 30 days
    now = start + 30 * day;
    assert.equal((await refresh(second.refreshToken)).expireIn, 7200, 'valid up to 30 days');
    now = start + 30 * day + 1;
    assert.equal((await refresh(first.refreshToken)).code, UNKNOWN_REFRESH);
    now = start + 30 * day + 2000; // past the once-a-second limit of the sweep
    const fourth = await refresh(third.refreshToken);
    assert.equal(fourth.expireIn, 7200);
    assert.equal(emu.held().spentRefreshTokens, 1, 'those past their 30 days are swept');
    assert.equal((await refresh(third.refreshToken)).code, UNKNOWN_REFRESH, 'still single use');

    now = start + 31 * day + 2000;
    await code(); // an approval sweeps too
    assert.equal(emu.held().spentRefreshTokens, 0);
    assert.equal((await refresh(third.refreshToken)).code, UNKNOWN_REFRESH, 'expired');
    assert.equal((await refresh(fourth.refreshToken)).expireIn, 7200);
  });
});

describe('emulator token list', () => {
  test('kept only with recordTokens: a long-running emulator keeps no list', async () => {
    for (const recordTokens of [false, true]) {
      const emu = await startEmulator({
        clients: [{ clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] }],
        autoApprove: 'zhangsan',
        recordTokens,
      });
      try {
        const r = await http(`${emu.url}/oauth2/auth?${authorizeParams()}`);
        const code = new URL(String(r.headers.location)).searchParams.get('code');
        const t = await exchangeAt(emu.url, code!);
        const { accessToken, refreshToken } = JSON.parse(t.body);
        if (recordTokens) assert.deepEqual(emu.issuedTokens, [accessToken, refreshToken]);
        else assert.throws(() => emu.issuedTokens, /recordTokens/);
      } finally {
        await emu.close();
      }
    }
  });
});

describe('token sealing', () => {
  const grants: SealedGrant[] = [
    { kind: 'access', userIndex: 0, clientIndex: 0, corpId: false, expiresAt: 1 },
    { kind: 'refresh', userIndex: 3, clientIndex: 1, corpId: true, expiresAt: Date.now() },
    {
      kind: 'access',
      userIndex: MAX_SEALED_USERS - 1,
      clientIndex: MAX_SEALED_CLIENTS - 1,
      corpId: true,
      expiresAt: 2 ** 48 - 1,
    },
  ];
  test('opens what it sealed; every token is new, 32 hex characters', () => {
    const sealer = createTokenSealer();
    for (const grant of grants) {
      const a = sealer.seal(grant);
      const b = sealer.seal(grant);
      assert.match(a, /^[0-9a-f]{32}$/);
      assert.notEqual(a, b);
      assert.deepEqual(sealer.open(a), grant);
      assert.deepEqual(sealer.open(b), grant);
    }
  });
  test('refuses what it did not seal', () => {
    const sealer = createTokenSealer(Buffer.alloc(16, 1));
    const token = sealer.seal(grants[1]!);
    const other = createTokenSealer(Buffer.alloc(16, 2));
    for (const bad of [
      other.seal(grants[1]!),
      token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'),
      token.toUpperCase(),
      token.slice(1),
      `${token}0`,
      '',
      'z'.repeat(32),
    ])
      assert.equal(sealer.open(bad), undefined, bad);
    let opened = 0;
    for (let i = 0; i < 10_000; i++) if (sealer.open(randomBytes(16).toString('hex'))) opened++;
    assert.equal(opened, 0, 'random guesses');
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

/** The demo app's code exchange against the emulator at `base`. */
function exchangeAt(base: string, code: string) {
  return http(`${base}/v1.0/oauth2/userAccessToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      clientId: ID,
      clientSecret: SECRET,
      code,
      grantType: 'authorization_code',
    }),
  });
}
