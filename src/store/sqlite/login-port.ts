/**
 * muvee's login steps on the local file (record-login.ts's port): synchronous, inside the
 * store's IMMEDIATE transaction (store.ts `recordLogin`).
 */
import type { Role, StoredUser } from '../../muvee/model.js';
import type { LoginPort } from '../record-login.js';
import type { Database } from './binding.js';
import { randomUUID, toUser, USER_SELECT, type UserRow } from './rows.js';

/** The store's own reads the steps use. */
export interface StoreReads {
  accessMode(): ReturnType<LoginPort['accessMode']>;
  isInvited(email: string): boolean;
  findById(id: string): StoredUser | undefined;
}

export function sqliteLoginPort(db: Database, store: StoreReads, now: string): LoginPort {
  return {
    accessMode: () => store.accessMode(),
    isInvited: (email) => store.isInvited(email),
    userByEmail: (email) => {
      const row = db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ?`).get(email);
      return row && toUser(row);
    },
    upsertUser: (input, authorized) => {
      const newId = randomUUID();
      const { id } = db
        .prepare<unknown[], { id: string }>(
          `INSERT INTO users (id, email, name, avatar_url, role, authorized, created_at)
           VALUES (?, ?, ?, ?, 'member', ?, ?)
           ON CONFLICT (email) DO UPDATE SET
             name = CASE WHEN users.name_overridden THEN users.name ELSE excluded.name END,
             avatar_url = CASE WHEN users.avatar_overridden THEN users.avatar_url ELSE excluded.avatar_url END
           RETURNING id`,
        )
        .get(newId, input.email, input.name, input.avatarUrl, authorized ? 1 : 0, now)!;
      return { id, created: id === newId };
    },
    member: (userId) => {
      const row = db
        .prepare<[string], { role: Role; authorized: number }>(
          'SELECT role, authorized FROM platform_members WHERE user_id = ?',
        )
        .get(userId);
      return row && { role: row.role, authorized: row.authorized !== 0 };
    },
    insertMember: (userId, member) =>
      db
        .prepare(
          `INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (user_id) DO NOTHING`,
        )
        .run(userId, member.role, member.authorized ? 1 : 0, now).changes > 0,
    promote: (userId) => {
      db.prepare(`UPDATE platform_members SET role = 'admin' WHERE user_id = ?`).run(userId);
    },
    authorize: (userId) => {
      db.prepare(`UPDATE platform_members SET authorized = 1 WHERE user_id = ?`).run(userId);
    },
    userById: (userId) => store.findById(userId)!,
  };
}
