/**
 * `login --emulator` reaches its in-process emulator through node:http (`loopback`, issue 22:
 * no undici to load); every other run goes through undici. Both ways must give the same
 * answers and the same errors: each scenario below runs once each way against the same
 * emulator, with the same faults, and the outcomes are compared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DingTalkClient } from '../src/dingtalk/client.ts';
import { startEmulator, type Emulator, type Fault } from '../src/emulator/server.ts';
import { parseFaultSpec } from '../src/emulator/faults.ts';
import {
  EMULATOR_CLIENT_ID as ID,
  EMULATOR_CLIENT_SECRET as SECRET,
} from '../src/emulator/users.ts';
import { loopbackRequest } from '../src/net/loopback-request.ts';
import { http } from './helpers.ts';

const REDIRECT = 'http://127.0.0.1:1/auth/dingtalk/callback';
const creds = { clientId: ID, clientSecret: SECRET };
const TIMEOUT_MS = 1000;

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
  return new URL(String(r.headers.location)).searchParams.get('code')!;
}

/** A login's two calls, or the error that ends them: what a login shows of either. */
async function outcome(
  emulator: Emulator,
  loopback: boolean,
  user: string,
  faults: [string, Fault][],
): Promise<unknown> {
  const client = new DingTalkClient({ apiBase: emulator.url, loopback, timeoutMs: TIMEOUT_MS });
  try {
    const code = await codeFor(emulator, user);
    for (const [endpoint, fault] of faults) emulator.setFault(endpoint as never, { ...fault });
    const token = await client.exchangeCode(code, creds);
    const profile = await client.getProfile(token.accessToken);
    // Tokens are random per grant; their shape is what both ways must agree on.
    return {
      token: { ...token, accessToken: token.accessToken.length, refreshToken: 'x' },
      profile,
    };
  } catch (error) {
    const e = error as { code?: string; exitCode?: number; message?: string; details?: unknown };
    return {
      error: { code: e.code, exitCode: e.exitCode, message: e.message, details: e.details },
    };
  } finally {
    for (const [endpoint] of faults) emulator.setFault(endpoint as never, undefined);
    await client.close();
  }
}

const big = JSON.stringify({ accessToken: 'a'.repeat(1024 * 1024 + 10), expireIn: 7200 });
const SCENARIOS: [string, string, string[] | [string, Fault][]][] = [
  ['a login', 'zhangsan', []],
  ['a user without email', 'lisi', []],
  ['503 at the exchange', 'zhangsan', ['userAccessToken=503']],
  ['an HTML page at the exchange', 'zhangsan', ['userAccessToken=200,html']],
  ['a truncated body', 'zhangsan', ['userAccessToken=truncated']],
  ['an empty body', 'zhangsan', ['userAccessToken=empty']],
  ['500 with a token', 'zhangsan', ['userAccessToken=500,with-token']],
  ['no token', 'zhangsan', ['userAccessToken=no-token']],
  ['the connection reset at the exchange', 'zhangsan', ['userAccessToken=reset']],
  ['the connection reset at the profile', 'zhangsan', ['usersMe=reset']],
  ['a profile without unionId', 'zhangsan', ['usersMe=no-unionid']],
  ['an email-only profile', 'zhangsan', ['usersMe=email-only']],
  ['401 at the profile', 'zhangsan', ['usersMe=401']],
  ['plain text at the profile', 'zhangsan', ['usersMe=502,text']],
  ['an answer past the timeout', 'zhangsan', [`usersMe=latency:${TIMEOUT_MS + 500}`]],
  ['an answer over 1 MiB', 'zhangsan', [['userAccessToken', { status: 200, body: big }]]],
];

describe('the in-process emulator through node:http answers as through undici', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({
      clients: [{ clientId: ID, clientSecret: SECRET, redirectUris: [REDIRECT] }],
    });
  });
  after(() => emulator.close());

  for (const [name, user, specs] of SCENARIOS) {
    test(name, async () => {
      const faults = specs.map((s) => (typeof s === 'string' ? parseFaultSpec(s) : s));
      const viaUndici = await outcome(emulator, false, user, faults);
      const viaNodeHttp = await outcome(emulator, true, user, faults);
      assert.deepEqual(viaNodeHttp, viaUndici);
      // The scenario does what its name says (a fault that did nothing would compare equal).
      assert.equal('error' in (viaUndici as object), specs.length > 0 && !/email-only/.test(name));
    });
  }

  test('a timed-out answer is a timeout, not a torn connection', async () => {
    const faults = parseFaultSpec(`usersMe=latency:${TIMEOUT_MS + 500}`);
    const r = (await outcome(emulator, true, 'zhangsan', [faults])) as {
      error: { code: string; message: string; details: { reason: string } };
    };
    assert.equal(r.error.code, 'dingtalk-unreachable');
    assert.equal(r.error.details.reason, 'timeout');
    assert.match(r.error.message, /no answer within 1 s/);
  });

  test('nothing but 127.0.0.1 over plain http goes this way', async () => {
    for (const url of ['http://localhost:1/x', 'https://127.0.0.1:1/x', 'http://10.0.0.1/x'])
      await assert.rejects(
        loopbackRequest(url, { method: 'GET', headers: {}, body: null, timeoutMs: 100 }),
        /not this process's emulator/,
      );
  });
});
