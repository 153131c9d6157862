/** muvee's users row (with its platform membership) as this tool reads it. */
import type { Role, StoredUser } from '../../muvee/model.js';

export interface UserRow {
  id: string;
  email: string | null;
  name: string;
  avatar_url: string;
  role: Role;
  authorized: boolean;
  name_overridden: boolean;
  avatar_overridden: boolean;
  created_at: Date;
  member_role: Role | null;
  member_authorized: boolean | null;
}

export const USER_SELECT = `SELECT u.id, u.email, u.name, u.avatar_url, u.role, u.authorized,
  u.name_overridden, u.avatar_overridden, u.created_at,
  m.role AS member_role, m.authorized AS member_authorized
  FROM users u LEFT JOIN platform_members m ON m.user_id = u.id`;

export const toUser = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email ?? '',
  name: row.name,
  avatarUrl: row.avatar_url,
  role: row.member_role ?? 'member',
  authorized: row.member_authorized === true,
  member: row.member_role !== null,
  legacyRole: row.role,
  nameOverridden: row.name_overridden,
  avatarOverridden: row.avatar_overridden,
  createdAt: toIso(row.created_at),
  lastLoginAt: null,
});

export const toIso = (value: Date | string): string =>
  value instanceof Date ? value.toISOString() : new Date(value).toISOString();
