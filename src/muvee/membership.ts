/**
 * What muvee's `EnsurePlatformMember` decides for a DingTalk login, pure: given what the
 * database holds (the user by exact email, its platform membership, whether the email is
 * invited, the access mode), which rows to write. Every store (SQLite, muvee's PostgreSQL)
 * reads that state and applies this decision in one transaction.
 *
 * @see ../../shared/muvee-server.md §2
 */
import type { Role } from './session.js';

export type AccessMode = 'open' | 'invite' | 'request';
export const ACCESS_MODES: readonly AccessMode[] = ['open', 'invite', 'request'];

/** muvee: `open` when the setting is unset or unknown. */
export function accessModeOf(value: string | undefined | null): AccessMode {
  return ACCESS_MODES.includes(value as AccessMode) ? (value as AccessMode) : 'open';
}

/** muvee looks invitations up lower-cased and trimmed (and stores them that way). */
export function invitationKey(email: string): string {
  return email.trim().toLowerCase();
}

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

/** Pure: muvee's decision for a login of `admin` (the email is in ADMIN_EMAILS) in `state`. */
export function decideLogin(state: LoginState, admin: boolean): LoginDecision {
  if (state.accessMode === 'invite' && !admin && !state.invited && !state.member) {
    return {
      refused: 'not-invited',
      newMember: undefined,
      promote: false,
      authorizeByInvite: false,
      role: 'member',
      authorized: false,
    };
  }
  const newMember = state.member
    ? undefined
    : {
        role: admin ? ('admin' as const) : ('member' as const),
        authorized: !(state.accessMode === 'request' && !admin),
      };
  const before = state.member ?? newMember!;
  const promote = admin && before.role !== 'admin';
  const authorizeByInvite =
    state.accessMode === 'invite' &&
    state.invited &&
    state.member !== undefined &&
    !before.authorized;
  return {
    refused: undefined,
    newMember,
    promote,
    authorizeByInvite,
    role: promote ? 'admin' : before.role,
    authorized: before.authorized || authorizeByInvite,
  };
}
