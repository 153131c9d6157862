/**
 * muvee's vocabulary, as types: roles, access modes, a user as muvee sees it (its users row and
 * platform membership), and a login's input and result. Pure; every layer imports these from
 * here, so no module depends on a store's implementation for its types.
 *
 * @see ../../shared/muvee-server.md §2, §3
 */
export type Role = 'admin' | 'member';
export const ROLES: readonly Role[] = ['admin', 'member'];

export type AccessMode = 'open' | 'invite' | 'request';
export const ACCESS_MODES: readonly AccessMode[] = ['open', 'invite', 'request'];

/** muvee: `open` when the setting is unset or unknown. */
export function accessModeOf(value: string | undefined | null): AccessMode {
  return ACCESS_MODES.includes(value as AccessMode) ? (value as AccessMode) : 'open';
}

/** A user as muvee sees it: the users row, and its platform membership. */
export interface StoredUser {
  id: string;
  email: string;
  name: string;
  avatarUrl: string;
  /** The platform role (platform_members.role; `member` without a row, as muvee). */
  role: Role;
  /** Whether muvee lets the user in (platform_members.authorized; false without a row). */
  authorized: boolean;
  /** Whether a platform_members row exists. */
  member: boolean;
  /** users.role: legacy, muvee no longer reads it (new rows are always `member`). */
  legacyRole: Role;
  nameOverridden: boolean;
  avatarOverridden: boolean;
  createdAt: string;
  /** This tool's own record of the last DingTalk login (not a muvee column). */
  lastLoginAt: string | null;
}

export interface LoginInput {
  email: string;
  name: string;
  avatarUrl: string;
  /** The email is in ADMIN_EMAILS (exactly). */
  admin: boolean;
  /** DingTalk's unionId, when the profile had one (this tool's link; muvee keeps none). */
  unionId: string | undefined;
  now?: Date;
}

export interface LoginResult {
  user: StoredUser;
  created: boolean;
  /** The member was made admin by ADMIN_EMAILS in this login. */
  promoted: boolean;
  accessMode: AccessMode;
  decision: LoginDecision;
  /** The unionId was linked to another user (another email) before this login. */
  previousEmailForUnionId: string | undefined;
  /** This email's user was linked to other DingTalk accounts (unionIds) before. */
  otherUnionIds: string[];
}

/** What a login finds in muvee's database (muvee/membership.ts decides on it). */
export interface LoginState {
  accessMode: AccessMode;
  /** The users row with exactly this email. */
  userExists: boolean;
  /** Its platform_members row. */
  member: { role: Role; authorized: boolean } | undefined;
  invited: boolean;
}

export interface LoginDecision {
  /** muvee shows `/login?error=not_invited` and writes nothing. */
  refused: 'not-invited' | undefined;
  /** The platform_members row to insert when there is none (muvee's ON CONFLICT DO NOTHING). */
  newMember: { role: Role; authorized: boolean } | undefined;
  /** ADMIN_EMAILS and the member is not admin yet: set role admin (never the reverse). */
  promote: boolean;
  /** invite mode: an unauthorized member who is now invited becomes authorized. */
  authorizeByInvite: boolean;
  /** The member row after the login: its role goes into the session token. */
  role: Role;
  authorized: boolean;
}
