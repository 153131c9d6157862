/**
 * muvee's session tokens: HS256 JWTs with exactly `{uid, email, role, iat, exp}`, carried in
 * the `muvee_session` cookie. Minting (jsonwebtoken) lives here; verifying is
 * token-verdict.ts (muvee's own reading, go-jwt.ts, and this tool's stricter rules), re-exported
 * so callers have one module for sessions.
 */
import jwt from 'jsonwebtoken';
import { CliError } from '../cli/errors.js';
import { COOKIE_NAME, nowSeconds, type Role } from './token-verdict.js';

export {
  claimProblem,
  COOKIE_NAME,
  decodeSessionToken,
  extractToken,
  nowSeconds,
  ROLES,
  verifySessionToken,
  type DecodedToken,
  type RejectReason,
  type Role,
  type VerifyResult,
} from './token-verdict.js';

/** muvee's session lifetime: 7 days. */
export const SESSION_TTL_SECONDS = 604_800;

export interface SessionClaims {
  uid: string;
  email: string;
  role: Role;
  iat: number;
  exp: number;
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
