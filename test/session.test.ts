import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, createSign } from 'node:crypto';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import {
  decodeSessionToken,
  extractToken,
  mintSessionToken,
  parseTtl,
  sessionCookie,
  verifySessionToken,
  type RejectReason,
} from '../src/muvee/session.ts';
import { SECRET } from './helpers.ts';

const UID = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
const NOW = 1_800_000_000;

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT built by hand with node:crypto: an implementation independent of jsonwebtoken. */
function handMade(
  header: unknown,
  payload: unknown,
  secret = SECRET,
  alg: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}

const goodClaims = {
  uid: UID,
  email: 'a@corp.example',
  role: 'admin',
  iat: NOW,
  exp: NOW + 604800,
};

describe('mintSessionToken', () => {
  test('signs exactly muvee claims with HS256, verifiable by an independent implementation', () => {
    const { token, claims } = mintSessionToken(
      { uid: UID, email: 'a@corp.example', role: 'admin' },
      SECRET,
      { now: NOW },
    );
    assert.deepEqual(claims, goodClaims);
    const [h, p, s] = token.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), {
      alg: 'HS256',
      typ: 'JWT',
    });
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(p!, 'base64url').toString())), [
      'uid',
      'email',
      'role',
      'iat',
      'exp',
    ]);
    assert.equal(s, createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url'));
  });

  test('ttl sets exp', () => {
    const { claims } = mintSessionToken({ uid: UID, email: 'a@b.c', role: 'member' }, SECRET, {
      now: NOW,
      ttlSeconds: 60,
    });
    assert.equal(claims.exp, NOW + 60);
  });

  test('cookie has muvee attributes', () => {
    assert.equal(
      sessionCookie('T'),
      'muvee_session=T; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax',
    );
  });
});

describe('verifySessionToken', () => {
  test('round trip', () => {
    const { token } = mintSessionToken(
      { uid: UID, email: 'a@corp.example', role: 'member' },
      SECRET,
    );
    const result = verifySessionToken(token, SECRET);
    assert.equal(result.valid, true, result.message);
    assert.equal(result.claims?.role, 'member');
  });

  test('accepts a token from an independent HS256 implementation', () => {
    const result = verifySessionToken(handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims), SECRET, {
      now: NOW + 10,
    });
    assert.equal(result.valid, true, result.message);
    assert.equal(result.expiresAt, new Date((NOW + 604800) * 1000).toISOString());
  });

  test('accepts a token signed by jsonwebtoken directly', () => {
    const token = jwt.sign({ uid: UID, email: 'x@y.z', role: 'member' }, SECRET, {
      algorithm: 'HS256',
      expiresIn: 60,
    });
    assert.equal(verifySessionToken(token, SECRET).valid, true);
  });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs256 = (() => {
    const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(goodClaims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
  })();
  const valid = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims);
  const [vh, vp, vs] = valid.split('.') as [string, string, string];

  const cases: [string, string, RejectReason, { leeway?: number; now?: number }?][] = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(goodClaims)}.`, 'wrong-algorithm'],
    ['alg none, signature kept', `${b64({ alg: 'none' })}.${vp}.${vs}`, 'wrong-algorithm'],
    [
      'HS384',
      handMade({ alg: 'HS384', typ: 'JWT' }, goodClaims, SECRET, 'sha384'),
      'wrong-algorithm',
    ],
    [
      'HS512',
      handMade({ alg: 'HS512', typ: 'JWT' }, goodClaims, SECRET, 'sha512'),
      'wrong-algorithm',
    ],
    ['RS256', rs256, 'wrong-algorithm'],
    ['no alg', handMade({ typ: 'JWT' }, goodClaims), 'wrong-algorithm'],
    [
      'wrong secret',
      handMade({ alg: 'HS256' }, goodClaims, 'another-secret-0123456789abcdef0123'),
      'bad-signature',
    ],
    ['expired', handMade({ alg: 'HS256' }, { ...goodClaims, exp: NOW - 1 }), 'expired'],
    [
      'nbf in the future',
      handMade({ alg: 'HS256' }, { ...goodClaims, nbf: NOW + 3600 }),
      'not-yet-valid',
    ],
    [
      'no exp',
      handMade({ alg: 'HS256' }, { uid: UID, email: 'a@b.c', role: 'admin', iat: NOW }),
      'bad-claims',
    ],
    [
      'exp a string',
      handMade({ alg: 'HS256' }, { ...goodClaims, exp: String(NOW + 10) }),
      'bad-claims',
    ],
    ['uid not a UUID', handMade({ alg: 'HS256' }, { ...goodClaims, uid: '42' }), 'bad-claims'],
    ['role root', handMade({ alg: 'HS256' }, { ...goodClaims, role: 'root' }), 'bad-claims'],
    [
      'email missing',
      handMade({ alg: 'HS256' }, { ...goodClaims, email: undefined }),
      'bad-claims',
    ],
    ['truncated signature', `${vh}.${vp}.${vs.slice(0, -3)}`, 'bad-signature'],
    ['empty signature', `${vh}.${vp}.`, 'bad-signature'],
    [
      'payload swapped',
      `${vh}.${b64({ ...goodClaims, role: 'admin', uid: '00000000-0000-4000-8000-000000000000' })}.${vs}`,
      'bad-signature',
    ],
    ['two segments', `${vh}.${vp}`, 'malformed'],
    ['four segments', `${valid}.x`, 'malformed'],
    ['not base64 JSON payload', `${vh}.${b64('not json')}.${vs}`, 'malformed'],
    ['payload is an array', handMade({ alg: 'HS256' }, [1, 2]), 'malformed'],
    ['header not JSON', `${b64('{')}.${vp}.${vs}`, 'malformed'],
    ['garbage', 'hello', 'malformed'],
    [
      'crit extension, validly signed (found by the fuzzer)',
      handMade({ alg: 'HS256', crit: ['exp'], b64: false }, goodClaims),
      'malformed',
    ],
    ['empty', '', 'malformed'],
  ];
  for (const [name, token, reason] of cases) {
    test(`rejects: ${name} → ${reason}`, () => {
      const result = verifySessionToken(token, SECRET, { now: NOW + 10 });
      assert.equal(result.valid, false);
      assert.equal(result.reason, reason, result.message);
    });
  }

  test('leeway admits a just-expired token, and only within it', () => {
    const token = handMade({ alg: 'HS256' }, { ...goodClaims, exp: NOW - 5 });
    assert.equal(verifySessionToken(token, SECRET, { now: NOW }).reason, 'expired');
    assert.equal(verifySessionToken(token, SECRET, { now: NOW, leewaySeconds: 10 }).valid, true);
    assert.equal(
      verifySessionToken(token, SECRET, { now: NOW, leewaySeconds: 4 }).reason,
      'expired',
    );
  });

  test('leeway admits an nbf slightly ahead', () => {
    const token = handMade({ alg: 'HS256' }, { ...goodClaims, nbf: NOW + 5 });
    assert.equal(verifySessionToken(token, SECRET, { now: NOW }).reason, 'not-yet-valid');
    assert.equal(verifySessionToken(token, SECRET, { now: NOW, leewaySeconds: 5 }).valid, true);
  });
});

describe('extractToken', () => {
  const cases: [string, string][] = [
    ['a.b.c', 'a.b.c'],
    ['  a.b.c\n', 'a.b.c'],
    ['muvee_session=a.b.c', 'a.b.c'],
    ['theme=dark; muvee_session=a.b.c; other=1', 'a.b.c'],
    ['Cookie: theme=dark; muvee_session=a.b.c', 'a.b.c'],
    ['Set-Cookie: muvee_session=a.b.c; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax', 'a.b.c'],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.equal(extractToken(input), expected));
  }
  test('a cookie header without muvee_session is a usage error', () => {
    assert.throws(() => extractToken('theme=dark; lang=zh'), { code: 'usage' });
  });
});

describe('parseTtl', () => {
  for (const [text, seconds] of [
    ['7d', 604800],
    ['12h', 43200],
    ['30m', 1800],
    ['45s', 45],
    ['3600', 3600],
    ['2w', 1209600],
  ] as const) {
    test(text, () => assert.equal(parseTtl(text), seconds));
  }
  for (const bad of ['', '0', '-1h', '1y', 'abc', '1.5h']) {
    test(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseTtl(bad), { code: 'usage' }));
  }
});

describe('decodeSessionToken (nothing checked)', () => {
  test('any token that reads: its header and claims, whatever signs it, expired or not', () => {
    for (const token of [
      handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims, 'another-secret-0123456789abcdef0123'),
      `${b64({ alg: 'none' })}.${b64({ ...goodClaims, exp: NOW - 1 })}.`,
      handMade({ alg: 'HS512' }, { role: 'root' }, SECRET, 'sha512'),
    ]) {
      const [h, p] = token.split('.');
      const decoded = decodeSessionToken(token);
      assert.ok(decoded.decoded, token);
      assert.deepEqual(decoded.header, JSON.parse(Buffer.from(h!, 'base64url').toString()));
      assert.deepEqual(decoded.claims, JSON.parse(Buffer.from(p!, 'base64url').toString()));
    }
    const decoded = decodeSessionToken(handMade({ alg: 'HS256' }, goodClaims));
    assert.equal(
      decoded.decoded && decoded.expiresAt,
      new Date((NOW + 604800) * 1000).toISOString(),
    );
  });

  test('what cannot be read is malformed, with the reason verifySessionToken gives', () => {
    const valid = handMade({ alg: 'HS256' }, goodClaims);
    const [vh, vp, vs] = valid.split('.') as [string, string, string];
    for (const token of [
      `${vh}.${vp}`,
      `${valid}.x`,
      `${vh}.${b64('not json')}.${vs}`,
      `${b64('{')}.${vp}.${vs}`,
      handMade({ alg: 'HS256' }, [1, 2]),
      `${vh}.${vp}=.${vs}`,
      '',
    ]) {
      const decoded = decodeSessionToken(token);
      const verified = verifySessionToken(token, SECRET, { now: NOW });
      assert.equal(decoded.decoded, false, token);
      assert.equal(verified.reason, 'malformed');
      assert.equal(!decoded.decoded && decoded.message, verified.message);
    }
  });
});
