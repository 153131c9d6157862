/**
 * muvee's login steps (`EnsurePlatformMember` for a DingTalk login), written once for every
 * engine, over a small port each store implements: SQLite (synchronous, inside its IMMEDIATE
 * transaction) and muvee's PostgreSQL (asynchronous, inside its transaction). A dry run is the
 * same steps over a port that reads a snapshot and only records what it would write, so a plan
 * and the `--apply` that follows cannot disagree.
 *
 * Flow: read the access mode, the invitation and the user with exactly this email → decide
 * (muvee/membership.ts) → refuse (invite mode) or upsert the users row → read its membership
 * again (another login may have committed since) and decide on it → insert the membership when
 * there is none (and decide again when another writer came first) → promote → authorize by
 * invitation → read the user back.
 *
 * The steps are a generator of port calls, so one text serves a synchronous and an
 * asynchronous engine: `runSync` and `runAsync` drive it.
 *
 * @see ../../shared/muvee-server.md §2, §3
 */
import { CliError } from '../cli/errors.js';
import { decideLogin, type LoginDecision } from '../muvee/membership.js';
import type { AccessMode, LoginInput, LoginResult, Role, StoredUser } from '../muvee/model.js';

type Maybe<T> = T | Promise<T>;
export type Member = { role: Role; authorized: boolean };

/** What an engine does for a login's steps, inside its one transaction. */
export interface LoginPort {
  accessMode(): Maybe<AccessMode>;
  /** An invitation for this email (muvee looks it up lower-cased and trimmed). */
  isInvited(email: string): Maybe<boolean>;
  /** The users row with exactly this email (muvee matches exactly). */
  userByEmail(email: string): Maybe<StoredUser | undefined>;
  /**
   * muvee's upsert of the users row: insert, or on conflict (email) only name and avatar change,
   * each kept when overridden. Returns the row's id and whether it was inserted.
   */
  upsertUser(input: LoginInput, authorized: boolean): Maybe<{ id: string; created: boolean }>;
  /** The platform_members row (locked until the end of the transaction where the engine can). */
  member(userId: string): Maybe<Member | undefined>;
  /** Inserts the row unless one exists (muvee's ON CONFLICT DO NOTHING); false when it did. */
  insertMember(userId: string, member: Member): Maybe<boolean>;
  promote(userId: string): Maybe<void>;
  authorize(userId: string): Maybe<void>;
  userById(userId: string): Maybe<StoredUser>;
}

type Call = (port: LoginPort) => unknown;
export type LoginSteps = Generator<Call, LoginResult, unknown>;

function* ask<T>(call: (port: LoginPort) => Maybe<T>): Generator<Call, T, unknown> {
  return (yield call) as T;
}

/**
 * The one "not invited" refusal: invite mode, a non-admin who is neither invited nor a member.
 * muvee shows `/login?error=not_invited` and writes nothing.
 */
export function notInvited(
  email: string,
  accessMode: AccessMode,
  refused: LoginDecision['refused'],
  dryRun = false,
): CliError {
  return new CliError(
    'policy-denied',
    `muvee would refuse ${email}: the access mode is 'invite' and this email is neither invited nor a member (muvee shows /login?error=not_invited); invite it with 'muvee-dingtalk admin invite ${email}'. Nothing was ${dryRun ? 'written (dry run)' : 'stored'}`,
    { details: { email, accessMode, refused } },
  );
}

/** muvee's login steps for `input`: run them with `runSync` or `runAsync` over a port. */
export function* loginSteps(input: LoginInput): LoginSteps {
  const accessMode = yield* ask((p) => p.accessMode());
  const invited = yield* ask((p) => p.isInvited(input.email));
  const before = yield* ask((p) => p.userByEmail(input.email));
  const decide = (userExists: boolean, member: Member | undefined) =>
    decideLogin({ accessMode, userExists, member, invited }, input.admin);
  let decision = decide(
    before !== undefined,
    before?.member ? { role: before.role, authorized: before.authorized } : undefined,
  );
  if (decision.refused) throw notInvited(input.email, accessMode, decision.refused);

  const { id, created } = yield* ask((p) => p.upsertUser(input, decision.authorized));
  // The users row is ours (inserted, or locked by the update) until the end: decide again on
  // the membership as it is now, as another login may have committed since the first read.
  let member = yield* ask((p) => p.member(id));
  decision = decide(!created, member);
  if (decision.refused) throw notInvited(input.email, accessMode, decision.refused);
  if (decision.newMember) {
    const newMember = decision.newMember;
    if (!(yield* ask((p) => p.insertMember(id, newMember)))) {
      // A writer that does not lock the users row (muvee's member insert) came first.
      member = yield* ask((p) => p.member(id));
      decision = decide(true, member);
    }
  }
  if (decision.promote) yield* ask((p) => p.promote(id));
  if (decision.authorizeByInvite) yield* ask((p) => p.authorize(id));
  const user = yield* ask((p) => p.userById(id));
  return {
    user,
    created,
    promoted: decision.promote,
    accessMode,
    decision,
    previousEmailForUnionId: undefined,
    otherUnionIds: [],
  };
}

/** Drives `steps` over a synchronous port (SQLite). */
export function runSync<R>(steps: Generator<Call, R, unknown>, port: LoginPort): R {
  let next = steps.next();
  while (!next.done) {
    const value = next.value(port);
    if (value instanceof Promise) throw new Error('a synchronous login port returned a promise');
    next = steps.next(value);
  }
  return next.value;
}

/** Drives `steps` over an asynchronous port (PostgreSQL). */
export async function runAsync<R>(steps: Generator<Call, R, unknown>, port: LoginPort): Promise<R> {
  let next = steps.next();
  while (!next.done) next = steps.next(await next.value(port));
  return next.value;
}

// --- the dry run ------------------------------------------------------------------------------

export interface LoginPlan {
  email: string;
  /** The email is in ADMIN_EMAILS (exactly). */
  admin: boolean;
  accessMode: AccessMode;
  /** An invitation for this email exists (lower-cased, trimmed lookup, as muvee). */
  invited: boolean;
  /** muvee would refuse the login (`/login?error=not_invited`) and write nothing. */
  refused: 'not-invited' | undefined;
  /** `new`: a users row would be inserted; `existing`: the row with exactly this email. */
  user: 'new' | 'existing';
  /** The existing user's id; undefined for a new user (the id is made at insert). */
  userId: string | undefined;
  /** The users row (and membership) before the login. */
  existing: StoredUser | undefined;
  /** The name after the login; `nameKept`: the stored one stays because it is overridden. */
  name: string;
  nameKept: boolean;
  avatarUrl: string;
  avatarKept: boolean;
  /** The platform role after the login (what goes into the session token). */
  role: Role;
  /** ADMIN_EMAILS makes an existing non-admin member admin in this login. */
  promote: boolean;
  /** The platform_members row that would be inserted (there is none yet). */
  newMember: Member | undefined;
  /** invite mode: the unauthorized member is invited now and would become authorized. */
  authorizeByInvite: boolean;
  /** Whether muvee would let the user in after the login. */
  authorized: boolean;
  /** Signed in but waiting for approval (request mode), i.e. not authorized. */
  pending: boolean;
  decision: LoginDecision;
  /** The writes `--apply` would make, in words (empty when refused). */
  writes: string[];
  /** The login's result as `--apply` would return it (undefined when refused). */
  result: LoginResult | undefined;
}

/** What a dry run reads, in one snapshot. */
export interface PlanState {
  accessMode: AccessMode;
  invited: boolean;
  /** The user with exactly this email (not a case-insensitive near match), if any. */
  existing: StoredUser | undefined;
}

/** The id a dry run gives a user muvee would insert (muvee makes the real one at insert). */
export const NEW_USER_ID = '(new: muvee assigns the id at insert)';

/**
 * Pure: the plan for `input` in `state`: `loginSteps` run over a port that reads the snapshot
 * and records, in words, what it would write.
 */
export function planLogin(input: LoginInput, state: PlanState): LoginPlan {
  const { existing } = state;
  const writes: string[] = [];
  const nameKept = existing?.nameOverridden ?? false;
  const avatarKept = existing?.avatarOverridden ?? false;
  const name = nameKept ? existing!.name : input.name;
  const avatarUrl = avatarKept ? existing!.avatarUrl : input.avatarUrl;
  let member: Member | undefined = existing?.member
    ? { role: existing.role, authorized: existing.authorized }
    : undefined;
  let newMember: Member | undefined;
  const port: LoginPort = {
    accessMode: () => state.accessMode,
    isInvited: () => state.invited,
    userByEmail: () => existing,
    upsertUser: (_input, authorized) => {
      if (!existing) {
        writes.push(
          `insert users (email ${JSON.stringify(input.email)}, name ${JSON.stringify(name)}, role 'member', authorized ${authorized})`,
        );
        return { id: NEW_USER_ID, created: true };
      }
      const changes = [
        existing.name !== name
          ? `name ${JSON.stringify(existing.name)} → ${JSON.stringify(name)}`
          : '',
        existing.avatarUrl !== avatarUrl ? 'avatar_url' : '',
      ].filter(Boolean);
      writes.push(
        `update users ${existing.id}: ${changes.length ? changes.join(', ') : 'no change'}${nameKept ? ' (name kept: overridden)' : ''}`,
      );
      return { id: existing.id, created: false };
    },
    member: () => member,
    insertMember: (_id, row) => {
      writes.push(`insert platform_members (role '${row.role}', authorized ${row.authorized})`);
      newMember = row;
      member = { ...row };
      return true;
    },
    promote: () => {
      writes.push(`update platform_members: role 'member' → 'admin'`);
      member = { ...member!, role: 'admin' };
    },
    authorize: () => {
      writes.push('update platform_members: authorized → true');
      member = { ...member!, authorized: true };
    },
    userById: (id) => ({
      id,
      email: input.email,
      name,
      avatarUrl,
      role: member?.role ?? 'member',
      authorized: member?.authorized ?? false,
      member: member !== undefined,
      legacyRole: existing?.legacyRole ?? 'member',
      nameOverridden: nameKept,
      avatarOverridden: avatarKept,
      createdAt: existing?.createdAt ?? '(at insert)',
      lastLoginAt: null,
    }),
  };
  let result: LoginResult | undefined;
  let refusal: LoginDecision | undefined;
  try {
    result = runSync(loginSteps(input), port);
  } catch (error) {
    const refused = (error as CliError).details?.refused as LoginDecision['refused'];
    if (!refused) throw error;
    refusal = decideLogin(
      { accessMode: state.accessMode, userExists: false, member: undefined, invited: false },
      input.admin,
    );
  }
  const decision = result?.decision ?? refusal!;
  return {
    email: input.email,
    admin: input.admin,
    accessMode: state.accessMode,
    invited: state.invited,
    refused: decision.refused,
    user: existing ? 'existing' : 'new',
    userId: existing?.id,
    existing,
    name,
    nameKept,
    avatarUrl,
    avatarKept,
    role: decision.role,
    promote: decision.promote,
    newMember: result ? newMember : undefined,
    authorizeByInvite: decision.authorizeByInvite,
    authorized: decision.authorized,
    pending: !decision.refused && !decision.authorized,
    decision,
    writes: result ? writes : [],
    result,
  };
}

/** A dry run's plan as a login's result (the report prints either); a refusal is thrown. */
export function planAsResult(plan: LoginPlan): LoginResult {
  if (plan.refused || !plan.result)
    throw notInvited(plan.email, plan.accessMode, plan.refused ?? 'not-invited', true);
  return plan.result;
}
