/**
 * verify-token's lookup of a token's user by id, in the configured database: the local file
 * (read-only, never migrated), or muvee's PostgreSQL (then muvee's own user and platform role).
 * Apart from index.ts so verify-token's path loads nothing of the store when there is no file
 * (it is inlined in that path's bundle: scripts/build.mjs).
 */
import { existsSync } from 'node:fs';
import { isCliError } from '../cli/errors.js';
import { isPostgresUrl } from '../config/db-target.js';
import { pgUuid } from '../muvee/shapes.js';
import type { UserLookup } from './contract.js';

export type { UserLookup } from './contract.js';

/**
 * A lookup of users by id in the configured database (the local file, or muvee's PostgreSQL:
 * then muvee's own user and platform role), or undefined when there is no database file.
 * `warn` is told what the file deserves a look for (issue 20 L12) before it is read.
 *
 * The database is optional to a verdict (issue 20 M6): one that cannot be opened gives a lookup
 * whose every `find` throws why (its `problem`), so each token still gets its verdict, with
 * the lookup said to be undone. Only `CliError`s are taken so; anything else is a bug, thrown.
 */
export async function userLookup(
  db: string,
  warn?: (message: string) => void,
  /** One `find` only (verify-token of one token): the local file read without SQLite when it can be. */
  single?: 'single',
): Promise<UserLookup | undefined> {
  try {
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
    return single ? await oneUserLookup(db, warn) : await sqliteLookup(db, warn);
  } catch (error) {
    if (!isCliError(error)) throw error;
    return {
      find: () => {
        throw error;
      },
      close: () => {},
      workers: false,
      problem: error.message,
    };
  }
}

/** The local file through SQLite: its reader only (not the whole store), one file of dist/. */
async function sqliteLookup(
  db: string,
  warn?: (message: string) => void,
): Promise<UserLookup | undefined> {
  const { openReadOnlyDatabase, openedFileWarnings, userFinder } =
    await import('./sqlite/reader.js');
  if (warn) for (const warning of openedFileWarnings(db)) warn(warning);
  const reader = openReadOnlyDatabase(db);
  if (!reader) return undefined;
  try {
    return { find: userFinder(reader, db), close: () => void reader.close(), workers: true };
  } catch (error) {
    reader.close();
    throw error;
  }
}

/**
 * One `find` (verify-token of one token): the file's bytes read directly (~3 ms less than
 * loading SQLite: sqlite/file-reader.ts), through SQLite only when they are not the plain case.
 * A planted journal is refused first, as SQLite's open refuses it.
 */
async function oneUserLookup(db: string, warn?: (message: string) => void): Promise<UserLookup> {
  const { openedFileWarnings, readUser, refuseForeignJournal } =
    await import('./sqlite/file-reader.js');
  if (warn) for (const warning of openedFileWarnings(db)) warn(warning);
  refuseForeignJournal(db);
  return {
    find: async (id) => {
      const direct = readUser(db, id);
      if (direct) return direct.user;
      const lookup = await sqliteLookup(db);
      if (!lookup) return undefined;
      try {
        return await lookup.find(id);
      } finally {
        await lookup.close();
      }
    },
    close: () => {},
    workers: false,
  };
}
