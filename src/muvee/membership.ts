/**
 * What muvee's `EnsurePlatformMember` decides for a DingTalk login, pure: given what the
 * database holds (the user by exact email, its platform membership, whether the email is
 * invited, the access mode), which rows to write. Every store (SQLite, muvee's PostgreSQL)
 * reads that state and applies this decision in one transaction.
 *
 * @see ../../shared/muvee-server.md §2
 */
import type { LoginDecision, LoginState } from './model.js';

export type { LoginDecision, LoginState } from './model.js';

/** muvee looks invitations up lower-cased and trimmed (and stores them that way). */
export function invitationKey(email: string): string {
  return email.trim().toLowerCase();
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
