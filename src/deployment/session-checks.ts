/**
 * Pure judges of the session step: does the deployed muvee accept a session signed with this
 * JWT_SECRET (`check-config --muvee`, probe session at `GET /api/me`), and what did it say of
 * a given token (`verify-token --muvee`), beside the local verdict.
 */
import type { Check } from '../config/checks.js';
import { describeFailure, quote, snippet } from './target.js';
import type { Exchange, HttpAnswer } from './probe.js';

const pass = (id: string, message: string): Check => ({ id, status: 'pass', message });
const warn = (id: string, message: string): Check => ({ id, status: 'warn', message });
const fail = (id: string, message: string): Check => ({ id, status: 'fail', message });

/** The user a probe session is minted for, and what the connected database says of them. */
export interface SessionSubject {
  uid: string;
  email: string;
  /** Where the id came from: `--muvee-user` (a uuid), or the database. */
  from: 'flag' | 'database';
  /** The database the user was found in, with its role and authorization. */
  db?: {
    kind: 'postgres' | 'sqlite';
    location: string;
    role: string;
    authorized: boolean;
  };
  /** The connected database that was asked and does not have the user (a uuid given). */
  missingFrom?: string;
}

/** muvee's `/api/me` user, the fields compared. */
interface MeUser {
  id: string;
  email: string;
  role: string;
  authorized: boolean | undefined;
}

function parseMe(answer: HttpAnswer): MeUser | undefined {
  if (answer.truncated) return undefined;
  try {
    const body = JSON.parse(answer.body) as Record<string, unknown> | null;
    if (!body || typeof body.id !== 'string') return undefined;
    return {
      id: body.id,
      email: typeof body.email === 'string' ? body.email : '',
      role: typeof body.role === 'string' ? body.role : '',
      authorized: typeof body.authorized === 'boolean' ? body.authorized : undefined,
    };
  } catch {
    return undefined;
  }
}

const describeAccess = (role: string, authorized: boolean | undefined) =>
  `${quote(role || '?', 20)}, ${authorized === undefined ? 'authorization unknown' : authorized ? 'authorized' : 'not authorized (pending)'}`;

/**
 * Pure: muvee's answer to `GET /api/me` with a probe session signed with this JWT_SECRET for
 * `subject`: `muvee-session`, and `muvee-session-user` when a database said who that is.
 * 401 is muvee's one answer for a bad signature, an expired token and an unknown user.
 */
export function judgeSession(
  exchange: Exchange,
  subject: SessionSubject,
  timeoutMs: number,
): Check[] {
  const id = 'muvee-session';
  const who = subject.email
    ? `${quote(subject.email, 80)} (${subject.uid})`
    : `user ${subject.uid}`;
  if (exchange.failure)
    return [fail(id, `GET /api/me: ${describeFailure(exchange.failure, exchange.url, timeoutMs)}`)];
  const answer = exchange.answer!;
  if (answer.status === 401) {
    if (subject.db?.kind === 'postgres') {
      return [
        fail(
          id,
          `the deployed muvee refused a session signed with this JWT_SECRET for ${who}, who is in the connected database ${subject.db.location}: muvee runs with another JWT_SECRET; set the same JWT_SECRET on both sides (unless that database is not this muvee's)`,
        ),
      ];
    }
    if (subject.missingFrom !== undefined) {
      return [
        fail(
          id,
          `the deployed muvee refused a session signed with this JWT_SECRET for ${who} (401), a user the connected database ${subject.missingFrom} does not have either: most likely muvee has no such user; pass --muvee-user of a user it has`,
        ),
      ];
    }
    return [
      fail(
        id,
        `the deployed muvee refused a session signed with this JWT_SECRET for ${who} (401): either muvee runs with another JWT_SECRET, or that user is not in its database; connect muvee's database (--db postgres://… or DATABASE_URL) to tell which`,
      ),
    ];
  }
  if (answer.status >= 300 && answer.status <= 399) {
    return [
      fail(
        id,
        `GET /api/me answered ${answer.status} (to ${quote(answer.location ?? '')}); the session is sent to no other URL: check the URL and the proxy in front of muvee`,
      ),
    ];
  }
  if (answer.status !== 200) {
    return [
      fail(
        id,
        `GET /api/me answered ${answer.status} ${snippet(answer)}, not muvee's 200 or 401; check muvee's logs and the proxy in front of it`,
      ),
    ];
  }
  const me = parseMe(answer);
  if (!me)
    return [
      fail(id, `GET /api/me answered 200 ${snippet(answer)}, not muvee's user JSON; check the URL`),
    ];
  if (me.id.toLowerCase() !== subject.uid.toLowerCase()) {
    return [
      fail(
        id,
        `GET /api/me answered with user ${quote(me.id, 40)}, not ${subject.uid} whose session was sent; check the proxy in front of muvee (a cache?)`,
      ),
    ];
  }
  const checks: Check[] = [
    pass(
      id,
      `the deployed muvee accepts sessions signed with this JWT_SECRET (GET /api/me as ${quote(me.email || subject.email, 80)}: 200, ${describeAccess(me.role, me.authorized)})`,
    ),
  ];
  const db = subject.db;
  if (subject.missingFrom !== undefined) {
    checks.push(
      warn(
        'muvee-session-user',
        `muvee has this user, but ${subject.missingFrom} does not: the connected database is not this muvee's; connect the database muvee uses`,
      ),
    );
  }
  if (db) {
    const same =
      me.role === db.role && (me.authorized === undefined || me.authorized === db.authorized);
    checks.push(
      same
        ? pass(
            'muvee-session-user',
            `muvee and ${db.location} agree on this user: ${describeAccess(db.role, db.authorized)}`,
          )
        : warn(
            'muvee-session-user',
            `muvee says ${describeAccess(me.role, me.authorized)}, but ${db.location} says ${describeAccess(db.role, db.authorized)}: the connected database is not this muvee's, or it changed since; connect the database muvee uses`,
          ),
    );
  }
  return checks;
}

// ---------------------------------------------------------------------------------------
// verify-token --muvee

/** What the deployed muvee said of one token (`/api/me`). */
export interface MuveeTokenAnswer {
  /** true: 200 with a user; false: 401; undefined: no verdict (unreachable, another status). */
  accepts: boolean | undefined;
  status: number | undefined;
  /** One line for a person, the fix included where there is one. */
  message: string;
  user?: { id: string; email: string; role: string; authorized: boolean | undefined };
}

/** Pure: muvee's `/api/me` answer to a token sent as `Authorization: Bearer`. */
export function judgeTokenAtMuvee(exchange: Exchange, timeoutMs: number): MuveeTokenAnswer {
  const origin = new URL(exchange.url).origin;
  if (exchange.failure)
    return {
      accepts: undefined,
      status: undefined,
      message: describeFailure(exchange.failure, exchange.url, timeoutMs),
    };
  const answer = exchange.answer!;
  if (answer.status === 401) {
    return {
      accepts: false,
      status: 401,
      message: `${origin} refuses this token (GET /api/me: 401 unauthorized: a bad signature, expired, or a user it does not have: muvee gives one answer for all three)`,
    };
  }
  if (answer.status === 200) {
    const me = parseMe(answer);
    if (me) {
      return {
        accepts: true,
        status: 200,
        message: `${origin} accepts this token (GET /api/me: 200, user ${quote(me.id, 40)} ${quote(me.email, 80)}, ${describeAccess(me.role, me.authorized)})`,
        user: me,
      };
    }
  }
  return {
    accepts: undefined,
    status: answer.status,
    message: `${origin} answered GET /api/me with ${answer.status} ${snippet(answer)}, not muvee's 200 or 401; check the URL${answer.status >= 300 && answer.status <= 399 ? ' (the token is sent to no other URL)' : ''}`,
  };
}

/** The local verdict, as far as the comparison needs it. */
export interface LocalVerdict {
  valid: boolean;
  reason?: string | undefined;
  /** session.ts's "muvee itself would accept this token because …", when it says so. */
  muveeNote?: string | undefined;
}

/**
 * Pure: whether this tool and the deployed muvee agree on a token, and when not, the plain
 * sentence saying so (undefined when muvee gave no verdict).
 */
export function compareVerdicts(
  local: LocalVerdict,
  muvee: MuveeTokenAnswer,
): { agrees: boolean | undefined; disagreement?: string } {
  if (muvee.accepts === undefined) return { agrees: undefined };
  if (local.valid === muvee.accepts) return { agrees: true };
  if (local.valid) {
    return {
      agrees: false,
      disagreement:
        "this tool finds the token valid, but the deployed muvee refuses it: muvee runs with another JWT_SECRET, or it has no user with this uid (muvee's 401 does not say which); compare JWT_SECRET on both sides, and look the uid up in muvee's database",
    };
  }
  const because =
    local.reason === 'bad-signature'
      ? 'it was signed with the JWT_SECRET the deployed muvee runs with, which is not the one configured here; set the same JWT_SECRET on both sides'
      : local.muveeNote
        ? `this tool is stricter than muvee here (${local.muveeNote})`
        : 'this tool is stricter than muvee here';
  return {
    agrees: false,
    disagreement: `this tool rejects the token (${local.reason ?? 'rejected'}), but the deployed muvee accepts it: ${because}`,
  };
}
