/**
 * muvee's session tokens: HS256 JWTs with exactly `{uid, email, role, iat, exp}`, carried in
 * the `muvee_session` cookie. muvee verifies with HMAC only, so verification pins HS256 and
 * rejects everything else before a key is ever used.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CliError } from '../cli/errors.js';
import { goClaims, muveeVerdictOf, type MuveeVerdict } from './token-verdict.js';
import { goUuid, isEmail, isUuid } from './shapes.js';
import { ROLES, type Role } from './model.js';

export const COOKIE_NAME = 'muvee_session';
/** muvee's session lifetime: 7 days. */
export const SESSION_TTL_SECONDS = 604_800;

export interface SessionClaims {
  uid: string;
  email: string;
  role: Role;
  iat: number;
  exp: number;
}

export type RejectReason =
  'expired' | 'not-yet-valid' | 'bad-signature' | 'malformed' | 'wrong-algorithm' | 'bad-claims';

export interface VerifyResult {
  valid: boolean;
  reason?: RejectReason;
  /** Why, for humans: `signature does not match JWT_SECRET`. */
  message: string;
  header: Record<string, unknown> | null;
  claims: Record<string, unknown> | null;
  /** ISO time of `exp`, when the token has a numeric one. */
  expiresAt: string | null;
  /**
   * Whether muvee's own server would accept it (muvee-token.ts), and why, when that differs
   * from this verdict: this tool is stricter than muvee in places, never looser.
   */
  muveeAccepts: boolean;
  muveeNote?: string;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs a session token with exactly muvee's claims. */
export function mintSessionToken(
  user: { uid: string; email: string; role: Role },
  secret: string,
  options: { ttlSeconds?: number; now?: number } = {},
): { token: string; claims: SessionClaims } {
  const iat = options.now ?? nowSeconds();
  const claims: SessionClaims = {
    uid: user.uid,
    email: user.email,
    role: user.role,
    iat,
    exp: iat + (options.ttlSeconds ?? SESSION_TTL_SECONDS),
  };
  const token = jwt.sign(claims, secret, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ: 'JWT' },
  });
  return { token, claims };
}

/** The `Set-Cookie` value muvee sends, ready to paste into a browser or `curl`. */
export function sessionCookie(token: string, maxAgeSeconds = SESSION_TTL_SECONDS): string {
  return `${COOKIE_NAME}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax`;
}

/**
 * Pure: finds the JWT in what the user gave: a bare token, `muvee_session=<jwt>`, a whole
 * `Cookie:` header value, or a `Set-Cookie` line.
 */
export function extractToken(input: string): string {
  const text = input.trim().replace(/^(set-)?cookie:\s*/i, '');
  if (!text.includes('=')) return text;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  // A token, possibly with base64 padding (then rejected as malformed, exit 5, not a usage error).
  if (/^[\w-]+=*\.[\w-]+=*\.[\w-]*=*$/.test(text)) return text;
  throw new CliError(
    'usage',
    `no ${COOKIE_NAME} cookie in the input; pass the token itself, 'muvee_session=<jwt>' or the whole Cookie header value`,
  );
}

/** `7d`, `12h`, `30m`, `45s` or plain seconds → seconds. */
/** The longest `--ttl`: ten years. */
export const MAX_TTL_SECONDS = 3650 * 86400;

export function parseTtl(text: string): number {
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/i.exec(text);
  const size: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const seconds = match ? Number(match[1]) * (size[(match[2] ?? '').toLowerCase()] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new CliError(
      'usage',
      `invalid --ttl '${text}'; use a positive duration such as 7d, 12h, 30m or 3600`,
    );
  }
  // Dates end at year 275760; muvee's own sessions last 7 days.
  if (seconds > MAX_TTL_SECONDS) {
    throw new CliError(
      'usage',
      `--ttl '${text}' is longer than 3650d (ten years); use a shorter one`,
    );
  }
  return seconds;
}

function decodeSegment(segment: string): Record<string, unknown> | null {
  if (!/^[\w-]*$/.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Why a token cannot even be read (its shape), or undefined. Pure. */
function malformation(
  segments: number,
  header: Record<string, unknown> | null,
  claims: Record<string, unknown> | null,
): string | undefined {
  if (segments !== 3) return `a JWT has 3 dot-separated segments, this has ${segments}`;
  if (!header) return 'the header is not base64url-encoded JSON';
  if (!claims) return 'the payload is not base64url-encoded JSON';
  return undefined;
}

function expiresAtOf(claims: Record<string, unknown> | null): string | null {
  return claims && typeof claims.exp === 'number' && Number.isFinite(claims.exp)
    ? safeIso(claims.exp)
    : null;
}

/** A token read without any check (`verify-token --decode`), or why it cannot be read. */
export type DecodedToken =
  | {
      decoded: true;
      header: Record<string, unknown>;
      claims: Record<string, unknown>;
      expiresAt: string | null;
    }
  | { decoded: false; message: string };

/**
 * Pure: a token's header and claims WITHOUT verifying anything: what its author wrote,
 * whoever that was. A token that cannot be read is malformed for verifySessionToken too.
 */
export function decodeSessionToken(token: string): DecodedToken {
  const segments = token.split('.');
  const header = segments.length === 3 ? decodeSegment(segments[0] ?? '') : null;
  const claims = segments.length === 3 ? decodeSegment(segments[1] ?? '') : null;
  const message = malformation(segments.length, header, claims);
  if (message !== undefined || !header || !claims)
    return { decoded: false, message: message ?? 'unreadable' };
  return { decoded: true, header, claims, expiresAt: expiresAtOf(claims) };
}

/**
 * Verifies a muvee session token. Never throws: every failure is a `reason`.
 * Order: shape → algorithm (pinned HS256) → signature → time → muvee's claim shape.
 */
export function verifySessionToken(
  token: string,
  secret: string,
  options: { leewaySeconds?: number; now?: number } = {},
): VerifyResult {
  const leeway = options.leewaySeconds ?? 0;
  const now = options.now ?? nowSeconds();
  const segments = token.split('.');
  const header = segments.length === 3 ? decodeSegment(segments[0] ?? '') : null;
  const claims = segments.length === 3 ? decodeSegment(segments[1] ?? '') : null;
  const expiresAt = expiresAtOf(claims);
  // muvee's reading of the same token (muvee-token.ts), from the segments decoded above; once
  // jsonwebtoken has verified the HS256 signature, without a second HMAC.
  let signatureVerified = false;
  const muvee = (): MuveeVerdict =>
    segments.length === 3
      ? muveeVerdictOf(segments, header, claims, secret, now, signatureVerified)
      : { accepts: false, reason: 'not three segments' };
  const reject = (reason: RejectReason, message: string): VerifyResult => {
    const accepts = muvee().accepts;
    return {
      valid: false,
      reason,
      message,
      header,
      claims,
      expiresAt,
      muveeAccepts: accepts,
      ...(accepts
        ? {
            muveeNote: `muvee itself would accept this token because ${whyMuveeAccepts(reason, header, claims)}`,
          }
        : {}),
    };
  };

  const malformed = malformation(segments.length, header, claims);
  if (malformed !== undefined || !header || !claims) return reject('malformed', malformed ?? '');
  if (header.alg !== 'HS256') {
    return reject(
      'wrong-algorithm',
      `alg is ${JSON.stringify(header.alg ?? null)}; muvee only accepts HS256`,
    );
  }
  if ('crit' in header || 'b64' in header) {
    // RFC 7515 §4.1.11: a token naming extensions the verifier does not implement must be refused.
    return reject(
      'malformed',
      'the header names JWS extensions (crit/b64) that muvee does not implement',
    );
  }
  if (!segments[2]) return reject('bad-signature', 'the signature is missing');
  try {
    // A KeyObject: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM key.
    jwt.verify(token, secretKey(secret), {
      algorithms: ['HS256'],
      clockTolerance: leeway,
      clockTimestamp: now,
    });
  } catch (error) {
    // jsonwebtoken throws these two only after the signature verified.
    signatureVerified =
      error instanceof jwt.TokenExpiredError || error instanceof jwt.NotBeforeError;
    return classifyJwtError(error, reject, claims);
  }
  signatureVerified = true;

  // Where jsonwebtoken is looser than muvee: reject what muvee rejects.
  const folded = Object.keys(claims).map((key) => key.toLowerCase());
  const twice = folded.find((key, i) => folded.indexOf(key) !== i);
  if (twice !== undefined) {
    return reject(
      'bad-claims',
      `claim '${twice}' appears twice, differing only in case (muvee reads the last one, other readers the first)`,
    );
  }
  for (const key of ['iss', 'sub']) {
    if (key in claims && typeof claims[key] !== 'string')
      return reject('bad-claims', `${key} must be a string`);
  }
  if (typeof claims.exp === 'number' && !(claims.exp < 2 ** 63)) {
    return reject('expired', 'exp is beyond the range of a date (muvee reads it as long past)');
  }

  const problem = claimProblem(claims);
  if (problem) return reject('bad-claims', problem);
  return {
    valid: true,
    message: 'valid',
    header,
    claims,
    expiresAt,
    muveeAccepts: muvee().accepts,
  };
}

/** The KeyObject for a secret, made once per secret (a batch verifies many tokens with one). */
let cachedKey: { secret: string; key: KeyObject } | undefined;
function secretKey(secret: string): KeyObject {
  if (cachedKey?.secret !== secret)
    cachedKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return cachedKey.key;
}

/** Pure: the sentence after "muvee itself would accept this token because …". */
function whyMuveeAccepts(
  reason: RejectReason,
  header: Record<string, unknown> | null,
  claims: Record<string, unknown> | null,
): string {
  const read = goClaims(claims ?? {});
  const keys = Object.keys(claims ?? {}).map((key) => key.toLowerCase());
  const twice = keys.find((key, i) => keys.indexOf(key) !== i);
  if (twice !== undefined)
    return `it matches claim names regardless of case and takes the last '${twice}' (${JSON.stringify(read[twice])})`;
  if (reason === 'wrong-algorithm')
    return `it accepts any HMAC algorithm (this one is ${String(header?.alg)}); muvee itself signs HS256`;
  if (header && ('crit' in header || 'b64' in header))
    return 'it ignores the crit/b64 header fields that this tool refuses (RFC 7515)';
  if (!('exp' in read)) return 'it checks exp only when present: there, this token never expires';
  for (const key of ['exp', 'nbf', 'iat']) {
    if (typeof read[key] === 'string')
      return `it reads the numeric string ${key} "${String(read[key])}" as a date`;
  }
  const uid = goUuid(read.uid);
  if (uid && uid !== read.uid) return `it parses uid ${JSON.stringify(read.uid)} as ${uid}`;
  if (reason === 'bad-claims')
    return "it never reads the token's email and role: the role comes from platform_members";
  return `it reads the same token differently (${reason})`;
}

function classifyJwtError(
  error: unknown,
  reject: (reason: RejectReason, message: string) => VerifyResult,
  claims: Record<string, unknown>,
): VerifyResult {
  if (error instanceof jwt.TokenExpiredError) {
    return reject('expired', `expired ${error.expiredAt.toISOString()}`);
  }
  if (error instanceof jwt.NotBeforeError) {
    return reject('not-yet-valid', `not valid before ${error.date.toISOString()} (nbf)`);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'invalid signature') {
    return reject('bad-signature', 'the signature does not match JWT_SECRET');
  }
  if (message === 'invalid algorithm') return reject('wrong-algorithm', 'muvee only accepts HS256');
  if (/^invalid (exp|nbf|iat)|must be a number/.test(message)) {
    return reject('bad-claims', `${message} (claims ${Object.keys(claims).join(', ')})`);
  }
  return reject('malformed', message);
}

/** Pure: what is wrong with the claims for muvee, or `undefined`. */
export function claimProblem(claims: Record<string, unknown>): string | undefined {
  if (typeof claims.exp !== 'number') return 'exp is required (muvee sessions always expire)';
  if (claims.iat !== undefined && typeof claims.iat !== 'number') return 'iat must be a number';
  if (!isUuid(claims.uid)) return `uid ${JSON.stringify(claims.uid ?? null)} is not a UUID`;
  if (!isEmail(claims.email))
    return `email ${JSON.stringify(claims.email ?? null)} is not an email`;
  if (!ROLES.includes(claims.role as Role)) {
    return `role ${JSON.stringify(claims.role ?? null)} is not admin or member`;
  }
  return undefined;
}

function safeIso(epochSeconds: number): string | null {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
