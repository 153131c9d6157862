/**
 * muvee's login steps on its own PostgreSQL (record-login.ts's port), and the reads a dry run
 * takes its snapshot with; all inside the store's transaction (store.ts).
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { invitationKey } from '../../muvee/membership.js';
import { accessModeOf, type AccessMode, type Role, type StoredUser } from '../../muvee/model.js';
import type { LoginPort } from '../record-login.js';
import { USER_SELECT, toUser, type UserRow } from './rows.js';

export async function readAccessMode(c: PoolClient): Promise<AccessMode> {
  const { rows } = await c.query<{ value: string }>(
    `SELECT value FROM system_settings WHERE key = 'access_mode'`,
  );
  return accessModeOf(rows[0]?.value);
}

export async function readInvited(c: PoolClient, email: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM invitations WHERE email = $1', [
    invitationKey(email),
  ]);
  return (rowCount ?? 0) > 0;
}

export async function selectUser(
  c: PoolClient,
  where: string,
  value: string,
): Promise<StoredUser | undefined> {
  const { rows } = await c.query<UserRow>(`${USER_SELECT} WHERE ${where}`, [value]);
  return rows[0] && toUser(rows[0]);
}

async function selectMember(
  c: PoolClient,
  userId: string,
): Promise<{ role: Role; authorized: boolean } | undefined> {
  const { rows } = await c.query<{ role: Role; authorized: boolean }>(
    'SELECT role, authorized FROM platform_members WHERE user_id = $1 FOR UPDATE',
    [userId],
  );
  return rows[0];
}

/** muvee's login steps on this database, inside `recordLogin`'s transaction. */
export function loginPort(c: PoolClient, at: Date | undefined): LoginPort {
  const now = at?.toISOString() ?? null;
  return {
    accessMode: () => readAccessMode(c),
    isInvited: (email) => readInvited(c, email),
    userByEmail: (email) => selectUser(c, 'u.email = $1', email),
    upsertUser: async (input, authorized) => {
      const newId = randomUUID();
      const upserted = await c.query<{ id: string }>(
        `INSERT INTO users (id, email, name, avatar_url, role, authorized, created_at)
         VALUES ($1, $2, $3, $4, 'member', $5, coalesce($6::timestamptz, now()))
         ON CONFLICT (email) DO UPDATE SET
           name = CASE WHEN users.name_overridden THEN users.name ELSE EXCLUDED.name END,
           avatar_url = CASE WHEN users.avatar_overridden THEN users.avatar_url ELSE EXCLUDED.avatar_url END
         RETURNING id`,
        [newId, input.email, input.name, input.avatarUrl, authorized, now],
      );
      const id = upserted.rows[0]!.id;
      return { id, created: id === newId };
    },
    member: (userId) => selectMember(c, userId),
    insertMember: async (userId, member) => {
      const inserted = await c.query(
        `INSERT INTO platform_members (user_id, role, authorized, created_at)
         VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
         ON CONFLICT (user_id) DO NOTHING`,
        [userId, member.role, member.authorized, now],
      );
      return (inserted.rowCount ?? 0) > 0;
    },
    promote: async (userId) => {
      await c.query(
        `UPDATE platform_members SET role = 'admin' WHERE user_id = $1 AND role <> 'admin'`,
        [userId],
      );
    },
    authorize: async (userId) => {
      await c.query(
        'UPDATE platform_members SET authorized = true WHERE user_id = $1 AND NOT authorized',
        [userId],
      );
    },
    userById: async (userId) => (await selectUser(c, 'u.id = $1', userId))!,
  };
}
