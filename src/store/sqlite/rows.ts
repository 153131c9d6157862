/** A users row of the local file (with its platform membership) as the store reads it. */
import type { Role, StoredUser } from '../../muvee/model.js';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  avatar_url: string;
  role: Role;
  authorized: number;
  name_overridden: number;
  avatar_overridden: number;
  created_at: string;
  member_role: Role | null;
  member_authorized: number | null;
  last_login_at: string | null;
}

export const USER_SELECT = `SELECT u.*, m.role AS member_role, m.authorized AS member_authorized,
  (SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = u.id) AS last_login_at
  FROM users u LEFT JOIN platform_members m ON m.user_id = u.id`;

export const toUser = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email,
  name: row.name,
  avatarUrl: row.avatar_url,
  role: row.member_role ?? 'member',
  authorized: row.member_authorized !== null && row.member_authorized !== 0,
  member: row.member_role !== null,
  legacyRole: row.role,
  nameOverridden: row.name_overridden !== 0,
  avatarOverridden: row.avatar_overridden !== 0,
  createdAt: row.created_at,
  lastLoginAt: row.last_login_at,
});

/**
 * A new row id (muvee's `uuid.New()`): node:crypto is loaded by the first write, so a lookup
 * (verify-token with a database) never pays its load (~5 ms, node:stream included).
 */
export function randomUUID(): string {
  return process.getBuiltinModule('node:crypto').randomUUID();
}
