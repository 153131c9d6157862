/**
 * `check-config --muvee <url>`: ask the deployed muvee whether it is wired like the
 * configuration being checked. A function of its inputs returning the checks; the command
 * prints them.
 *
 * Flow: judge the URL (https unless loopback; nothing is sent otherwise) → GET
 * /api/auth/providers (reachable? DingTalk offered?) → GET /auth/dingtalk/login (client_id,
 * redirect_uri, parameters, state cookie) and the callback with a forged state → when
 * JWT_SECRET is set and a user is known: a probe session valid for
 * {@link PROBE_TTL_SECONDS}, sent to GET /api/me of that URL only.
 */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Check } from '../config/checks.js';
import type { Config } from '../config/config.js';
import { isCliError } from '../cli/errors.js';
import { isEmail, isUuid } from '../muvee/shapes.js';
import type { StoredUser } from '../muvee/model.js';
import { openMuveeUsers, type MuveeUsers } from '../store/muvee-users.js';
import { judgeCallback, judgeLogin, judgeProviders, judgeReachable } from './checks.js';
import { judgeSession, type SessionSubject } from './session-checks.js';
import { judgeMuveeUrl, quote } from './target.js';
import { fetchLoginRoutes, fetchMe, fetchProviders, MuveeProbe } from './probe.js';

/** The probe session's lifetime: long enough for one request, short enough to be useless after. */
export const PROBE_TTL_SECONDS = 60;

export interface DeploymentInputs {
  /** The URL as the user gave it, and where (`--muvee` or `MUVEE_URL`). */
  muveeUrl: string;
  name: string;
  config: Config;
  /** `--muvee-user`: an email or a uuid of a user the deployed muvee has. */
  muveeUser: string | undefined;
  timeoutMs: number;
  /** Tests: an own undici dispatcher. */
  dispatcher?: Dispatcher;
  userAgent?: string;
}

/** Every `muvee-*` check, in order. Never throws for what muvee answers; only for bugs. */
export async function checkDeployment(inputs: DeploymentInputs): Promise<Check[]> {
  const { check: urlCheck, url } = judgeMuveeUrl(inputs.muveeUrl, inputs.name);
  const checks: Check[] = [urlCheck];
  if (!url) return checks;
  const probe = new MuveeProbe({
    base: url,
    timeoutMs: inputs.timeoutMs,
    ...(inputs.dispatcher ? { dispatcher: inputs.dispatcher } : {}),
    ...(inputs.userAgent ? { userAgent: inputs.userAgent } : {}),
  });
  try {
    const reach = judgeReachable(await fetchProviders(probe), inputs.timeoutMs);
    checks.push(reach.check);
    if (!reach.providers) return checks;
    checks.push(judgeProviders(reach.providers));

    const { config } = inputs;
    const { login, callback } = await fetchLoginRoutes(probe, randomUUID());
    checks.push(
      ...judgeLogin(
        login,
        url,
        {
          clientId: config.clientId,
          redirectUrl:
            config.sources.DINGTALK_REDIRECT_URL === 'default' ? undefined : config.redirectUrl,
          baseDomain: config.baseDomain,
        },
        inputs.timeoutMs,
      ),
    );
    checks.push(judgeCallback(callback, inputs.timeoutMs));

    const subject = await sessionSubject(config, inputs.muveeUser, inputs.timeoutMs);
    if ('check' in subject) {
      checks.push(subject.check);
    } else {
      const { mintSessionToken } = await import('../muvee/session.js');
      const { token } = mintSessionToken(
        { uid: subject.uid, email: subject.email, role: roleOf(subject) },
        config.jwtSecret!,
        { ttlSeconds: PROBE_TTL_SECONDS },
      );
      checks.push(...judgeSession(await fetchMe(probe, token), subject, inputs.timeoutMs));
    }
    return checks;
  } finally {
    await probe.close();
  }
}

const roleOf = (subject: SessionSubject): 'admin' | 'member' =>
  subject.db?.role === 'admin' ? 'admin' : 'member';

/**
 * Who the probe session is for: `--muvee-user` (a uuid as is, or looked up in the configured
 * database; an email needs the database), else a user of muvee's PostgreSQL (the first
 * ADMIN_EMAILS address it has, else its first user). A `muvee-session` warning or failure
 * when there is none, or when JWT_SECRET is not set.
 */
async function sessionSubject(
  config: Config,
  muveeUser: string | undefined,
  timeoutMs: number,
): Promise<SessionSubject | { check: Check }> {
  const id = 'muvee-session';
  if (!config.jwtSecret) {
    return {
      check: {
        id,
        status: 'warn',
        message:
          "JWT_SECRET is not set here, so whether the deployed muvee accepts this tool's sessions was not checked; set it to muvee's JWT_SECRET",
      },
    };
  }
  const where = config.dbPath;
  let store: MuveeUsers | undefined;
  try {
    // Without --muvee-user, a user is picked from muvee's own database only.
    store = await openMuveeUsers(config.dbFile, {
      timeoutMs,
      onlyPostgres: muveeUser === undefined,
    });
    if (!store && muveeUser === undefined) {
      return {
        check: {
          id,
          status: 'warn',
          message:
            "no user to sign a probe session for, so whether the deployed muvee accepts this tool's sessions was not checked; pass --muvee-user <email|uuid> of a user that muvee has, or connect muvee's database (--db postgres://… or DATABASE_URL)",
        },
      };
    }
    if (muveeUser !== undefined) {
      const found = store
        ? await (isUuid(muveeUser) ? store.findById(muveeUser) : store.findByEmail(muveeUser))
        : undefined;
      if (found) return subjectOf(found, store!.kind, where);
      if (isUuid(muveeUser)) {
        return {
          uid: muveeUser,
          email: '',
          from: 'flag',
          ...(store?.kind === 'postgres' ? { missingFrom: where } : {}),
        };
      }
      return {
        check: {
          id,
          status: 'fail',
          message: store
            ? `--muvee-user ${quote(muveeUser, 80)} is not in ${where}; pass a user that muvee has (an email or a uuid)`
            : `--muvee-user ${quote(muveeUser, 80)} is an email, and no database is connected to find muvee's id for it; pass the user's uuid (users.id in muvee's database), or connect it (--db postgres://… or DATABASE_URL)`,
        },
      };
    }
    const user = store ? await store.pick(config.adminEmails.items) : undefined;
    if (user) return subjectOf(user, store!.kind, where);
    return {
      check: {
        id,
        status: 'warn',
        message: `${where} has no user to sign a probe session for, so session acceptance was not checked; sign in to muvee once, or pass --muvee-user`,
      },
    };
  } catch (error) {
    if (!isCliError(error)) throw error;
    if (muveeUser !== undefined && isUuid(muveeUser))
      return { uid: muveeUser, email: '', from: 'flag' };
    return {
      check: {
        id,
        status: 'warn',
        message: `could not read ${where} to find a user for the probe session (${error.message}), so session acceptance was not checked; pass --muvee-user <uuid>`,
      },
    };
  } finally {
    await store?.close();
  }
}

function subjectOf(user: StoredUser, kind: MuveeUsers['kind'], location: string): SessionSubject {
  return {
    uid: user.id,
    email: user.email,
    from: 'database',
    db: {
      kind,
      location,
      role: user.role,
      authorized: user.authorized,
    },
  };
}

/** `--muvee-user` must be an email or a uuid: anything else is a usage error (exit 2). */
export function muveeUserProblem(value: string): string | undefined {
  return isUuid(value) || isEmail(value)
    ? undefined
    : `--muvee-user ${quote(value, 80)} is neither an email nor a uuid; pass a user of the deployed muvee, e.g. --muvee-user admin@corp.example`;
}
