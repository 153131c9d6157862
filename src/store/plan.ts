/**
 * A login's dry run: what muvee would do with a DingTalk login given what its database holds
 * now, without writing anything. Pure; the stores read the state (pg-store.ts `planLogin`,
 * user-store.ts for SQLite) and hand it here.
 *
 * @see ../../shared/muvee-server.md §2, §3
 */
import { decideLogin, type AccessMode, type LoginDecision } from '../muvee/membership.js';
import type { Role } from '../muvee/session.js';
import type { LoginInput, StoredUser } from './sqlite/store.js';

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
  newMember: { role: Role; authorized: boolean } | undefined;
  /** invite mode: the unauthorized member is invited now and would become authorized. */
  authorizeByInvite: boolean;
  /** Whether muvee would let the user in after the login. */
  authorized: boolean;
  /** Signed in but waiting for approval (request mode), i.e. not authorized. */
  pending: boolean;
  decision: LoginDecision;
  /** The writes `--apply` would make, in words (empty when refused). */
  writes: string[];
}

export interface PlanState {
  accessMode: AccessMode;
  invited: boolean;
  /** The user with exactly this email (not a case-insensitive near match), if any. */
  existing: StoredUser | undefined;
}

/** Pure: the plan for `input` in `state`. */
export function planFromState(
  input: Pick<LoginInput, 'email' | 'name' | 'avatarUrl' | 'admin'>,
  state: PlanState,
): LoginPlan {
  const { existing } = state;
  const decision = decideLogin(
    {
      accessMode: state.accessMode,
      userExists: existing !== undefined,
      member:
        existing && existing.member
          ? { role: existing.role, authorized: existing.authorized }
          : undefined,
      invited: state.invited,
    },
    input.admin,
  );
  const nameKept = existing?.nameOverridden ?? false;
  const avatarKept = existing?.avatarOverridden ?? false;
  const name = nameKept ? existing!.name : input.name;
  const avatarUrl = avatarKept ? existing!.avatarUrl : input.avatarUrl;
  const writes: string[] = [];
  if (!decision.refused) {
    if (!existing) {
      writes.push(
        `insert users (email ${JSON.stringify(input.email)}, name ${JSON.stringify(name)}, role 'member', authorized ${decision.authorized})`,
      );
    } else {
      const changes = [
        existing.name !== name
          ? `name ${JSON.stringify(existing.name)} → ${JSON.stringify(name)}`
          : '',
        existing.avatarUrl !== avatarUrl ? 'avatar_url' : '',
      ].filter(Boolean);
      writes.push(
        `update users ${existing.id}: ${changes.length ? changes.join(', ') : 'no change'}${nameKept ? ' (name kept: overridden)' : ''}`,
      );
    }
    if (decision.newMember)
      writes.push(
        `insert platform_members (role '${decision.newMember.role}', authorized ${decision.newMember.authorized})`,
      );
    if (decision.promote) writes.push(`update platform_members: role 'member' → 'admin'`);
    if (decision.authorizeByInvite) writes.push('update platform_members: authorized → true');
  }
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
    newMember: decision.newMember,
    authorizeByInvite: decision.authorizeByInvite,
    authorized: decision.authorized,
    pending: !decision.refused && !decision.authorized,
    decision,
    writes,
  };
}
