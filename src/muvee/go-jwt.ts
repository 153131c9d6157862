/**
 * How muvee's server reads a session token, step by step as its Go code does: golang-jwt
 * v5.3.1's parser with no options (`ParseWithClaims` into muvee's `auth.Claims`), encoding/json
 * (go-json.ts), base64.RawURLEncoding, the NumericDate arithmetic of Go's time package, then the
 * middleware's uuid.Parse (google/uuid v1.6.0). Pure; the errors are golang-jwt's own text.
 *
 * muvee's claims (probed with muvee-oracle): `UserID string json:"uid"`, `Email string
 * json:"email"`, `Role json:"role"` (a string type) and the embedded `jwt.RegisteredClaims`
 * (iss, sub, jti strings; aud ClaimStrings; exp, nbf, iat *NumericDate). Its key function
 * accepts any HMAC method (HS256/384/512) with JWT_SECRET's raw bytes.
 *
 * Flow: split (exactly two dots) → header base64 → header JSON (a map) → claims base64 →
 * claims JSON (the struct) → alg known → signature base64 → key function (HMAC only) →
 * HMAC → exp/nbf against now (no leeway; iat is not checked) → uuid.Parse(uid).
 *
 * @see ../../../shared/muvee-server.md §4
 */
import { goJsonToJs, parseGoJson, type GoJson } from './go-json.js';
import { hmacSha256 } from './sha256.js';
import { goUuidParse } from './shapes.js';

const HMAC: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
/** golang-jwt's registered signing methods: the others are "unavailable". */
const KNOWN_ALGS = new Set([
  ...Object.keys(HMAC),
  ...['RS', 'ES', 'PS'].flatMap((f) => ['256', '384', '512'].map((n) => f + n)),
  'EdDSA',
  'none',
]);
/** Seconds from year 1 to 1970 (Go's unixToInternal). */
const UNIX_TO_INTERNAL = 62135596800;

/** Where ParseJWT stopped; `ok` when it returned claims. */
export type GoStage =
  | 'segments'
  | 'header-base64'
  | 'header-json'
  | 'claims-base64'
  | 'claims-json'
  | 'alg'
  | 'signature-base64'
  | 'keyfunc'
  | 'signature'
  | 'claims-invalid'
  | 'ok';

/** A NumericDate as Go holds it, and how the token wrote it. */
export interface GoDate {
  /** Go's internal seconds since year 1 (int64 arithmetic, wrapped as Go wraps it). */
  internal: number;
  /** The same as Unix seconds (meaningless when Go's arithmetic wrapped). */
  unix: number;
  /** The token wrote it as a JSON number (not a numeric string). */
  number: boolean;
  /** The number as JavaScript reads it, for display. */
  value: number;
}

/** muvee's `auth.Claims` after Go's decoding, plus what the tool needs to judge its shape. */
export interface GoClaims {
  uid: string;
  email: string;
  role: string;
  iss: string;
  sub: string;
  jti: string;
  exp?: GoDate;
  nbf?: GoDate;
  iat?: GoDate;
  /** Struct fields the JSON named more than once (keys that fold to the same field). */
  repeated: string[];
  /** Struct fields written as JSON null (Go leaves them unset). */
  nulls: string[];
}

export interface GoToken {
  /** ParseJWT's verdict and muvee's middleware's uuid.Parse: would muvee accept the session? */
  accepted: boolean;
  stage: GoStage;
  /** Why muvee rejects it (golang-jwt's error text, or uuid.Parse's), or what it reads. */
  reason: string;
  parts?: [string, string, string];
  /** The header and the claims as JSON (for display), when Go could read them. */
  header: Record<string, unknown> | null;
  claims: Record<string, unknown> | null;
  /** `alg` when the header holds a string there. */
  alg?: string;
  fields?: GoClaims;
  /** uuid.Parse(uid) in canonical form, when it parses. */
  uuid?: string;
  /** The segments are plain base64url (no line breaks, a valid length): a strict reader agrees. */
  cleanEncoding: boolean;
  /** HMAC-SHA256 of the first two segments, base64url, equals the third segment verbatim. */
  hs256Matches: boolean;
}

/** Go's base64.RawURLEncoding.DecodeString (not strict): '\r' and '\n' skipped. */
export function goRawUrl(segment: string): { bytes: Buffer } | { error: string } {
  if (/^[A-Za-z0-9_-]*$/.test(segment)) {
    if (segment.length % 4 !== 1) return { bytes: Buffer.from(segment, 'base64url') };
    return { error: `illegal base64 data at input byte ${byteLength(segment) - 1}` };
  }
  let clean = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (/[A-Za-z0-9_-]/.test(c)) clean += c;
    else if (c !== '\r' && c !== '\n')
      return { error: `illegal base64 data at input byte ${byteLength(segment.slice(0, i))}` };
  }
  if (clean.length % 4 === 1)
    return { error: `illegal base64 data at input byte ${byteLength(segment) - 1}` };
  return { bytes: Buffer.from(clean, 'base64url') };
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** Folds a JSON key as encoding/json matches struct fields (ſ → s, K → k, ASCII case). */
function fieldOf(key: string): string | undefined {
  if (key.length < 3 || key.length > 5) return undefined;
  let folded = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) folded += String.fromCharCode(c + 32);
    else if (c === 0x17f) folded += 's';
    else if (c === 0x212a) folded += 'k';
    else if (c < 0x80) folded += key[i];
    else return undefined;
  }
  return FIELDS.has(folded) ? folded : undefined;
}
const STRING_FIELDS = new Set(['uid', 'email', 'role', 'iss', 'sub', 'jti']);
const DATE_FIELDS = new Set(['exp', 'nbf', 'iat']);
const FIELDS = new Set([...STRING_FIELDS, ...DATE_FIELDS, 'aud']);

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Go's int64(f) on amd64: out of range (and 2^63 itself) gives the minimum. */
function int64Of(f: number): bigint {
  return Math.abs(f) < 2 ** 63 ? BigInt(f) : -(2n ** 63n);
}

/** golang-jwt's newNumericDateFromSeconds, then Go's time.Unix: seconds as Go holds them. */
export function goDate(f: number, number: boolean): GoDate {
  const round = Math.trunc(f);
  const nsec = Math.trunc((f - round) * 1e9);
  let internal: number;
  if (Math.abs(round) < 2 ** 52) internal = round - (nsec < 0 ? 1 : 0) + UNIX_TO_INTERNAL;
  else {
    let sec = int64Of(round);
    if (nsec < 0) sec = BigInt.asIntN(64, sec - 1n);
    internal = Number(BigInt.asIntN(64, sec + BigInt(UNIX_TO_INTERNAL)));
  }
  return { internal, unix: internal - UNIX_TO_INTERNAL, number, value: f };
}

type DecodeOutcome = { fields: GoClaims } | { error: string };

/** Numbers anywhere in a value, as json.Unmarshal into interface{} converts them. */
function firstBadNumber(root: GoJson): string | undefined {
  const work: GoJson[] = [root];
  while (work.length > 0) {
    const v = work.pop()!;
    if (v.kind === 'number' && !Number.isFinite(Number(v.text))) return v.text;
    if (v.kind === 'array') for (let i = v.items.length - 1; i >= 0; i--) work.push(v.items[i]!);
    if (v.kind === 'object')
      for (let i = v.entries.length - 1; i >= 0; i--) work.push(v.entries[i]![1]);
  }
  return undefined;
}

const floatError = (text: string) =>
  `json: cannot unmarshal number ${text} into Go value of type float64`;

/** json.Unmarshal of the claims into muvee's auth.Claims. */
function decodeClaims(root: GoJson): DecodeOutcome {
  const fields: GoClaims = {
    uid: '',
    email: '',
    role: '',
    iss: '',
    sub: '',
    jti: '',
    repeated: [],
    nulls: [],
  };
  if (root.kind === 'null') return { fields };
  if (root.kind !== 'object')
    return { error: `json: cannot unmarshal ${root.kind} into Go value of type auth.Claims` };
  let saved: string | undefined;
  const seen = new Set<string>();
  for (const [key, value] of root.entries) {
    const field = fieldOf(key);
    if (!field) continue;
    if (seen.has(field) && !fields.repeated.includes(field)) fields.repeated.push(field);
    seen.add(field);
    if (value.kind === 'null' && !fields.nulls.includes(field)) fields.nulls.push(field);
    if (STRING_FIELDS.has(field)) {
      if (value.kind === 'string') fields[field as 'uid'] = value.value;
      else if (value.kind !== 'null')
        saved ??= `json: cannot unmarshal ${value.kind} into Go struct field Claims.${field} of type string`;
    } else if (DATE_FIELDS.has(field)) {
      const key = field as 'exp';
      if (value.kind === 'null') {
        delete fields[key];
        continue;
      }
      let text: string;
      if (value.kind === 'number') text = value.text;
      else if (value.kind === 'string') {
        if (!JSON_NUMBER.test(value.value))
          return {
            error: `could not parse NumericData: json: invalid number literal, trying to unmarshal ${JSON.stringify(JSON.stringify(value.value))} into Number`,
          };
        text = value.value;
      } else
        return {
          error: `could not parse NumericData: json: cannot unmarshal ${value.kind} into Go value of type json.Number`,
        };
      const f = Number(text);
      if (!Number.isFinite(f))
        return {
          error: `could not convert json number value to float: strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`,
        };
      fields[key] = goDate(f, value.kind === 'number');
    } else {
      // aud: ClaimStrings: a string, an array of strings, or null.
      const bad = firstBadNumber(value);
      if (bad !== undefined)
        return {
          error: `json: cannot unmarshal number ${bad} into Go struct field Claims.aud of type float64`,
        };
      const ok =
        value.kind === 'null' ||
        value.kind === 'string' ||
        (value.kind === 'array' && value.items.every((item) => item.kind === 'string'));
      if (!ok) return { error: 'invalid type for claim' };
    }
  }
  return saved !== undefined ? { error: saved } : { fields };
}

/** json.Unmarshal of the header into map[string]interface{}: undefined = ok. */
function headerError(root: GoJson): string | undefined {
  if (root.kind === 'null') return undefined;
  if (root.kind !== 'object')
    return `json: cannot unmarshal ${root.kind} into Go value of type map[string]interface {}`;
  const bad = firstBadNumber(root);
  return bad === undefined ? undefined : floatError(bad);
}

let native: typeof import('node:crypto') | undefined;

/**
 * HMACs from node:crypto from now on: a long `--each` run, where the native hash is faster per
 * token. Otherwise HS256 is hashed here (sha256.ts): one token does not pay node:crypto's load.
 */
export function useNativeHmac(): void {
  native ??= process.getBuiltinModule('node:crypto');
}

/**
 * node:crypto's key for the secret's bytes, made once: createHmac prepares a raw key again at
 * every call, 11 µs on Node 24 against 2.4 µs with a KeyObject (`--each` of 100,000 tokens on
 * Node 24: 2.3 → 1.8 s).
 */
let nativeKey: { key: Buffer; object: import('node:crypto').KeyObject } | undefined;

function hmac(hash: string, key: Buffer, text: string): Buffer {
  if (hash === 'sha256' && !native) return Buffer.from(hmacSha256(key, Buffer.from(text, 'utf8')));
  // HS384/HS512 (muvee's verdict on them only): node:crypto, loaded then.
  native ??= process.getBuiltinModule('node:crypto');
  if (nativeKey?.key !== key) nativeKey = { key, object: native.createSecretKey(key) };
  return native.createHmac(hash, nativeKey.object).update(text).digest();
}

/** Constant-time equality of two byte strings (the lengths are not secret). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The HMAC key for a secret, made once per secret (a batch checks many tokens with one). */
let cachedKey: { secret: string; key: Buffer } | undefined;
function keyOf(secret: string): Buffer {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: Buffer.from(secret, 'utf8') };
  return cachedKey.key;
}

/**
 * Pure: reads a token exactly as muvee's ParseJWT and middleware do, at `now` (Unix seconds),
 * with `secret` = JWT_SECRET's raw bytes. Never throws.
 */
export function readGoToken(token: string, secret: string, now: number): GoToken {
  const result: GoToken = {
    accepted: false,
    stage: 'segments',
    reason: 'token is malformed: token contains an invalid number of segments',
    header: null,
    claims: null,
    cleanEncoding: false,
    hs256Matches: false,
  };
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return result;
  const parts: [string, string, string] = [
    token.slice(0, first),
    token.slice(first + 1, second),
    token.slice(second + 1),
  ];
  result.parts = parts;
  result.cleanEncoding = parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p) && p.length % 4 !== 1);
  // HS256's HMAC is computed once, for this tool's own check and for muvee's.
  let hs256: Buffer | undefined;
  if (parts[2].length === 43) {
    hs256 = hmac('sha256', keyOf(secret), `${parts[0]}.${parts[1]}`);
    result.hs256Matches = hs256.toString('base64url') === parts[2];
  }
  const stop = (stage: GoStage, reason: string): GoToken => {
    result.stage = stage;
    result.reason = reason;
    return result;
  };

  const headerBytes = goRawUrl(parts[0]);
  if ('error' in headerBytes)
    return stop(
      'header-base64',
      `token is malformed: could not base64 decode header: ${headerBytes.error}`,
    );
  const header = parseGoJson(headerBytes.bytes);
  if (!header.ok)
    return stop('header-json', `token is malformed: could not JSON decode header: ${header.error}`);
  const headerProblem = headerError(header.value);
  if (header.value.kind === 'object') {
    const shown = goJsonToJs(header.value) as Record<string, unknown>;
    result.header = shown;
    if (typeof shown.alg === 'string') result.alg = shown.alg;
  }
  if (headerProblem !== undefined)
    return stop(
      'header-json',
      `token is malformed: could not JSON decode header: ${headerProblem}`,
    );

  const claimBytes = goRawUrl(parts[1]);
  if ('error' in claimBytes)
    return stop(
      'claims-base64',
      `token is malformed: could not base64 decode claim: ${claimBytes.error}`,
    );
  const claims = parseGoJson(claimBytes.bytes);
  if (!claims.ok)
    return stop('claims-json', `token is malformed: could not JSON decode claim: ${claims.error}`);
  if (claims.value.kind === 'object')
    result.claims = goJsonToJs(claims.value) as Record<string, unknown>;
  const decoded = decodeClaims(claims.value);
  if ('error' in decoded)
    return stop('claims-json', `token is malformed: could not JSON decode claim: ${decoded.error}`);
  result.fields = decoded.fields;

  const alg = result.alg;
  if (alg === undefined)
    return stop('alg', 'token is unverifiable: signing method (alg) is unspecified');
  if (!KNOWN_ALGS.has(alg))
    return stop('alg', 'token is unverifiable: signing method (alg) is unavailable');
  const signature = goRawUrl(parts[2]);
  if ('error' in signature)
    return stop(
      'signature-base64',
      `token is malformed: could not base64 decode signature: ${signature.error}`,
    );
  const hash = HMAC[alg];
  if (!hash)
    return stop(
      'keyfunc',
      'token is unverifiable: error while executing keyfunc: unexpected signing method',
    );
  const expected =
    alg === 'HS256' && hs256 ? hs256 : hmac(hash, keyOf(secret), `${parts[0]}.${parts[1]}`);
  if (!sameBytes(signature.bytes, expected))
    return stop('signature', 'token signature is invalid: signature is invalid');

  const nowInternal = now + UNIX_TO_INTERNAL;
  const invalid: string[] = [];
  const { exp, nbf } = decoded.fields;
  if (exp && exp.internal <= nowInternal) invalid.push('token is expired');
  if (nbf && nowInternal < nbf.internal) invalid.push('token is not valid yet');
  if (invalid.length > 0)
    return stop('claims-invalid', `token has invalid claims: ${invalid.join(', ')}`);

  const uuid = goUuidParse(decoded.fields.uid);
  if ('error' in uuid) {
    result.stage = 'ok';
    result.reason = `uid ${JSON.stringify(decoded.fields.uid)} is not a UUID for muvee's middleware (uuid.Parse: ${uuid.error})`;
    return result;
  }
  result.uuid = uuid.uuid;
  result.stage = 'ok';
  result.accepted = true;
  result.reason = `uid ${uuid.uuid}`;
  return result;
}
