/**
 * deployment/checks.ts, pure: the judges of a deployed muvee's answers, as tables. The same
 * judgements run against muvee's own code in deployment-oracle.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeCallback, judgeLogin, parseSetCookie } from '../src/deployment/checks.ts';
import { compareVerdicts, judgeTokenAtMuvee } from '../src/deployment/session-checks.ts';
import { describeFailure, judgeMuveeUrl, quote } from '../src/deployment/target.ts';
import type { Exchange, HttpAnswer } from '../src/deployment/probe.ts';

const answer = (status: number, extra: Partial<HttpAnswer> = {}): HttpAnswer => ({
  status,
  location: undefined,
  setCookie: [],
  contentType: 'text/plain',
  body: '',
  truncated: false,
  ...extra,
});
const at = (path: string, a: HttpAnswer): Exchange => ({
  url: `https://muvee.corp.example${path}`,
  answer: a,
});

test('the muvee URL: https anywhere, plain http only to loopback, nothing else', () => {
  const table: [string, 'pass' | 'fail', RegExp][] = [
    ['https://muvee.corp.example', 'pass', /^muvee at https:\/\/muvee\.corp\.example$/],
    ['https://muvee.corp.example/prefix/', 'pass', /at https:\/\/muvee\.corp\.example\/prefix$/],
    ['http://127.0.0.1:8080', 'pass', /plain http: loopback only/],
    ['http://localhost:8080', 'pass', /loopback only/],
    ['http://[::1]:8080', 'pass', /loopback only/],
    ['http://muvee.corp.example', 'fail', /plain http off this machine, so nothing is sent there/],
    ['http://10.0.0.5:8080', 'fail', /plain http off this machine/],
    ['muvee.corp.example', 'fail', /is not a URL/],
    ['ftp://muvee.corp.example', 'fail', /is not http\(s\)/],
    ['https://u:p@muvee.corp.example', 'fail', /user name or password/],
    ['https://muvee.corp.example/?x=1', 'fail', /has a query/],
    ['https://muvee.corp.example/#x', 'fail', /has a fragment/],
  ];
  for (const [raw, status, message] of table) {
    const { check, url } = judgeMuveeUrl(raw, '--muvee');
    assert.equal(check.status, status, raw);
    assert.match(check.message, message, raw);
    assert.equal(url !== undefined, status === 'pass', raw);
  }
  // credentials are never echoed
  assert.doesNotMatch(
    judgeMuveeUrl('https://u:hunter2@x.example', '--muvee').check.message,
    /hunter2/,
  );
});

test('network failures: what happened and the fix', () => {
  const url = 'https://muvee.corp.example/api/auth/providers';
  const table: [string, string, RegExp][] = [
    ['ECONNREFUSED', 'Error', /refused the connection \(nothing listens on muvee\.corp\.example\)/],
    ['ENOTFOUND', 'Error', /host 'muvee\.corp\.example' not found/],
    [
      'UND_ERR_HEADERS_TIMEOUT',
      'HeadersTimeoutError',
      /no answer from .* within 2\.5 s \(--http-timeout\)/,
    ],
    ['', 'TimeoutError', /within 2\.5 s/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'Error', /not trusted here .*NODE_EXTRA_CA_CERTS/],
    ['CERT_HAS_EXPIRED', 'Error', /has expired .*renew it/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'Error', /is not for 'muvee\.corp\.example'/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'Error', /does not speak TLS on port 443/],
    ['ECONNRESET', 'Error', /closed the connection before answering/],
    ['HPE_INVALID_HEADER_TOKEN', 'HTTPParserError', /not HTTP\/1\.1/],
  ];
  for (const [code, name, message] of table)
    assert.match(
      describeFailure({ code, name, message: `m\x1b[2J` }, url, 2500),
      message,
      code || name,
    );
  assert.match(
    describeFailure({ code: 'EWHAT', name: 'Error', message: 'odd\x1b[2J' }, url, 1000),
    /'odd\\x1b\[2J'/,
  );
});

test('quote: one safe line, cut at the limit', () => {
  assert.equal(quote('a\nb\x1b'), "'a\\x0ab\\x1b'");
  assert.equal(quote('x'.repeat(10), 4), "'xxxx…'");
  assert.equal(quote('钉钉钉', 2), "'钉钉…'");
});

test('Set-Cookie parsing: attributes by name, any case', () => {
  const c = parseSetCookie(
    'oauth_state=dingtalk:abc; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Lax',
  );
  assert.equal(c.name, 'oauth_state');
  assert.equal(c.value, 'dingtalk:abc');
  assert.equal(c.attributes.get('samesite'), 'Lax');
  assert.ok(c.attributes.has('httponly') && c.attributes.has('secure'));
});

test("muvee's login redirect, judged against the configuration", () => {
  const muvee = new URL('https://muvee.corp.example');
  const location = (q: Record<string, string>) =>
    `https://login.dingtalk.com/oauth2/auth?${new URLSearchParams({ client_id: 'dingabc', prompt: 'consent', redirect_uri: 'https://muvee.corp.example/auth/dingtalk/callback', response_type: 'code', scope: 'openid', state: 's1', ...q })}`;
  const cookie = 'oauth_state=dingtalk:s1; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Lax';
  const judge = (q: Record<string, string>, expect = {}) =>
    Object.fromEntries(
      judgeLogin(
        at('/auth/dingtalk/login', answer(302, { location: location(q), setCookie: [cookie] })),
        muvee,
        { clientId: 'dingabc', redirectUrl: undefined, baseDomain: undefined, ...expect },
        1000,
      ).map((c) => [c.id, c.status]),
    );
  assert.deepEqual(judge({}), {
    'muvee-login': 'pass',
    'muvee-client-id': 'pass',
    'muvee-redirect-https': 'pass',
    'muvee-redirect-path': 'pass',
    'muvee-redirect-host': 'pass',
    'muvee-authorize-params': 'pass',
    'muvee-state-cookie': 'pass',
  });
  assert.equal(judge({ client_id: 'dingold' })['muvee-client-id'], 'fail');
  assert.equal(judge({}, { clientId: undefined })['muvee-client-id'], 'warn');
  assert.equal(judge({ scope: 'openid corpid' })['muvee-authorize-params'], 'fail');
  assert.equal(judge({ state: 'other' })['muvee-state-cookie'], 'fail');
  const other = { redirect_uri: 'https://apps.corp.example/auth/dingtalk/callback' };
  assert.equal(judge(other)['muvee-redirect-host'], 'fail');
  assert.equal(judge(other, { baseDomain: 'corp.example' })['muvee-redirect-host'], 'pass');
  assert.equal(
    judge({}, { redirectUrl: 'https://muvee.corp.example/auth/dingtalk/callback' })[
      'muvee-redirect-url'
    ],
    'pass',
  );
  assert.equal(
    judge({}, { redirectUrl: 'https://old.corp.example/auth/dingtalk/callback' })[
      'muvee-redirect-url'
    ],
    'warn',
  );
  assert.equal(
    judge({}, { redirectUrl: 'https://muvee.corp.example/oauth/callback' })['muvee-redirect-url'],
    'fail',
  );
  assert.equal(
    judge({ redirect_uri: 'http://muvee.corp.example/auth/dingtalk/callback' })[
      'muvee-redirect-https'
    ],
    'fail',
  );
});

test('the forged-state callback: only 400 passes', () => {
  const judge = (status: number) =>
    judgeCallback(at('/auth/dingtalk/callback', answer(status, { body: 'x' })), 1000).status;
  assert.deepEqual([400, 200, 302, 401, 404, 500].map(judge), [
    'pass',
    'fail',
    'fail',
    'fail',
    'fail',
    'fail',
  ]);
});

test("verify-token --muvee: muvee's answer, and whether the two verdicts agree", () => {
  const user = { id: 'u1', email: 'a@b.example', role: 'member', authorized: true };
  const yes = judgeTokenAtMuvee(at('/api/me', answer(200, { body: JSON.stringify(user) })), 1000);
  const no = judgeTokenAtMuvee(at('/api/me', answer(401, { body: 'unauthorized\n' })), 1000);
  const none = judgeTokenAtMuvee(at('/api/me', answer(502, { body: 'bad gateway' })), 1000);
  assert.equal(yes.accepts, true);
  assert.equal(no.accepts, false);
  assert.equal(none.accepts, undefined);
  assert.deepEqual(compareVerdicts({ valid: true }, yes), { agrees: true });
  assert.deepEqual(compareVerdicts({ valid: false, reason: 'expired' }, no), { agrees: true });
  assert.equal(compareVerdicts({ valid: true }, none).agrees, undefined);
  assert.match(
    compareVerdicts({ valid: true }, no).disagreement!,
    /muvee runs with another JWT_SECRET, or it has no user with this uid/,
  );
  assert.match(
    compareVerdicts({ valid: false, reason: 'bad-signature' }, yes).disagreement!,
    /signed with the JWT_SECRET the deployed muvee runs with/,
  );
  assert.match(
    compareVerdicts(
      { valid: false, reason: 'wrong-algorithm', muveeNote: 'muvee accepts HS384' },
      yes,
    ).disagreement!,
    /stricter than muvee here \(muvee accepts HS384\)/,
  );
});
