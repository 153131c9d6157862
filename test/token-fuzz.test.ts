/**
 * Token fuzzing: 10,000+ mutated tokens through verify-token's verify function. Only the
 * untouched token may pass; nothing may throw.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { mintSessionToken, verifySessionToken } from '../src/muvee/session.ts';
import { SECRET, prng } from './helpers.ts';

const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const sign = (input: string, secret = SECRET, alg = 'sha256') =>
  createHmac(alg, secret).update(input).digest('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

test('10,000+ mutated tokens: none accepted but the original, no exception', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261124);
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const now = Math.floor(Date.now() / 1000);
  const { token: original, claims } = mintSessionToken(
    { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@corp.example', role: 'admin' },
    SECRET,
    { now },
  );
  const [h, p, s] = original.split('.') as [string, string, string];
  assert.equal(verifySessionToken(original, SECRET).valid, true);

  const headerVariants: unknown[] = [
    { alg: 'none' },
    { alg: 'None' },
    { alg: 'NONE' },
    { alg: 'nOnE', typ: 'JWT' },
    { alg: '' },
    { alg: null },
    { alg: 'HS384' },
    { alg: 'HS512' },
    { alg: 'RS256' },
    { alg: 'ES256' },
    { alg: 'PS256' },
    { alg: 'hs256' },
    { alg: 'HS256 ' },
    { alg: ['HS256'] },
    { alg: 256 },
    { typ: 'JWT' },
    {},
    [],
    'HS256',
    null,
    42,
    { alg: 'HS256', crit: ['exp'], b64: false },
  ];
  // Claims re-signed with the real secret must still fail: each breaks muvee's shape or time.
  const badClaims: Record<string, unknown>[] = [
    { ...claims, exp: String(claims.exp) },
    { ...claims, exp: null },
    { ...claims, exp: undefined },
    { ...claims, exp: now - 1 },
    { ...claims, exp: [claims.exp] },
    { ...claims, nbf: now + 3600 },
    { ...claims, uid: 42 },
    { ...claims, uid: '' },
    { ...claims, uid: 'not-a-uuid' },
    { ...claims, uid: null },
    { ...claims, role: 'root' },
    { ...claims, role: ['admin'] },
    { ...claims, role: null },
    { ...claims, role: 'Admin' },
    { ...claims, email: 42 },
    { ...claims, email: '' },
    { ...claims, email: 'no-at-sign' },
    { ...claims, iat: 'yesterday' },
  ];
  const mutations: ((token: string) => string)[] = [
    // bit flip in one character
    (t) => {
      const i = Math.floor(rand() * t.length);
      return (
        t.slice(0, i) +
        String.fromCharCode(t.charCodeAt(i) ^ (1 << Math.floor(rand() * 7))) +
        t.slice(i + 1)
      );
    },
    // one base64url character replaced by another
    (t) => {
      const i = Math.floor(rand() * t.length);
      return t.slice(0, i) + pick([...ALPHABET]) + t.slice(i + 1);
    },
    // characters dropped or inserted
    (t) => {
      const i = Math.floor(rand() * t.length);
      return rand() < 0.5
        ? t.slice(0, i) + t.slice(i + 1 + Math.floor(rand() * 3))
        : t.slice(0, i) + pick([...ALPHABET, '.', '=', ' ', '%']) + t.slice(i);
    },
    // segments swapped, duplicated, dropped, added
    () =>
      pick([
        `${p}.${h}.${s}`,
        `${h}.${h}.${s}`,
        `${h}.${p}`,
        `${h}.${p}.${s}.${s}`,
        `${h}..${s}`,
        `.${p}.${s}`,
        `${h}.${p}.${s}.`,
        `${s}.${p}.${h}`,
      ]),
    // header variants, keeping the signature or re-signing with the secret (alg confusion)
    () => {
      const header = b64(pick(headerVariants));
      const mode = Math.floor(rand() * 3);
      if (mode === 0) return `${header}.${p}.${s}`;
      if (mode === 1) return `${header}.${p}.${sign(`${header}.${p}`)}`;
      return `${header}.${p}.`;
    },
    // claim changes re-signed with the real secret
    () => {
      const payload = b64(pick(badClaims));
      return `${h}.${payload}.${sign(`${h}.${payload}`)}`;
    },
    // signed with another HMAC or another secret
    () => {
      const other = pick(['sha384', 'sha512', 'sha1']);
      return rand() < 0.5
        ? `${h}.${p}.${sign(`${h}.${p}`, SECRET, other)}`
        : `${h}.${p}.${sign(`${h}.${p}`, `${SECRET}x`)}`;
    },
    // truncated or extended signature
    () =>
      `${h}.${p}.${rand() < 0.5 ? s.slice(0, Math.floor(rand() * s.length)) : s + pick([...ALPHABET])}`,
    // payload that is not JSON, or JSON of the wrong type, properly signed
    () => {
      const payload = b64(pick(['not json', '[]', 'null', '42', '"string"', '{', '{"uid":']));
      return `${h}.${payload}.${sign(`${h}.${payload}`)}`;
    },
    // garbage
    () =>
      Array.from({ length: Math.floor(rand() * 300) }, () =>
        String.fromCharCode(Math.floor(rand() * 0x3000)),
      ).join(''),
  ];

  let tried = 0;
  let accepted = 0;
  const reasons = new Map<string, number>();
  while (tried < 12_000) {
    let candidate = pick(mutations)(original);
    if (rand() < 0.2) candidate = pick(mutations)(candidate); // stacked mutations
    if (candidate === original) continue;
    tried++;
    let result;
    try {
      result = verifySessionToken(candidate, SECRET, { now: now + 1 });
    } catch (error) {
      assert.fail(`seed ${seed}: verify threw on ${JSON.stringify(candidate)}: ${String(error)}`);
    }
    if (result.valid) {
      accepted++;
      assert.fail(`seed ${seed}: accepted a mutated token ${JSON.stringify(candidate)}`);
    }
    reasons.set(result.reason ?? '?', (reasons.get(result.reason ?? '?') ?? 0) + 1);
  }
  assert.equal(accepted, 0);
  assert.ok(tried >= 10_000);
  // Every kind of rejection was exercised.
  for (const reason of [
    'bad-signature',
    'malformed',
    'wrong-algorithm',
    'bad-claims',
    'expired',
    'not-yet-valid',
  ]) {
    assert.ok((reasons.get(reason) ?? 0) > 0, `no mutation produced ${reason}`);
  }
  process.stderr.write(
    `token fuzz: ${tried} tokens, 0 accepted, seed ${seed}, ${JSON.stringify(Object.fromEntries(reasons))}\n`,
  );
});
