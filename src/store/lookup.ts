/**
 * verify-token's lookup of a token's user by id, in the configured database: the local file
 * (read-only, never migrated), or muvee's PostgreSQL (then muvee's own user and platform role).
 * Apart from index.ts so verify-token's path loads nothing of the store when there is no file
 * (it is inlined in that path's bundle: scripts/build.mjs).
 */
import { existsSync } from 'node:fs';
import { isPostgresUrl } from '../config/db-target.js';
import { pgUuid } from '../muvee/shapes.js';
import type { UserLookup } from './contract.js';

export type { UserLookup } from './contract.js';

/**
 * A lookup of users by id in the configured database (the local file, or muvee's PostgreSQL:
 * then muvee's own user and platform role), or undefined when there is no database file.
 */
export async function userLookup(db: string): Promise<UserLookup | undefined> {
  if (isPostgresUrl(db)) {
    const { openUserStore } = await import('./index.js');
    const store = await openUserStore(db);
    return {
      find: async (id) => {
        const uuid = pgUuid(id);
        return uuid === undefined ? undefined : store.findById(uuid);
      },
      close: () => store.close(),
      workers: false,
    };
  }
  if (!existsSync(db)) return undefined;
  const { Store } = await import('./sqlite/store.js');
  const store = Store.openReadOnly(db);
  if (!store) return undefined;
  try {
    return { find: store.userFinder(), close: () => store.close(), workers: true };
  } catch (error) {
    store.close();
    throw error;
  }
}
