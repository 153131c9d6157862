/**
 * Tokens as muvee's server reads them (shared/muvee-server.md §4): where verify-token is
 * stricter it still rejects but says muvee would accept; where it was looser it now rejects.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { loadConfig } from '../src/config/config.ts';
import { muveeVerdict } from '../src/muvee/token-verdict.ts';
import { goUuid } from '../src/muvee/shapes.ts';
import { mintSessionToken, verifySessionToken } from '../src/muvee/session.ts';
import { json, runCli, SECRET, tempDir } from './helpers.ts';

const NOW = 1_800_000_000;
const UID = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** A token from raw JSON texts (so `1e400` and duplicate keys survive), signed with `alg`. */
function raw(payload: string, header = '{"alg":"HS256","typ":"JWT"}', secret = SECRET): string {
  const alg = (JSON.parse(header) as { alg: string }).alg;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, SECRET === secret ? SECRET : secret)
    .update(input)
    .digest('base64url')}`;
}
const claims = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    uid: UID,
    email: 'a@corp.example',
    role: 'member',
    iat: NOW,
    exp: NOW + 60,
    ...extra,
  });

describe('stricter than muvee: rejected, with the reason muvee accepts', () => {
  const cases: [string, string, RegExp][] = [
    ['HS384', raw(claims(), '{"alg":"HS384","typ":"JWT"}'), /any HMAC algorithm/],
    ['HS512', raw(claims(), '{"alg":"HS512","typ":"JWT"}'), /any HMAC algorithm/],
    [
      'no exp',
      raw(JSON.stringify({ uid: UID, email: 'a@corp.example', role: 'member', iat: NOW })),
      /never expires/,
    ],
    ['numeric-string exp', raw(claims({ exp: String(NOW + 60) })), /numeric string exp/],
    ['crit header', raw(claims(), '{"alg":"HS256","typ":"JWT","crit":["exp"]}'), /crit/],
    ['braced uid', raw(claims({ uid: `{${UID}}` })), /parses uid/],
    ['urn uid', raw(claims({ uid: `urn:uuid:${UID}` })), /parses uid/],
    ['hyphen-less uid', raw(claims({ uid: UID.replace(/-/g, '') })), /parses uid/],
    [
      'missing email and role',
      raw(JSON.stringify({ uid: UID, iat: NOW, exp: NOW + 60 })),
      /never reads the token's email and role/,
    ],
  ];
  for (const [name, token, because] of cases) {
    test(name, () => {
      const result = verifySessionToken(token, SECRET, { now: NOW });
      assert.equal(result.valid, false);
      assert.equal(result.muveeAccepts, true);
      assert.match(result.muveeNote ?? '', /^muvee itself would accept this token because /);
      assert.match(result.muveeNote ?? '', because);
    });
  }
});

describe('looser than muvee before: now rejected, as muvee does', () => {
  const cases: [string, string][] = [
    ['exp 1e20', raw(claims({ exp: 1e20 }))],
    ['exp 1e400', raw(claims().replace(`"exp":${NOW + 60}`, '"exp":1e400'))],
    ['iss a number', raw(claims({ iss: 42 }))],
    ['sub a number', raw(claims({ sub: 42 }))],
    ['exp future, EXP past', raw(claims({ EXP: NOW - 60 }))],
  ];
  for (const [name, token] of cases) {
    test(name, () => {
      const result = verifySessionToken(token, SECRET, { now: NOW });
      assert.equal(result.valid, false, JSON.stringify(result));
      assert.equal(muveeVerdict(token, SECRET, NOW).accepts, false);
      assert.equal(result.muveeAccepts, false);
      // jsonwebtoken alone accepted these (the looseness this fixes), except 1e400's Infinity.
      if (name !== 'exp 1e400' && name !== 'exp future, EXP past') {
        assert.doesNotThrow(() => jwt.verify(token, SECRET, { clockTimestamp: NOW }));
      }
    });
  }

  test('{"uid":A,"UID":B}: rejected here; muvee reads B', () => {
    const other = '0a3cd3b6-9a2f-4a53-8cf8-6ab0d6e5f6a1';
    const token = raw(claims({ UID: other }));
    const result = verifySessionToken(token, SECRET, { now: NOW });
    assert.equal(result.valid, false);
    assert.match(result.message, /differing only in case/);
    const muvee = muveeVerdict(token, SECRET, NOW);
    assert.equal(muvee.accepts, true);
    assert.equal(muvee.claims?.uid, other);
    assert.match(result.muveeNote ?? '', /takes the last 'uid'/);
  });

  test('a valid muvee token is valid on both sides; a forged one on neither', () => {
    const { token } = mintSessionToken(
      { uid: UID, email: 'a@corp.example', role: 'admin' },
      SECRET,
      { now: NOW },
    );
    assert.equal(verifySessionToken(token, SECRET, { now: NOW }).valid, true);
    assert.equal(muveeVerdict(token, SECRET, NOW).accepts, true);
    const forged = raw(claims(), undefined, 'another-secret-0123456789abcdef0123');
    assert.equal(muveeVerdict(forged, SECRET, NOW).accepts, false);
    assert.equal(verifySessionToken(forged, SECRET, { now: NOW }).muveeAccepts, false);
  });
});

test('goUuid: the forms uuid.Parse accepts', () => {
  assert.equal(goUuid(UID.toUpperCase()), UID);
  assert.equal(goUuid(`{${UID}}`), UID);
  assert.equal(goUuid(`urn:uuid:${UID}`), UID);
  assert.equal(goUuid(UID.replace(/-/g, '')), UID);
  assert.equal(goUuid('not-a-uuid'), undefined);
  assert.equal(goUuid(42), undefined);
});

describe('JWT_SECRET as raw bytes', () => {
  test('a trailing space is kept, signs, and is said', async (t) => {
    const padded = `${SECRET} `;
    assert.equal(loadConfig({ env: { JWT_SECRET: padded }, cwd: tempDir(t) }).jwtSecret, padded);
    const minted = await runCli(
      ['mint-token', '--uid', UID, '--email', 'a@corp.example', '--role', 'member'],
      { env: { JWT_SECRET: padded }, cwd: tempDir(t) },
    );
    assert.equal(minted.code, 0, minted.stderr);
    assert.match(minted.stderr, /JWT_SECRET has leading or trailing whitespace/);
    const token = minted.stdout.trim();
    // muvee's side: the raw bytes, space included.
    assert.doesNotThrow(() => jwt.verify(token, padded, { algorithms: ['HS256'] }));
    assert.throws(() => jwt.verify(token, SECRET, { algorithms: ['HS256'] }));
    const verified = await runCli(['verify-token', '--json', token], {
      env: { JWT_SECRET: padded },
      cwd: tempDir(t),
    });
    assert.equal(verified.code, 0);
    assert.match(verified.stderr, /leading or trailing whitespace/);
  });

  test('verify-token --json carries muveeAccepts', async (t) => {
    const r = await runCli(
      [
        'verify-token',
        '--json',
        raw(claims({ exp: undefined }).replace(',"exp":null', ''), '{"alg":"HS384","typ":"JWT"}'),
      ],
      {
        env: { JWT_SECRET: SECRET },
        cwd: tempDir(t),
      },
    );
    assert.equal(r.code, 5);
    const doc = json<{ valid: boolean; muveeAccepts: boolean; muveeNote: string }>(r);
    assert.equal(doc.valid, false);
    assert.equal(doc.muveeAccepts, true);
    assert.match(doc.muveeNote, /muvee itself would accept/);
  });
});
