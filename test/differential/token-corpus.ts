/**
 * A seeded, deterministic corpus of session tokens for the differential comparison with
 * muvee's own code (test/differential-tokens.test.ts): hand-picked edge cases, then random
 * combinations of headers, claim sets, JSON corner cases, encodings and signatures.
 *
 * Every date is far from "now" (before 2001 or after 2099, or beyond any date), so a verdict
 * recorded once (test/fixtures/differential/tokens.jsonl) stays true for decades; the tokens
 * muvee mints itself (exp = now + 7 days) are added by the runner, not here.
 */
import { createHmac } from 'node:crypto';

export interface CorpusToken {
  /** What the token exercises, e.g. `header:HS512 claims:uid-braced enc:plain sig:right`. */
  label: string;
  token: string;
}

export interface CorpusOptions {
  seed: number;
  /** Random combinations beyond the hand-picked cases. */
  count: number;
  secret: string;
  /** uids of users that exist in the databases the run uses (the first one is an admin). */
  users: readonly string[];
}

/** mulberry32: small, seeded, the same everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUTURE = 4102444800; // 2100-01-01
const PAST = 946684800; // 2000-01-01
const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString('base64url');
const HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** A JSON member `"key":value` with the value as raw JSON text. */
const m = (key: string, raw: string) => `${JSON.stringify(key)}:${raw}`;
const obj = (members: string[]) => `{${members.join(',')}}`;
const q = (s: string) => JSON.stringify(s);

function uuidOf(r: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

export const HEADERS: Record<string, string | Buffer> = {
  canonical: '{"alg":"HS256","typ":"JWT"}',
  bare: '{"alg":"HS256"}',
  HS384: '{"alg":"HS384","typ":"JWT"}',
  HS512: '{"alg":"HS512","typ":"JWT"}',
  none: '{"alg":"none","typ":"JWT"}',
  RS256: '{"alg":"RS256","typ":"JWT"}',
  ES256: '{"alg":"ES256"}',
  PS512: '{"alg":"PS512"}',
  EdDSA: '{"alg":"EdDSA"}',
  lower: '{"alg":"hs256"}',
  unknown: '{"alg":"HS257"}',
  'alg-missing': '{"typ":"JWT"}',
  'alg-number': '{"alg":256}',
  'alg-null': '{"alg":null}',
  'alg-escaped': '{"alg":"\\u0048S256"}',
  'ALG-key': '{"ALG":"HS256"}',
  'Alg-key': '{"Alg":"HS256","typ":"JWT"}',
  'dup-none-last': '{"alg":"HS256","alg":"none"}',
  'dup-hs-last': '{"alg":"none","alg":"HS256"}',
  'typ-odd': '{"alg":"HS256","typ":"jwt+at"}',
  'typ-number': '{"alg":"HS256","typ":1}',
  'typ-null': '{"alg":"HS256","typ":null}',
  kid: '{"alg":"HS256","typ":"JWT","kid":"k1"}',
  crit: '{"alg":"HS256","crit":["exp"]}',
  b64: '{"alg":"HS256","b64":false}',
  'huge-number': '{"alg":"HS256","x":1e400}',
  'max-number': '{"alg":"HS256","x":1.7976931348623157e308}',
  'nested-huge': '{"alg":"HS256","x":[{"y":-1e999}]}',
  'unicode-key': '{"alg":"HS256","ſ":1,"K":2}',
  whitespace: ' \t{ "alg" : "HS256" }\r\n',
  'bad-utf8': Buffer.concat([
    Buffer.from('{"alg":"HS256","x":"'),
    Buffer.from([0xe2, 0x82]),
    Buffer.from('"}'),
  ]),
  null: 'null',
  array: '["HS256"]',
  string: '"HS256"',
  empty: '',
  'not-json': '{alg:HS256}',
  'trailing-comma': '{"alg":"HS256",}',
  'trailing-garbage': '{"alg":"HS256"}x',
  bom: '\ufeff{"alg":"HS256"}',
};

/** Claim values, as raw JSON text (undefined: the claim is left out). */
function claimChoices(
  r: () => number,
  users: readonly string[],
): Record<string, Record<string, string | undefined>> {
  const user = users[Math.floor(r() * users.length)]!;
  const bare = user.replace(/-/g, '');
  return {
    uid: {
      user: q(user),
      random: q(uuidOf(r)),
      upper: q(user.toUpperCase()),
      braced: q(`{${user}}`),
      parens: q(`(${user})`),
      'any-ends': q(`x${user}y`),
      'unicode-ends': q(`é${user}`),
      urn: q(`urn:uuid:${user}`),
      URN: q(`URN:UUID:${user}`),
      'bad-urn': q(`urn:uuix:${user}`),
      hyphenless: q(bare),
      'hyphenless-bad': q(`${bare.slice(0, 31)}g`),
      short: q(user.slice(0, 35)),
      'hyphens-moved': q(
        `${bare.slice(0, 9)}-${bare.slice(9, 12)}-${bare.slice(12, 16)}-${bare.slice(16, 20)}-${bare.slice(20)}`,
      ),
      escaped: q(user).replace(/-/g, '\\u002d'),
      empty: q(''),
      number: '12345',
      null: 'null',
      bool: 'true',
      array: `[${q(user)}]`,
      object: `{"id":${q(user)}}`,
      missing: undefined,
    },
    email: {
      plain: q('zhangsan@corp.example'),
      unicode: q('张三@corp.example'),
      'not-email': q('zhangsan'),
      empty: q(''),
      null: 'null',
      number: '7',
      missing: undefined,
    },
    role: {
      admin: q('admin'),
      member: q('member'),
      owner: q('owner'),
      Admin: q('Admin'),
      null: 'null',
      number: '1',
      missing: undefined,
    },
    exp: {
      future: String(FUTURE + Math.floor(r() * 1e6)),
      past: String(PAST - Math.floor(r() * 1e6)),
      'future-float': `${FUTURE}.75`,
      'past-float': `${PAST}.25`,
      'future-string': q(String(FUTURE)),
      'past-string': q(String(PAST)),
      'exp-string': q('4.1e9'),
      'bad-string': q(` ${FUTURE}`),
      'hex-string': q('0x7fffffff'),
      'empty-string': q(''),
      null: 'null',
      bool: 'true',
      object: '{}',
      array: `[${FUTURE}]`,
      '2^53': '9007199254740992',
      '2^53+1': '9007199254740993',
      'below-2^63': '9223372036854775000',
      '2^63-1': '9223372036854775807',
      '2^63': '9223372036854775808',
      '-2^63': '-9223372036854775808',
      'year-9999': '253402300799',
      'beyond-js-date': '8640000000001',
      '1e300': '1e300',
      '-1e300': '-1e300',
      'float-max': '1.7976931348623157e308',
      '1e400': '1e400',
      '1e400-string': q('1e400'),
      '1e-400': '1e-400',
      negative: '-1',
      zero: '0',
      'minus-zero': '-0',
      'neg-fraction': '-0.5',
      exponent: '4.1E9',
      missing: undefined,
    },
  };
}

const TIME_CHOICES = (r: () => number): Record<string, string | undefined> => ({
  past: String(PAST - Math.floor(r() * 1e6)),
  future: String(FUTURE + Math.floor(r() * 1e6)),
  'past-string': q(String(PAST)),
  'future-string': q(String(FUTURE)),
  'bad-string': q('soon'),
  null: 'null',
  bool: 'false',
  '1e300': '1e300',
  '-1e300': '-1e300',
  '2^63': '9223372036854775808',
  'below-2^63': '9223372036854775000',
  '-2^63': '-9223372036854775808',
  'beyond-js-date': '8640000000001',
  '-beyond-js-date': '-8640000000001',
  '1e400': '1e400',
  missing: undefined,
});

const OTHER_CHOICES: Record<string, string | undefined> = {
  string: q('muvee'),
  null: 'null',
  number: '1',
  bool: 'true',
  object: '{"a":1}',
  missing: undefined,
};

const AUD_CHOICES: Record<string, string | undefined> = {
  string: q('muvee'),
  strings: '["a","b"]',
  empty: '[]',
  null: 'null',
  number: '1',
  numbers: '[1,2]',
  mixed: '["a",1]',
  'with-null': '["a",null]',
  object: '{"a":"b"}',
  huge: '[1e400]',
  missing: undefined,
};

/** Spellings of a claim's key that Go matches to the same field (or, for some, does not). */
function keyChoices(key: string): Record<string, string> {
  const out: Record<string, string> = { exact: key, upper: key.toUpperCase() };
  out.title = key[0]!.toUpperCase() + key.slice(1);
  if (key.includes('s')) out['long-s'] = key.replace('s', '\u017f');
  if (key.includes('i')) out['dotless-i'] = key.replace('i', '\u0131');
  out.kelvin = `\u212a${key}`;
  out.escaped = key.replace(/^./, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return out;
}

const pick = <T>(r: () => number, record: Record<string, T>): [string, T] => {
  const keys = Object.keys(record);
  const key = keys[Math.floor(r() * keys.length)]!;
  return [key, record[key]!];
};

/** Nesting `depth` levels deep in total, the claims object included. */
const nested = (depth: number) => `${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`;

function sign(input: string, alg: string, secret: string): string {
  return createHmac(HASH[alg] ?? 'sha256', secret)
    .update(input)
    .digest('base64url');
}

interface Parts {
  header: string | Buffer;
  payload: string | Buffer;
  alg: string;
}

/** Encodings of the header and payload segments; each gives [segments, label]. */
const ENCODINGS: Record<string, (h: string, p: string) => [string, string]> = {
  plain: (h, p) => [h, p],
  'padded-payload': (h, p) => [h, p + '='.repeat((4 - (p.length % 4)) % 4 || 1)],
  'padded-header': (h, p) => [h + '==', p],
  'std-alphabet': (h, p) => [
    h.replace(/-/g, '+').replace(/_/g, '/'),
    p.replace(/-/g, '+').replace(/_/g, '/'),
  ],
  'dangling-header': (h, p) => [
    h + (h.length % 4 === 0 ? 'A' : 'AAAAA'.slice(0, 5 - (h.length % 4))),
    p,
  ],
  'dangling-payload': (h, p) => [
    h,
    p + (p.length % 4 === 0 ? 'Q' : 'QQQQQ'.slice(0, 5 - (p.length % 4))),
  ],
  'inner-space': (h, p) => [h, `${p.slice(0, 4)} ${p.slice(4)}`],
  'inner-cr': (h, p) => [h, `${p.slice(0, 4)}\r${p.slice(4)}`],
  // Inside a segment, never at the token's start (a line's surrounding whitespace is not the token's).
  'inner-tab': (h, p) =>
    h.length > 1 ? [`${h.slice(0, 3)}\t${h.slice(3)}`, p] : [h, `${p.slice(0, 3)}\t${p.slice(3)}`],
  'equals-inside': (h, p) => [h, `${p.slice(0, 8)}=${p.slice(8)}`],
  'non-canonical-bits': (h, p) => [h, p.length % 4 === 2 ? p.slice(0, -1) + bump(p.at(-1)!) : p],
  'non-ascii': (h, p) => [h, `${p.slice(0, 5)}é${p.slice(5)}`],
};

/** A base64url character with the same high bits and different low ones (Go ignores them). */
function bump(c: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const i = alphabet.indexOf(c);
  return alphabet[(i & ~15) | ((i + 1) & 15)]!;
}

const SIGNATURES: Record<string, (input: string, alg: string, secret: string) => string> = {
  right: (input, alg, secret) => `${input}.${sign(input, alg, secret)}`,
  'wrong-key': (input, alg) =>
    `${input}.${sign(input, alg, 'not-the-secret-0123456789abcdef0123')}`,
  unsigned: (input) => `${input}.`,
  'hs512-for-hs256': (input, _alg, secret) => `${input}.${sign(input, 'HS512', secret)}`,
  'sig-padded': (input, alg, secret) => `${input}.${sign(input, alg, secret)}=`,
  'sig-non-canonical': (input, alg, secret) => {
    const s = sign(input, alg, secret);
    return `${input}.${s.slice(0, -1)}${bump(s.at(-1)!)}`;
  },
  'sig-cr': (input, alg, secret) => {
    const s = sign(input, alg, secret);
    return `${input}.${s.slice(0, 10)}\r${s.slice(10)}`;
  },
  'sig-dangling': (input, alg, secret) => `${input}.${sign(input, alg, secret)}AA`,
};

function assemble(parts: Parts, encoding: string, signature: string, secret: string): string {
  const [h, p] = ENCODINGS[encoding]!(b64(parts.header), b64(parts.payload));
  return SIGNATURES[signature]!(`${h}.${p}`, parts.alg, secret);
}

function algOf(raw: string | Buffer): string {
  const header = raw.toString();
  return (
    /"alg":"(HS\d{3})"\s*}?\s*$/.exec(header)?.[1] ?? /HS(384|512)/.exec(header)?.[0] ?? 'HS256'
  );
}

/** The hand-picked cases: each named, each once. */
function edgeCases(options: CorpusOptions): CorpusToken[] {
  const { secret, users } = options;
  const user = users[0]!;
  const ok = (extra: string[] = [], uid = q(user)) =>
    obj([
      m('uid', uid),
      m('email', q('a@corp.example')),
      m('role', q('admin')),
      m('iat', String(PAST)),
      m('exp', String(FUTURE)),
      ...extra,
    ]);
  const signed = (
    label: string,
    payload: string | Buffer,
    header = HEADERS.canonical!,
    encoding = 'plain',
    signature = 'right',
  ) => ({
    label: `edge:${label}`,
    token: assemble({ header, payload, alg: algOf(header) }, encoding, signature, secret),
  });
  const cases: CorpusToken[] = [
    signed('valid', ok()),
    signed(
      'exp-missing',
      obj([m('uid', q(user)), m('email', q('a@corp.example')), m('role', q('admin'))]),
    ),
    signed('only-uid', obj([m('uid', q(user))])),
    signed('claims-null', 'null'),
    signed('claims-array', '[]'),
    signed('claims-string', '"x"'),
    signed('claims-number', '1'),
    signed('claims-empty', '{}'),
    signed('uid-twice-valid-last', ok([m('uid', q(user))], '5').replace('"uid":5', '"uid":"x"')),
    signed(
      'uid-number-then-valid',
      obj([m('uid', '5'), m('uid', q(user)), m('exp', String(FUTURE))]),
    ),
    signed(
      'uid-valid-then-null',
      obj([m('uid', q(user)), m('uid', 'null'), m('exp', String(FUTURE))]),
    ),
    signed(
      'UID-then-uid',
      obj([m('UID', q(uuidOf(prng(1)))), m('uid', q(user)), m('exp', String(FUTURE))]),
    ),
    signed(
      'uid-then-UID',
      obj([m('uid', q(user)), m('UID', q(uuidOf(prng(2)))), m('exp', String(FUTURE))]),
    ),
    signed(
      'exp-twice-past-last',
      obj([m('uid', q(user)), m('exp', String(FUTURE)), m('EXP', String(PAST))]),
    ),
    signed('exp-then-null', obj([m('uid', q(user)), m('exp', String(PAST)), m('exp', 'null')])),
    signed('long-s-sub-number', ok([m('\u017fub', '1')])),
    signed('long-s-iss-number', ok([m('i\u017fs', '2')])),
    signed('long-s-iss-string', ok([m('i\u017f\u017f', q('x'))])),
    signed('kelvin-key', ok([m('\u212a', '1')])),
    signed('iss-null', ok([m('iss', 'null')])),
    signed('sub-null', ok([m('sub', 'null')])),
    signed('jti-number', ok([m('jti', '1')])),
    signed('aud-number', ok([m('aud', '1')])),
    signed('aud-numbers', ok([m('aud', '[1]')])),
    signed('proto-key', ok([m('__proto__', '{"admin":true}')])),
    signed('lone-surrogate-key', ok([m('x', '"\\ud800"'), '"u\\u0069d":' + q(user)])),
    signed('surrogate-pair', ok([m('x', '"\\ud83d\\ude00"')])),
    signed(
      'invalid-utf8-uid',
      Buffer.concat([
        Buffer.from(`{"exp":${FUTURE},"uid":"${user.slice(0, 35)}`),
        Buffer.from([0xe2, 0x82, 0x22, 0x7d]),
      ]),
    ),
    signed('control-in-string', ok([], `"${user}\u0001"`)),
    signed('unknown-huge-number', ok([m('x', '1e400')])),
    signed('unknown-deep-9999', ok([m('x', nested(9998))])),
    signed('unknown-deep-10000', ok([m('x', nested(9999))])),
    signed('unknown-deep-10001', ok([m('x', nested(10000))])),
    signed('unknown-deep-50000', ok([m('x', nested(50000))])),
    signed('header-deep-10000', ok(), `{"alg":"HS256","x":${nested(9999)}}`),
    signed('header-deep-10001', ok(), `{"alg":"HS256","x":${nested(10000)}}`),
    signed('big-100k', ok([m('pad', q('p'.repeat(100_000)))])),
    signed('big-1m', ok([m('pad', q('p'.repeat(1_000_000)))])),
    signed('big-2m5', ok([m('pad', q('p'.repeat(2_500_000)))])),
    signed('many-keys', ok(Array.from({ length: 5000 }, (_, i) => m(`k${i}`, String(i))))),
    { label: 'edge:two-segments', token: `${b64(HEADERS.canonical!)}.${b64(ok())}` },
    {
      label: 'edge:four-segments',
      token: `${assemble({ header: HEADERS.canonical!, payload: ok(), alg: 'HS256' }, 'plain', 'right', secret)}.x`,
    },
    { label: 'edge:empty-segments', token: '..' },
    { label: 'edge:dots-only', token: '...' },
    { label: 'edge:garbage', token: 'not a token' },
  ];
  for (const [name, header] of Object.entries(HEADERS))
    cases.push(signed(`header-${name}`, ok(), header));
  for (const encoding of Object.keys(ENCODINGS))
    cases.push(signed(`enc-${encoding}`, ok(), HEADERS.canonical, encoding));
  for (const signature of Object.keys(SIGNATURES))
    cases.push(signed(`sig-${signature}`, ok(), HEADERS.canonical, 'plain', signature));
  return cases;
}

/** The corpus: the edge cases, then `count` seeded random combinations. */
export function generateTokenCorpus(options: CorpusOptions): CorpusToken[] {
  const r = prng(options.seed);
  const out = edgeCases(options);
  const headerNames = Object.keys(HEADERS);
  for (let n = 0; n < options.count; n++) {
    const choices = claimChoices(r, options.users);
    // Most tokens are near-valid, so each one varies a few things at a time.
    const vary = () => r() < 0.3;
    const labels: string[] = [];
    const members: string[] = [];
    const claim = (key: string, options: Record<string, string | undefined>, usual: string) => {
      const [name, raw] = vary() ? pick(r, options) : [usual, options[usual]];
      if (raw === undefined) return void (name !== usual && labels.push(`${key}:${name}`));
      const [spelling, spelled] = r() < 0.08 ? pick(r, keyChoices(key)) : ['exact', key];
      if (name !== usual) labels.push(`${key}:${name}`);
      if (spelling !== 'exact') labels.push(`${key}-key:${spelling}`);
      members.push(`${JSON.stringify(spelled).replace(/\\\\u00/g, '\\u00')}:${raw}`);
    };
    claim('uid', choices.uid!, 'user');
    claim('email', choices.email!, 'plain');
    claim('role', choices.role!, 'admin');
    claim('iat', TIME_CHOICES(r), 'past');
    claim('exp', choices.exp!, 'future');
    claim('nbf', TIME_CHOICES(r), 'missing');
    for (const key of ['iss', 'sub', 'jti']) claim(key, OTHER_CHOICES, 'missing');
    claim('aud', AUD_CHOICES, 'missing');
    if (r() < 0.05) {
      // A duplicate of a claim already there, in another spelling.
      const [key, options, usual] =
        r() < 0.5 ? ['uid', choices.uid!, 'random'] : ['exp', choices.exp!, 'past'];
      claim(key, options, usual);
      labels.push(`dup:${key}`);
    }
    if (r() < 0.03) {
      const depth = [100, 9998, 9999, 10000][Math.floor(r() * 4)]!;
      members.push(m('deep', nested(depth)));
      labels.push(`deep:${depth + 1}`);
    }
    if (r() < 0.5) members.sort(() => r() - 0.5);
    const header = vary()
      ? HEADERS[headerNames[Math.floor(r() * headerNames.length)]!]!
      : HEADERS.canonical!;
    const headerName = Object.keys(HEADERS).find((k) => HEADERS[k] === header)!;
    const encoding = r() < 0.12 ? pick(r, ENCODINGS)[0] : 'plain';
    const signature = r() < 0.15 ? pick(r, SIGNATURES)[0] : 'right';
    const payload = obj(members);
    out.push({
      label:
        `gen:${n} header:${headerName} ${labels.join(' ')} enc:${encoding} sig:${signature}`.replace(
          /\s+/g,
          ' ',
        ),
      token: assemble({ header, payload, alg: algOf(header) }, encoding, signature, options.secret),
    });
  }
  return out;
}
