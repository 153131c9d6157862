/**
 * verify-token's verdict on a session token: muvee's own reading of it (go-jwt.ts, the same
 * steps as muvee's Go code) and this tool's stricter rules on top, so the tool is never looser
 * than muvee, and says where it is stricter ("muvee itself would accept this token because …").
 *
 * This tool's rules: three plain base64url segments; `alg` exactly HS256 (muvee signs HS256 and
 * accepts any HMAC); no `crit`/`b64` header (RFC 7515); the signature is exactly the base64url
 * of HMAC-SHA256 with JWT_SECRET's raw bytes; `exp` required; exp/nbf/iat JSON numbers; claim
 * names spelled exactly and once; `uid` a canonical UUID, `email` an email, `role` admin|member.
 *
 * No jsonwebtoken here: one HMAC from node:crypto, one decoding of each segment.
 */
import { CliError } from '../cli/errors.js';
import { readGoToken, type GoClaims, type GoToken } from './go-jwt.js';
import { isEmail, isUuid } from './shapes.js';

export const COOKIE_NAME = 'muvee_session';

import { ROLES, type Role } from './model.js';
import { isoTime } from '../runtime/iso-time.js';

export { ROLES, type Role } from './model.js';

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
  /** Whether muvee's own server would accept it (go-jwt.ts: ParseJWT, then uuid.Parse). */
  muveeAccepts: boolean;
  /** Where this verdict and muvee's differ, and why muvee decides as it does. */
  muveeNote?: string;
  /** Why muvee rejects it, in its own words (golang-jwt's error, or uuid.Parse's). */
  muveeReason?: string;
}

/** The longest token read at all (muvee's Go server stops reading a header at 1 MiB). */
export const MAX_TOKEN_CHARS = 16 * 1024 * 1024;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
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
  // A token with '=' in it (padding, or anywhere in a segment): judged, and rejected as
  // malformed (exit 5), not a usage error. A cookie header has '; ' or a name without dots.
  if (!text.includes(';') && /\..*\./.test(text)) return text;
  throw new CliError(
    'usage',
    `no ${COOKIE_NAME} cookie in the input; pass the token itself, 'muvee_session=<jwt>' or the whole Cookie header value`,
  );
}

/** ISO time of epoch seconds, or null for a number no date can hold. */
function safeIso(epochSeconds: number): string | null {
  return isoTime(epochSeconds * 1000);
}

const expiresAtOf = (claims: Record<string, unknown> | null): string | null =>
  claims && typeof claims.exp === 'number' ? safeIso(claims.exp) : null;

/** A token read without any check (`verify-token --decode`), or why it cannot be read. */
export type DecodedToken =
  | {
      decoded: true;
      header: Record<string, unknown>;
      claims: Record<string, unknown>;
      expiresAt: string | null;
    }
  | { decoded: false; message: string };

/** Why a token cannot even be read, in this tool's words; undefined when it can. */
function malformation(go: GoToken, token: string): string | undefined {
  if (token.length > MAX_TOKEN_CHARS)
    return `the token is ${token.length} characters long, more than any server reads (limit ${MAX_TOKEN_CHARS})`;
  if (!go.parts) return `a JWT has 3 dot-separated segments, this has ${token.split('.').length}`;
  const detail = go.reason.replace(/^token is malformed: /, '');
  if (go.stage === 'header-base64' || go.stage === 'header-json')
    return `the header is not base64url-encoded JSON (${detail})`;
  if (!go.header) return 'the header is not a JSON object';
  if (go.stage === 'claims-base64' || (go.stage === 'claims-json' && !go.claims))
    return `the payload is not base64url-encoded JSON (${detail})`;
  if (!go.claims) return 'the payload is not a JSON object';
  if (!go.cleanEncoding)
    return "a segment is not plain base64url (only A-Z a-z 0-9 '-' '_', no padding or line breaks)";
  return undefined;
}

/**
 * Pure: a token's header and claims WITHOUT verifying anything: what its author wrote,
 * whoever that was, read as muvee reads it. A token that cannot be read is malformed for
 * verifySessionToken too.
 */
export function decodeSessionToken(token: string): DecodedToken {
  const go = readToken(token, '', 0);
  const message = malformation(go, token);
  if (message !== undefined || !go.header || !go.claims)
    return { decoded: false, message: message ?? 'unreadable' };
  return { decoded: true, header: go.header, claims: go.claims, expiresAt: expiresAtOf(go.claims) };
}

function readToken(token: string, secret: string, now: number): GoToken {
  if (token.length <= MAX_TOKEN_CHARS) return readGoToken(token, secret, now);
  return {
    accepted: false,
    stage: 'segments',
    reason: "request header too large: muvee's HTTP server reads at most 1 MiB of headers",
    header: null,
    claims: null,
    cleanEncoding: false,
    hs256Matches: false,
  };
}

const TIME_KEYS = ['exp', 'nbf', 'iat'] as const;
const FIELD_NAMES = ['uid', 'email', 'role', 'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];

/** Keys of the claims that Go matches to a field though they are not spelled as it. */
function misspelled(claims: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const key of Object.keys(claims)) {
    if (FIELD_NAMES.includes(key) || key.length < 3 || key.length > 5) continue;
    const folded = key
      .replace(/\u017f/g, 's')
      .replace(/\u212a/g, 'k')
      .replace(/[A-Z]/g, (c) => c.toLowerCase());
    if (FIELD_NAMES.includes(folded)) out.push([key, folded]);
  }
  return out;
}

/**
 * Pure: where this tool is stricter than muvee, for a token muvee accepts: each rule it
 * breaks, worded as why muvee accepts it anyway.
 */
function stricterRules(go: GoToken, fields: GoClaims, token: string): string[] {
  const why: string[] = [];
  const claims = go.claims ?? {};
  if (/[\r\n]/.test(token)) why.push("Go's base64 decoder skips line breaks inside a segment");
  else if (!go.hs256Matches && go.alg === 'HS256')
    why.push("Go's base64 decoder ignores the unused low bits of the signature's last character");
  if (go.alg !== 'HS256')
    why.push(
      `it accepts any HMAC algorithm (this one is ${String(go.alg)}); muvee itself signs HS256`,
    );
  if (go.header && ('crit' in go.header || 'b64' in go.header))
    why.push('it ignores the crit/b64 header fields that this tool refuses (RFC 7515)');
  for (const field of fields.repeated) {
    const value = field === 'uid' ? fields.uid : claims[field];
    why.push(
      `it matches claim names regardless of case and takes the last '${field}' (${JSON.stringify(value ?? null)})`,
    );
  }
  for (const [key, field] of misspelled(claims))
    if (!fields.repeated.includes(field)) why.push(`it reads the claim '${key}' as '${field}'`);
  if (!fields.exp) why.push('it checks exp only when present: there, this token never expires');
  for (const key of TIME_KEYS) {
    const date = fields[key];
    if (date && !date.number)
      why.push(
        `it reads the numeric string ${key} "${String(claims[key] ?? date.value)}" as a date`,
      );
    else if (!date && fields.nulls.includes(key) && key !== 'exp')
      why.push(`it reads a null ${key} as no ${key} at all`);
  }
  if (!isUuid(fields.uid) && go.uuid)
    why.push(`it parses uid ${JSON.stringify(fields.uid)} as ${go.uuid}`);
  if (!isEmail(fields.email) || !ROLES.includes(fields.role as Role))
    why.push("it never reads the token's email and role: the role comes from platform_members");
  return why;
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
  const go = readToken(token, secret, now);
  const { header, claims } = go;
  const fields = go.fields;
  const expiresAt = fields?.exp ? safeIso(fields.exp.value) : expiresAtOf(claims);
  const base = { header, claims, expiresAt, muveeAccepts: go.accepted };
  const muveeReason = go.accepted ? undefined : go.reason;

  const reject = (reason: RejectReason, message: string): VerifyResult => {
    const note =
      go.accepted && fields
        ? `muvee itself would accept this token because ${stricterRules(go, fields, token).join('; ') || 'it reads it differently'}`
        : undefined;
    return { valid: false, reason, message, ...base, muveeNote: note, muveeReason };
  };

  const malformed = malformation(go, token);
  if (malformed !== undefined) return reject('malformed', malformed);
  if (header!.alg !== 'HS256') {
    return reject(
      'wrong-algorithm',
      `alg is ${JSON.stringify(header!.alg ?? null)}; muvee only accepts HS256`,
    );
  }
  if ('crit' in header! || 'b64' in header!) {
    // RFC 7515 §4.1.11: a token naming extensions the verifier does not implement must be refused.
    return reject(
      'malformed',
      'the header names JWS extensions (crit/b64) that muvee does not implement',
    );
  }
  if (!go.parts![2]) return reject('bad-signature', 'the signature is missing');
  if (!go.hs256Matches) return reject('bad-signature', 'the signature does not match JWT_SECRET');

  // Signed with JWT_SECRET: from here on the claims are the signer's.
  if (!fields) return reject('bad-claims', go.reason.replace(/^token is malformed: /, ''));
  const { exp, nbf } = fields;
  // A date written as a string is this tool's bad-claims (below), whatever its value.
  if (exp?.number && exp.unix + leeway <= now) {
    return reject(
      'expired',
      safeIso(exp.value) && exp.value < 2 ** 53
        ? `expired ${safeIso(exp.unix)}`
        : `exp ${JSON.stringify(claims?.exp ?? exp.value)} is beyond the range of a date (muvee reads it as long past)`,
    );
  }
  if (nbf?.number && now + leeway < nbf.unix) {
    return reject(
      'not-yet-valid',
      safeIso(nbf.unix) ? `not valid before ${safeIso(nbf.unix)} (nbf)` : 'nbf is beyond any date',
    );
  }
  const problem = claimProblem(claims!, fields);
  if (problem) return reject('bad-claims', problem);
  if (!go.accepted) {
    // --leeway tolerated what muvee calls expired (or not yet valid): valid, and said.
    if (go.stage === 'claims-invalid' && leeway > 0)
      return {
        valid: true,
        message: 'valid',
        ...base,
        muveeNote: `muvee itself would reject this token (${go.reason}): --leeway ${leeway} tolerated it`,
        muveeReason,
      };
    // Every rule above passed, so muvee's own reading decides (never looser than muvee).
    return reject('bad-claims', `muvee rejects it: ${go.reason}`);
  }
  return { valid: true, message: 'valid', ...base };
}

/** Pure: what is wrong with the claims for this tool (muvee's shape, strictly), or undefined. */
export function claimProblem(
  claims: Record<string, unknown>,
  fields?: GoClaims,
): string | undefined {
  if (fields && fields.repeated.length > 0) {
    const twice = fields.repeated[0]!;
    return `claim '${twice}' appears twice, differing only in case (muvee reads the last one, other readers the first)`;
  }
  const odd = misspelled(claims)[0];
  if (odd) return `claim '${odd[0]}' should be spelled '${odd[1]}'`;
  if (typeof claims.exp !== 'number') return 'exp is required (muvee sessions always expire)';
  for (const key of ['nbf', 'iat'] as const) {
    if (claims[key] !== undefined && typeof claims[key] !== 'number')
      return `${key} must be a number`;
  }
  if (!isUuid(claims.uid)) return `uid ${JSON.stringify(claims.uid ?? null)} is not a UUID`;
  if (!isEmail(claims.email))
    return `email ${JSON.stringify(claims.email ?? null)} is not an email`;
  if (!ROLES.includes(claims.role as Role)) {
    return `role ${JSON.stringify(claims.role ?? null)} is not admin or member`;
  }
  return undefined;
}

/** muvee's verdict alone (for tests and notes): accepts, and why or what it reads. */
export interface MuveeVerdict {
  accepts: boolean;
  reason: string;
  claims?: Record<string, unknown>;
}

/** Pure: would muvee's server accept this token as a session (before it looks the user up)? */
export function muveeVerdict(token: string, secret: string, now: number): MuveeVerdict {
  const go = readToken(token, secret, now);
  return {
    accepts: go.accepted,
    reason: go.reason,
    ...(go.fields ? { claims: { ...go.claims, uid: go.fields.uid } } : {}),
  };
}
