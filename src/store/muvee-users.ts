/**
 * `check-config --muvee`'s lookup of the user its probe session is for: by id or email in the
 * configured database, or, in muvee's own PostgreSQL only, a user to pick (the first
 * ADMIN_EMAILS address it has, else its first user). The local file is opened read-only and
 * only when it exists; nothing is created or migrated.
 */
import { isPostgresUrl } from '../config/db-target.js';
import type { StoredUser } from '../muvee/model.js';

export interface MuveeUsers {
  /** `postgres`: muvee's own database (its users are the deployed muvee's, if it is that one). */
  kind: 'sqlite' | 'postgres';
  findById(id: string): Promise<StoredUser | undefined>;
  findByEmail(email: string): Promise<StoredUser | undefined>;
  /** The first of `preferred` that exists (exact email), else the first user; PostgreSQL only. */
  pick(preferred: readonly string[]): Promise<StoredUser | undefined>;
  close(): Promise<void>;
}

/**
 * The users of `db`, or undefined: no file at a SQLite path, or `onlyPostgres` and `db` is a
 * SQLite path (its ids are this tool's own unless exported to muvee, so none is picked there).
 */
export async function openMuveeUsers(
  db: string,
  options: { timeoutMs: number; onlyPostgres: boolean },
): Promise<MuveeUsers | undefined> {
  if (isPostgresUrl(db)) {
    const { openPgStore } = await import('./postgres/store.js');
    const store = await openPgStore(db, {
      connectionTimeoutMillis: Math.max(1000, options.timeoutMs),
    });
    return {
      kind: 'postgres',
      findById: (id) => store.findById(id),
      findByEmail: (email) => store.findByEmail(email),
      pick: async (preferred) => {
        for (const email of preferred) {
          const user = await store.findByEmail(email);
          if (user && user.email === email) return user;
        }
        return (await store.list({ limit: 1 }))[0];
      },
      close: () => store.close(),
    };
  }
  if (options.onlyPostgres) return undefined;
  const { openExistingUserStore } = await import('./index.js');
  const store = await openExistingUserStore(db, { readOnly: true });
  if (!store) return undefined;
  return {
    kind: 'sqlite',
    findById: (id) => store.findById(id),
    findByEmail: (email) => store.findByEmail(email),
    pick: async () => undefined,
    close: () => store.close(),
  };
}
