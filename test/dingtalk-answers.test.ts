/**
 * How muvee's dingtalk.go reads DingTalk's answers (json.Unmarshal into string fields), as a
 * table; the live comparison with muvee's own code is test/differential-logins.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  muveeEmail,
  muveeReadsProfile,
  muveeReadsUserToken,
} from '../src/muvee/dingtalk-answers.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe("muvee's reading of DingTalk's answers", () => {
  const profiles: [string, string, Record<string, string> | RegExp][] = [
    [
      'a profile',
      '{"unionId":"u","email":"a@b.c","nick":"N","openId":5}',
      { unionId: 'u', email: 'a@b.c', nick: 'N' },
    ],
    ['"Email" is email', '{"Email":"cap@b.c"}', { email: 'cap@b.c' }],
    ['"EMAIL" is email', '{"EMAIL":"up@b.c"}', { email: 'up@b.c' }],
    ['the last key wins', '{"email":"1@b.c","Email":"2@b.c"}', { email: '2@b.c' }],
    ['null keeps the value', '{"email":"1@b.c","email":null}', { email: '1@b.c' }],
    ['KELVIN SIGN folds to k', '{"nic\u212a":"K"}', { nick: 'K' }],
    ['a lone surrogate escape is U+FFFD', '{"email":"a\\ud800@b.c"}', { email: 'a\ufffd@b.c' }],
    ['null is an empty struct', 'null', {}],
    ['{} too', '{}', {}],
    [
      'nick a number fails',
      '{"nick":1}',
      /cannot unmarshal number into Go struct field \.nick of type string/,
    ],
    ['mobile a number fails', '{"mobile":13800000000}', /field \.mobile/],
    ['email true fails', '{"email":true}', /cannot unmarshal bool/],
    ['an array fails', '[]', /cannot unmarshal array/],
    ['trailing text fails', '{} x', /after top-level value/],
    ['an empty body fails', '', /unexpected end of JSON input/],
    ['a byte order mark fails', '\ufeff{}', /invalid character/],
    ['10001 levels fail', `{"x":${'['.repeat(10001)}${']'.repeat(10001)}}`, /exceeded max depth/],
  ];
  for (const [name, body, want] of profiles) {
    test(`profile: ${name}`, () => {
      const got = muveeReadsProfile(bytes(body));
      if (want instanceof RegExp) {
        assert.equal(got.ok, false);
        assert.match(got.ok ? '' : got.error, want);
      } else {
        assert.deepEqual(got, {
          ok: true,
          values: { unionId: '', nick: '', avatarUrl: '', email: '', mobile: '', ...want },
        });
      }
    });
  }

  test('user token: "AccessToken" counts, a message that is a number fails', () => {
    const cap = muveeReadsUserToken(bytes('{"AccessToken":"t"}'));
    assert.equal(cap.ok && cap.values.accessToken, 't');
    assert.equal(muveeReadsUserToken(bytes('{"accessToken":"t","message":5}')).ok, false);
  });

  test('the email muvee signs in with', () => {
    assert.equal(muveeEmail({ email: 'a@b.c', unionId: 'u' }), 'a@b.c');
    assert.equal(muveeEmail({ email: '', unionId: 'u' }), 'u@dingtalk.local');
    assert.equal(muveeEmail({ email: '', unionId: '' }), '@dingtalk.local');
  });
});
