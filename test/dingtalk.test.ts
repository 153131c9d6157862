/** Pure DingTalk rules: authorize URL, callback parsing, email resolution, admission. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildAuthorizeUrl,
  parseCallback,
  parsePasted,
  safeEqual,
  type CallbackRejection,
} from '../src/dingtalk/authorize.ts';
import { adminHint, admission, admit, resolveEmail, roleFor } from '../src/muvee/identity.ts';
import { maskMobile } from '../src/dingtalk/profile.ts';

const STATE = 'expected-state-0123456789';

describe('buildAuthorizeUrl', () => {
  test('exactly the parameters muvee sends', () => {
    const url = new URL(
      buildAuthorizeUrl(
        {
          loginBase: 'https://login.dingtalk.com',
          clientId: 'dingabc',
          redirectUrl: 'https://m.example/auth/dingtalk/callback',
        },
        'S T/ate',
      ),
    );
    assert.equal(url.origin + url.pathname, 'https://login.dingtalk.com/oauth2/auth');
    // Go's url.Values.Encode(): keys sorted.
    assert.deepEqual(
      [...url.searchParams],
      [
        ['client_id', 'dingabc'],
        ['prompt', 'consent'],
        ['redirect_uri', 'https://m.example/auth/dingtalk/callback'],
        ['response_type', 'code'],
        ['scope', 'openid'],
        ['state', 'S T/ate'],
      ],
    );
  });

  // Byte for byte what Go prints for url.Values{...}.Encode() with these values (QueryEscape:
  // space → +, '*' → %2A, '~' kept, UTF-8 bytes escaped upper-case).
  const goCases: [string, { clientId: string; redirectUrl: string; state: string }, string][] = [
    [
      'plain',
      {
        clientId: 'dingabc',
        redirectUrl: 'http://localhost:8080/auth/dingtalk/callback',
        state: 's1',
      },
      'client_id=dingabc&prompt=consent&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fdingtalk%2Fcallback&response_type=code&scope=openid&state=s1',
    ],
    [
      "'*', '~', space and non-ASCII",
      { clientId: 'a*b~c', redirectUrl: 'https://m.example/cb?x=1 2', state: '状 态*~' },
      'client_id=a%2Ab~c&prompt=consent&redirect_uri=https%3A%2F%2Fm.example%2Fcb%3Fx%3D1+2&response_type=code&scope=openid&state=%E7%8A%B6+%E6%80%81%2A~',
    ],
    [
      "the rest of Go's reserved set",
      { clientId: "!'()", redirectUrl: 'https://m.example/#frag', state: "a+b&c=d;e,f@g$h:i/j?k'" },
      'client_id=%21%27%28%29&prompt=consent&redirect_uri=https%3A%2F%2Fm.example%2F%23frag&response_type=code&scope=openid&state=a%2Bb%26c%3Dd%3Be%2Cf%40g%24h%3Ai%2Fj%3Fk%27',
    ],
  ];
  for (const [name, input, query] of goCases) {
    test(`byte-identical to Go's url.Values.Encode(): ${name}`, () => {
      const url = buildAuthorizeUrl(
        {
          loginBase: 'https://login.dingtalk.com',
          clientId: input.clientId,
          redirectUrl: input.redirectUrl,
        },
        input.state,
      );
      assert.equal(url, `https://login.dingtalk.com/oauth2/auth?${query}`);
    });
  }

  // DINGTALK_LOGIN_BASE behind a proxy keeps its path, as DINGTALK_API_BASE does for the client.
  const bases: [string, string][] = [
    ['http://127.0.0.1:9', 'http://127.0.0.1:9/oauth2/auth'],
    ['http://127.0.0.1:9/', 'http://127.0.0.1:9/oauth2/auth'],
    ['http://127.0.0.1:9/proxy/dingtalk', 'http://127.0.0.1:9/proxy/dingtalk/oauth2/auth'],
    ['http://127.0.0.1:9/proxy/dingtalk/', 'http://127.0.0.1:9/proxy/dingtalk/oauth2/auth'],
    ['https://gw.example/a/b//', 'https://gw.example/a/b/oauth2/auth'],
  ];
  for (const [loginBase, endpoint] of bases) {
    test(`login base ${loginBase} keeps its path prefix`, () => {
      const url = new URL(
        buildAuthorizeUrl({ loginBase, clientId: 'x', redirectUrl: 'http://l/' }, 's'),
      );
      assert.equal(url.origin + url.pathname, endpoint);
      assert.deepEqual(
        [...url.searchParams.keys()],
        ['client_id', 'prompt', 'redirect_uri', 'response_type', 'scope', 'state'],
      );
    });
  }
});

describe('parseCallback', () => {
  const ok: [string, string][] = [
    [`/cb?authCode=A1&state=${STATE}`, 'A1'],
    [`/cb?code=C1&state=${STATE}`, 'C1'],
    [`/cb?code=B1&authCode=B1&state=${STATE}`, 'B1'],
    [`/cb?state=${STATE}&authCode=abc-DEF_123.x~`, 'abc-DEF_123.x~'],
  ];
  for (const [url, code] of ok) {
    test(`accepts ${url}`, () =>
      assert.deepEqual(parseCallback(url, STATE), { kind: 'code', code }));
  }

  test('error=access_denied is a result, not an exception', () => {
    assert.deepEqual(parseCallback(`/cb?error=access_denied&state=${STATE}`, STATE), {
      kind: 'error',
      error: 'access_denied',
      description: undefined,
    });
  });

  test('reflected error text loses control characters', () => {
    const result = parseCallback(
      `/cb?error=${encodeURIComponent('x\u001b[31mred\r\n')}&state=${STATE}`,
      STATE,
    );
    assert.equal(result.kind === 'error' && result.error, 'x?[31mred??');
  });

  const refused: [string, string, CallbackRejection][] = [
    ['no state', '/cb?authCode=A', 'missing-state'],
    ['empty state', '/cb?authCode=A&state=', 'missing-state'],
    ['wrong state', '/cb?authCode=A&state=nope', 'wrong-state'],
    ['state prefix', `/cb?authCode=A&state=${STATE.slice(0, -1)}`, 'wrong-state'],
    ['error with wrong state', '/cb?error=access_denied&state=nope', 'wrong-state'],
    ['repeated state', `/cb?authCode=A&state=${STATE}&state=${STATE}`, 'repeated-parameter'],
    ['repeated code', `/cb?authCode=A&authCode=B&state=${STATE}`, 'repeated-parameter'],
    ['no code', `/cb?state=${STATE}`, 'no-code'],
    [
      'code with markup',
      `/cb?authCode=${encodeURIComponent('<script>')}&state=${STATE}`,
      'bad-code',
    ],
  ];
  test('code and authCode disagree: code is exchanged, as muvee reads code first', () => {
    assert.deepEqual(parseCallback(`/cb?authCode=B&code=A&state=${STATE}`, STATE), {
      kind: 'code',
      code: 'A',
      ignoredAuthCode: 'B',
    });
    assert.deepEqual(parseCallback(`/cb?authCode=B&state=${STATE}`, STATE), {
      kind: 'code',
      code: 'B',
    });
    assert.deepEqual(parseCallback(`/cb?code=A&authCode=A&state=${STATE}`, STATE), {
      kind: 'code',
      code: 'A',
    });
  });

  for (const [name, url, reason] of refused) {
    test(`refuses ${name}`, () => assert.throws(() => parseCallback(url, STATE), { reason }));
  }
});

describe('parsePasted', () => {
  test('a full URL with the right state', () => {
    assert.deepEqual(
      parsePasted(
        ` https://muvee.example/auth/dingtalk/callback?authCode=P1&state=${STATE}\n`,
        STATE,
      ),
      { kind: 'code', code: 'P1' },
    );
  });
  test('a full URL without state (the state is optional here)', () => {
    assert.deepEqual(parsePasted('https://muvee.example/auth/dingtalk/callback?code=P2', STATE), {
      kind: 'code',
      code: 'P2',
    });
  });
  test('a wrong state is still refused', () => {
    assert.throws(() => parsePasted('https://muvee.example/cb?code=P3&state=bad', STATE), {
      reason: 'wrong-state',
    });
  });
  test('a bare code', () =>
    assert.deepEqual(parsePasted('abc123', STATE), { kind: 'code', code: 'abc123' }));
  test('gibberish', () =>
    assert.throws(() => parsePasted('two words', STATE), { reason: 'bad-code' }));
});

test('safeEqual', () => {
  assert.equal(safeEqual('a', 'a'), true);
  assert.equal(safeEqual('a', 'ab'), false);
  assert.equal(safeEqual('', ''), true);
});

describe('resolveEmail: exactly as DingTalk sent it (muvee trims and lower-cases nothing)', () => {
  const cases: [string, Record<string, unknown>, string, 'profile' | 'synthetic', RegExp | null][] =
    [
      [
        'profile email',
        { email: 'zs@corp.example', unionId: 'U1' },
        'zs@corp.example',
        'profile',
        null,
      ],
      [
        'padded and capitalised: kept, its own row',
        { email: '  Boss@Corp.Example ', unionId: 'U1' },
        '  Boss@Corp.Example ',
        'profile',
        /spaces.*\n.*capital/s,
      ],
      [
        'user@localhost: kept',
        { email: 'user@localhost', unionId: 'U1' },
        'user@localhost',
        'profile',
        /no dot/,
      ],
      [
        'not-an-email: kept',
        { email: 'not-an-email', unionId: 'U1' },
        'not-an-email',
        'profile',
        /not an email/,
      ],
      [
        'a real .local address is from the profile, not synthetic',
        { email: 'a@corp.local', unionId: 'U1' },
        'a@corp.local',
        'profile',
        /real address from the profile under \.local/,
      ],
      ['email absent', { unionId: 'U2' }, 'U2@dingtalk.local', 'synthetic', null],
      ['email empty', { email: '', unionId: 'U3' }, 'U3@dingtalk.local', 'synthetic', null],
      ['email null', { email: null, unionId: 'U6' }, 'U6@dingtalk.local', 'synthetic', null],
      [
        'no email, no unionId: the shared @dingtalk.local account',
        {},
        '@dingtalk.local',
        'synthetic',
        /one account shared/,
      ],
    ];
  for (const [name, profile, email, source, warning] of cases) {
    test(name, () => {
      const r = resolveEmail(profile as { unionId: string; email?: string });
      assert.equal(r.email, email);
      assert.equal(r.source, source);
      if (warning) assert.match(r.warnings.join('\n'), warning);
      else assert.deepEqual(r.warnings, []);
    });
  }
});

describe('admission: both ALLOWED_DOMAINS rules', () => {
  const cases: [string, string, string[], boolean][] = [
    ['empty list admits all', 'a@any.example', [], true],
    ['listed domain', 'a@corp.example', ['corp.example'], true],
    ['listed domain, other case: exact, so refused', 'a@CORP.example', ['corp.example'], false],
    ['unlisted domain', 'a@gmail.example', ['corp.example'], false],
    ['subdomain is not the domain', 'a@sub.corp.example', ['corp.example'], false],
    ['synthetic bypasses the list', 'U1@dingtalk.local', ['corp.example'], true],
    ['any *.local bypasses the list', 'a@corp.local', ['corp.example'], true],
  ];
  for (const [name, email, list, admitted] of cases) {
    test(name, () => {
      const both = admission(email, list);
      assert.equal(both.documented.admitted, admitted);
      assert.equal(admit(email, list).admitted, admitted);
      // muvee's server skips the check for DingTalk: every email is admitted there.
      assert.equal(both.server.admitted, true);
    });
  }
  test('a case-only difference is named', () => {
    assert.match(admit('a@CORP.example', ['corp.example']).reason, /differs only in case/);
  });
});

test('roleFor is exact (muvee matches ADMIN_EMAILS case-sensitively), with a hint', () => {
  assert.equal(roleFor('boss@corp.example', ['Boss@corp.example']), 'member');
  assert.match(adminHint('boss@corp.example', ['Boss@corp.example']) ?? '', /only in case/);
  assert.equal(roleFor('Boss@corp.example', ['Boss@corp.example']), 'admin');
  assert.equal(adminHint('Boss@corp.example', ['Boss@corp.example']), undefined);
  assert.equal(roleFor('other@corp.example', ['boss@corp.example']), 'member');
  assert.equal(adminHint('other@corp.example', ['boss@corp.example']), undefined);
  assert.equal(roleFor('x@y.z', []), 'member');
});

test('maskMobile', () => {
  assert.equal(maskMobile('13800000000'), '138****0000');
  assert.equal(maskMobile('1234'), '****');
  assert.equal(maskMobile('12345'), '1**45');
});
