/**
 * The DingTalk client: against the emulator (real HTTP on loopback) and against undici's
 * MockAgent for every error shape the real service produces.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockAgent } from 'undici';
import {
  DingTalkClient,
  parseProfileResponse,
  parseUserTokenResponse,
} from '../src/dingtalk/client.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import {
  EMULATOR_CLIENT_ID as ID,
  EMULATOR_CLIENT_SECRET as SECRET,
} from '../src/emulator/users.ts';
import { http } from './helpers.ts';

const REDIRECT = 'http://127.0.0.1:1/auth/dingtalk/callback';
const creds = { clientId: ID, clientSecret: SECRET };

/** Gets a fresh code from the emulator as the browser would, for `user`. */
async function codeFor(emulator: Emulator, user = 'zhangsan'): Promise<string> {
  const form = new URLSearchParams({
    client_id: ID,
    response_type: 'code',
    scope: 'openid',
    prompt: 'consent',
    state: 's',
    redirect_uri: REDIRECT,
    decision: 'approve',
    user,
  });
  const r = await http(`${emulator.url}/oauth2/auth/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const location = new URL(String(r.headers.location));
  return location.searchParams.get('authCode')!;
}

describe('client against the emulator', () => {
  let emulator: Emulator;
  let client: DingTalkClient;
  before(async () => {
    emulator = await startEmulator({
      clients: [{ clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] }],
    });
    client = new DingTalkClient({ apiBase: emulator.url, timeoutMs: 1000 });
  });
  after(async () => {
    await client.close();
    await emulator.close();
  });

  test('exchange, then profile', async () => {
    const token = await client.exchangeCode(await codeFor(emulator), creds);
    assert.match(token.accessToken, /^[0-9a-f]{32}$/);
    assert.equal(token.expireIn, 7200);
    const profile = await client.getProfile(token.accessToken);
    assert.equal(profile.unionId, 'emuUnionZhangsan0001');
    assert.equal(profile.email, 'zhangsan@corp.example');
  });

  test('a user without email has no email field', async () => {
    const token = await client.exchangeCode(await codeFor(emulator, 'lisi'), creds);
    const profile = await client.getProfile(token.accessToken);
    assert.equal('email' in profile, false);
  });

  test('a spent code is invalidParameter.authCode.notFound with the hint', async () => {
    const code = await codeFor(emulator);
    await client.exchangeCode(code, creds);
    await assert.rejects(
      client.exchangeCode(code, creds),
      (error: { code: string; details: Record<string, unknown>; message: string }) => {
        assert.equal(error.code, 'dingtalk-refused');
        assert.equal(error.details.dingtalkCode, 'invalidParameter.authCode.notFound');
        assert.match(String(error.details.requestId), /^[0-9A-F-]{36}$/);
        assert.match(error.message, /already used or expired/);
        assert.ok(!error.message.includes(code));
        return true;
      },
    );
  });

  test('a wrong secret is invalidClientIdOrSecret, never echoing the secret', async () => {
    const wrong = { clientId: ID, clientSecret: 'wrong-secret-value-123' };
    await assert.rejects(
      client.exchangeCode(await codeFor(emulator), wrong),
      (error: { code: string; details: Record<string, unknown>; message: string }) => {
        assert.equal(error.details.dingtalkCode, 'invalidClientIdOrSecret');
        assert.match(error.message, /DINGTALK_CLIENT_SECRET/);
        assert.ok(!error.message.includes('wrong-secret-value-123'));
        return true;
      },
    );
    await assert.rejects(client.getAppAccessToken(wrong), {
      code: 'dingtalk-refused',
      message: /invalidClientIdOrSecret/,
    });
  });

  test('app token with the right credentials', async () => {
    const token = await client.getAppAccessToken(creds);
    assert.equal(token.expireIn, 7200);
  });

  test('missing profile permission names Contact.User.Read', async () => {
    const token = await client.exchangeCode(await codeFor(emulator, 'zhaoliu'), creds);
    await assert.rejects(
      client.getProfile(token.accessToken),
      (error: { exitCode: number; details: Record<string, unknown>; message: string }) => {
        assert.equal(error.exitCode, 3);
        assert.equal(
          error.details.dingtalkCode,
          'Forbidden.AccessDenied.AccessTokenPermissionDenied',
        );
        assert.deepEqual(error.details.requiredScopes, ['Contact.User.Read']);
        assert.match(error.message, /add the permission Contact\.User\.Read/);
        return true;
      },
    );
  });

  test('an unknown access token is InvalidAuthentication', async () => {
    await assert.rejects(client.getProfile('not-a-token'), { message: /InvalidAuthentication/ });
  });

  test('latency past the timeout is exit 4 "no answer within"', async () => {
    emulator.setFault('accessToken', { latencyMs: 3000, times: 1 });
    await assert.rejects(
      client.getAppAccessToken(creds),
      (error: { code: string; exitCode: number; message: string }) => {
        assert.equal(error.code, 'dingtalk-unreachable');
        assert.equal(error.exitCode, 4);
        assert.match(error.message, /no answer within 1 s/);
        return true;
      },
    );
  });

  test('a connection reset is exit 4', async () => {
    emulator.setFault('accessToken', { reset: true, times: 1 });
    await assert.rejects(client.getAppAccessToken(creds), { code: 'dingtalk-unreachable' });
  });

  test('nothing listening is exit 4 "connection refused"', async () => {
    const dead = new DingTalkClient({ apiBase: 'http://127.0.0.1:1', timeoutMs: 1000 });
    await assert.rejects(dead.getAppAccessToken(creds), {
      code: 'dingtalk-unreachable',
      message: /connection refused/,
    });
    await dead.close();
  });
});

describe('client against MockAgent: every error shape', () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get('https://api.dingtalk.example');
  const client = new DingTalkClient({
    apiBase: 'https://api.dingtalk.example',
    dispatcher: agent,
    timeoutMs: 500,
  });
  after(() => agent.close());

  const json = { headers: { 'content-type': 'application/json' } };
  const cases: [string, number, string, Record<string, string>, string, number, RegExp][] = [
    [
      '400 string code',
      400,
      JSON.stringify({
        requestid: 'R1',
        code: 'invalidParameter.authCode.notFound',
        message: '不合法的临时授权码',
      }),
      json.headers,
      'dingtalk-refused',
      3,
      /invalidParameter\.authCode\.notFound \(不合法的临时授权码\), request id R1; the code was already used/,
    ],
    [
      'invalid.client',
      400,
      JSON.stringify({ code: 'invalid.client', message: 'x' }),
      json.headers,
      'dingtalk-refused',
      3,
      /DINGTALK_CLIENT_SECRET/,
    ],
    [
      '403 throttled',
      403,
      JSON.stringify({ code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', message: 'qps' }),
      json.headers,
      'dingtalk-refused',
      3,
      /throttling/,
    ],
    [
      '403 HTML block page',
      403,
      '<html><body>blocked</body></html>',
      { 'content-type': 'text/html' },
      'dingtalk-refused',
      3,
      /HTML page.*wait/,
    ],
    ['429 no body', 429, '', {}, 'dingtalk-refused', 3, /empty body/],
    [
      '500',
      500,
      JSON.stringify({ code: 'InternalError', message: 'boom' }),
      json.headers,
      'dingtalk-unavailable',
      4,
      /HTTP 500 \(InternalError\)/,
    ],
    [
      '503 HTML',
      503,
      '<html>down</html>',
      { 'content-type': 'text/html' },
      'dingtalk-unavailable',
      4,
      /HTTP 503/,
    ],
    [
      '200 HTML (captive portal)',
      200,
      '<!doctype html><p>login to wifi</p>',
      { 'content-type': 'text/html' },
      'dingtalk-bad-response',
      4,
      /HTML page/,
    ],
    [
      '200 truncated JSON',
      200,
      '{"accessToken": "ab',
      json.headers,
      'dingtalk-bad-response',
      4,
      /not JSON/,
    ],
    [
      '200 without accessToken',
      200,
      JSON.stringify({ refreshToken: 'r', expireIn: 7200 }),
      json.headers,
      'dingtalk-bad-response',
      4,
      /has no accessToken/,
    ],
    [
      '200 error hidden in the body',
      200,
      JSON.stringify({ code: 'invalidClientIdOrSecret', message: 'x' }),
      json.headers,
      'dingtalk-refused',
      3,
      /invalidClientIdOrSecret/,
    ],
  ];
  for (const [name, status, body, headers, code, exitCode, message] of cases) {
    test(name, async () => {
      pool
        .intercept({ path: '/v1.0/oauth2/userAccessToken', method: 'POST' })
        .reply(status, body, { headers });
      await assert.rejects(
        client.exchangeCode('the-code', { clientId: 'dingx', clientSecret: 'sekrit-value' }),
        (error: { code: string; exitCode: number; message: string }) => {
          assert.equal(error.code, code);
          assert.equal(error.exitCode, exitCode);
          assert.match(error.message, message);
          assert.ok(!error.message.includes('sekrit-value'));
          return true;
        },
      );
    });
  }

  test('the request is camelCase JSON with no auth header and no redirect_uri', async () => {
    let seen: { body: unknown; headers: Record<string, string> } | undefined;
    pool.intercept({ path: '/v1.0/oauth2/userAccessToken', method: 'POST' }).reply(
      200,
      (opts) => {
        seen = {
          body: JSON.parse(String(opts.body)),
          headers: opts.headers as Record<string, string>,
        };
        return { accessToken: 'AT', refreshToken: 'RT', expireIn: 7200 };
      },
      json,
    );
    const token = await client.exchangeCode('C', { clientId: 'dingx', clientSecret: 's' });
    assert.equal(token.accessToken, 'AT');
    assert.deepEqual(seen?.body, {
      clientId: 'dingx',
      clientSecret: 's',
      code: 'C',
      grantType: 'authorization_code',
    });
    const names = Object.keys(seen?.headers ?? {}).map((h) => h.toLowerCase());
    assert.ok(names.includes('content-type'));
    assert.ok(!names.includes('authorization'));
  });

  test('the profile call sends x-acs-dingtalk-access-token, not Bearer', async () => {
    pool
      .intercept({
        path: '/v1.0/contact/users/me',
        method: 'GET',
        headers: { 'x-acs-dingtalk-access-token': 'AT' },
      })
      .reply(200, { unionId: 'U', nick: 'n' }, json);
    assert.equal((await client.getProfile('AT')).unionId, 'U');
  });

  test('a profile without unionId is a bad response', async () => {
    pool
      .intercept({ path: '/v1.0/contact/users/me', method: 'GET' })
      .reply(200, { nick: 'n' }, json);
    await assert.rejects(client.getProfile('AT'), {
      code: 'dingtalk-bad-response',
      message: /no unionId/,
    });
  });

  test('the access token never appears in a profile error', async () => {
    pool
      .intercept({ path: '/v1.0/contact/users/me', method: 'GET' })
      .reply(400, { code: 'InvalidAuthentication', message: 'token SECRET-AT-123 bad' }, json);
    await assert.rejects(client.getProfile('SECRET-AT-123'), (error: Error) => {
      assert.ok(!error.message.includes('SECRET-AT-123'));
      return true;
    });
  });

  test('pure parsers judge without I/O', () => {
    assert.equal(
      parseUserTokenResponse({
        status: 200,
        contentType: 'application/json',
        text: '{"accessToken":"a"}',
      }).accessToken,
      'a',
    );
    assert.throws(
      () =>
        parseProfileResponse({
          status: 404,
          contentType: 'application/json',
          text: '{"code":"invalidParameter.user.notFound","message":"找不到该用户"}',
        }),
      { code: 'dingtalk-refused' },
    );
  });
});
