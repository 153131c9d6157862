/**
 * muvee's reading of a token (src/muvee/go-jwt.ts, go-json.ts) as tables: each row is a case
 * measured against muvee-oracle (the differential suite compares thousands more), so these
 * hold where the oracle is absent. And verify-token on hostile tokens (issue 20 L2, L9, M5):
 * never exit 1, a bad line never ends a batch.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { goDate, goRawUrl, readGoToken } from '../src/muvee/go-jwt.ts';
import { goUuidParse } from '../src/muvee/shapes.ts';
import { parseGoJson } from '../src/muvee/go-json.ts';
import { hmacSha256, sha256 } from '../src/muvee/sha256.ts';
import { verifySessionToken } from '../src/muvee/token-verdict.ts';
import { baseEnv, runBin, SECRET, tempDir } from './helpers.ts';

const NOW = 1_800_000_000;
const UID = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');
function token(payload: string, header = '{"alg":"HS256","typ":"JWT"}'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = /HS(384|512)/.exec(header)?.[1] ?? '256';
  return `${input}.${createHmac(`sha${alg}`, SECRET).update(input).digest('base64url')}`;
}
const claims = (extra = '') =>
  `{"uid":"${UID}","email":"a@corp.example","role":"admin","iat":${NOW},"exp":${NOW + 60}${extra}}`;

describe("muvee's verdict and its words (each row as muvee-oracle answered it)", () => {
  const rows: [string, string, boolean, string?][] = [
    ['a token as muvee mints it', token(claims()), true],
    ['HS512', token(claims(), '{"alg":"HS512"}'), true],
    ['no exp', token(`{"uid":"${UID}"}`), true],
    ['UID in capitals', token(`{"UID":"${UID}"}`), true],
    ['uid in parentheses (uuid.Parse ignores both ends)', token(`{"uid":"(${UID})"}`), true],
    ['iss null', token(claims(',"iss":null')), true],
    ['nbf 1e300 (int64 overflow: the far past)', token(claims(',"nbf":1e300')), true],
    [
      'ſub holding a number',
      token(claims(',"\u017fub":1')),
      false,
      'token is malformed: could not JSON decode claim: json: cannot unmarshal number into Go struct field Claims.sub of type string',
    ],
    [
      'aud a number',
      token(claims(',"aud":1')),
      false,
      'token is malformed: could not JSON decode claim: invalid type for claim',
    ],
    [
      'exp just below 2^63',
      token(claims().replace(`"exp":${NOW + 60}`, '"exp":9223372036854775000')),
      false,
      'token has invalid claims: token is expired',
    ],
    [
      'exp 1e400',
      token(claims().replace(`"exp":${NOW + 60}`, '"exp":1e400')),
      false,
      'token is malformed: could not JSON decode claim: could not convert json number value to float: strconv.ParseFloat: parsing "1e400": value out of range',
    ],
    [
      'a dangling base64 character',
      token(claims()).replace('.', 'A.'),
      false,
      'token is malformed: could not base64 decode header: illegal base64 data at input byte',
    ],
    [
      'nesting 10,001 levels deep',
      token(claims(`,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}`)),
      false,
      "token is malformed: could not JSON decode claim: invalid character '[' exceeded max depth",
    ],
    [
      'alg none',
      token(claims(), '{"alg":"none"}'),
      false,
      'token is unverifiable: error while executing keyfunc: unexpected signing method',
    ],
  ];
  for (const [name, tok, accepted, reason] of rows) {
    test(name, () => {
      const go = readGoToken(tok, SECRET, NOW);
      assert.equal(go.accepted, accepted, go.reason);
      if (reason) assert.ok(go.reason.startsWith(reason), go.reason);
      const verdict = verifySessionToken(tok, SECRET, { now: NOW });
      assert.equal(verdict.muveeAccepts, accepted);
      if (!accepted) assert.equal(verdict.valid, false);
    });
  }
});

test('sha256.ts: the same digests as node:crypto, every length from 0 to 300 and some long ones', () => {
  for (const n of [...Array.from({ length: 301 }, (_, i) => i), 4096, 100_003, 1 << 20]) {
    const data = randomBytes(n);
    const key = randomBytes(n % 100);
    assert.equal(
      Buffer.from(sha256(data)).toString('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
    assert.equal(
      Buffer.from(hmacSha256(key, data)).toString('hex'),
      createHmac('sha256', key).update(data).digest('hex'),
      `length ${n}`,
    );
  }
});

test("Go's pieces: base64, JSON, NumericDate, uuid.Parse", () => {
  assert.deepEqual(goRawUrl('QUJD'), { bytes: Buffer.from('ABC') });
  assert.deepEqual(goRawUrl('QU\r\nJD'), { bytes: Buffer.from('ABC') });
  assert.deepEqual(goRawUrl('QUJDR'), { error: 'illegal base64 data at input byte 4' });
  assert.deepEqual(goRawUrl('QU=D'), { error: 'illegal base64 data at input byte 2' });
  const dup = parseGoJson(Buffer.from('{"a":1,"a":2}'));
  assert.ok(dup.ok && dup.value.kind === 'object' && dup.value.entries.length === 2);
  const bad = parseGoJson(Buffer.from('{"a":"\\ud800","b":"\xe2\x82"}', 'latin1'));
  assert.ok(bad.ok && bad.value.kind === 'object');
  assert.deepEqual(
    bad.value.entries.map(([, v]) => (v.kind === 'string' ? v.value : '')),
    ['\ufffd', '\ufffd\ufffd'],
  );
  assert.deepEqual(parseGoJson(Buffer.from('01')), {
    ok: false,
    error: "invalid character '1' after top-level value",
  });
  assert.equal(goDate(1.5, true).unix, 1);
  assert.equal(goDate(-1.5, true).unix, -2);
  assert.ok(goDate(9223372036854775000, true).unix < 0, 'wraps into the far past');
  assert.deepEqual(goUuidParse(`urn:uuid:${UID.toUpperCase()}`), { uuid: UID });
  assert.deepEqual(goUuidParse(`x${UID}y`), { uuid: UID });
  assert.deepEqual(goUuidParse('nope'), { error: 'invalid UUID length: 4' });
});

describe('verify-token on hostile tokens: exit 0 or 5, never 1 (issue 20)', () => {
  const env = baseEnv({ JWT_SECRET: SECRET });
  const dates = ['1e300', '-1e300', '8640000000001', '-8640000000001', '9223372036854775807'];
  for (const value of dates) {
    for (const key of ['iat', 'exp', 'nbf']) {
      test(`L2: ${key} ${value}, text and JSON`, async (t) => {
        const cwd = tempDir(t);
        const tok = token(
          key === 'exp'
            ? claims().replace(`"exp":${NOW + 60}`, `"exp":${value}`)
            : claims(`,"${key}":${value}`).replace(
                `"iat":${NOW},`,
                key === 'iat' ? '' : `"iat":${NOW},`,
              ),
        );
        for (const json of [false, true]) {
          const r = await runBin(['verify-token', ...(json ? ['--json'] : []), tok], { cwd, env });
          assert.ok(r.code === 0 || r.code === 5, `exit ${r.code}: ${r.stderr}`);
          if (json) assert.equal(typeof JSON.parse(r.stdout).valid, 'boolean');
          else assert.match(r.stdout, /valid|rejected/);
        }
      });
    }
  }

  test("L9: '=' inside a segment is malformed, exit 5 (argument and stdin)", async (t) => {
    const cwd = tempDir(t);
    const tok = token(claims());
    const broken = `${tok.slice(0, 10)}=${tok.slice(10)}`;
    const arg = await runBin(['verify-token', '--json', broken], { cwd, env });
    assert.equal(arg.code, 5, arg.stderr);
    assert.equal(JSON.parse(arg.stdout).reason, 'malformed');
    const stdin = await runBin(['verify-token', '-'], { cwd, env, input: broken });
    assert.equal(stdin.code, 5, stdin.stderr);
  });

  test('M5: a line longer than 16 MiB is one rejected line; the lines after it are verified', async (t) => {
    const cwd = tempDir(t);
    const good = token(claims().replace(`"exp":${NOW + 60}`, '"exp":4102444800'));
    const input = `${good}\n${'A'.repeat(17 * 1024 * 1024)}\n${good}\n`;
    const r = await runBin(['verify-token', '--each', '-'], { cwd, env, input });
    assert.equal(r.code, 5, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.line, l.valid, l.reason ?? null]),
      [
        [1, true, null],
        [2, false, 'malformed'],
        [3, true, null],
      ],
    );
    assert.match(String(lines[1]!.message), /more than any token/);
  });

  test('a token nested 50,000 levels deep and one of 3 MB: rejected or valid, never a crash', async (t) => {
    const cwd = tempDir(t);
    const deep = token(claims(`,"x":${'['.repeat(50_000)}${']'.repeat(50_000)}`));
    const big = token(
      claims(`,"pad":"${'p'.repeat(3_000_000)}"`).replace(`"exp":${NOW + 60}`, '"exp":4102444800'),
    );
    for (const tok of [deep, big]) {
      const text = await runBin(['verify-token', '-'], { cwd, env, input: tok });
      assert.ok(text.code === 0 || text.code === 5, text.stderr);
    }
    const each = await runBin(['verify-token', '--each', '-'], {
      cwd,
      env,
      input: `${deep}\n${big}\n`,
    });
    assert.equal(each.stdout.trim().split('\n').length, 2, each.stderr);
  });
});
