/**
 * Opening the local file to read, and verify-token's lookup of one user in it: apart from
 * store.ts (the login, the admin writes, the users list) so that verify-token with a database
 * loads only these few modules (bench/RESULTS.md: verify-token with a database).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { StoredUser } from '../../muvee/model.js';
import { BINDING, Database } from './binding.js';
import { sqliteRead, unusable } from './failures.js';
import { refuseForeignJournal } from './path-check.js';
import { toUser, USER_SELECT, type UserRow } from './rows.js';

export { openedFileWarnings, refuseForeignJournal } from './path-check.js';
import { migrate, newerSchema, READ_AS_IS_FROM, SCHEMA_VERSION } from './schema.js';

/**
 * For commands that only read (users, verify-token, mint-token): the file opened read-only,
 * never migrated, its journal mode left as it is; null when there is no file. A file of an
 * older schema is read through a migrated in-memory copy, so the file stays as it was.
 */
export function openReadOnlyDatabase(path: string): Database | null {
  if (!existsSync(path)) return null;
  refuseForeignJournal(path);
  let db: Database | undefined;
  let version: number;
  try {
    try {
      db = new Database(path, {
        readonly: true,
        fileMustExist: true,
        timeout: 15_000,
        ...BINDING,
      });
      version = db.pragma('user_version', { simple: true }) as number;
    } catch (error) {
      // A WAL file in a folder this user cannot write: SQLite cannot create the shared-memory
      // file it reads through. With no pending WAL, the file alone is the whole database.
      const code = (error as { code?: string }).code ?? '';
      if (!/^SQLITE_(READONLY_DIRECTORY|CANTOPEN)/.test(code) || hasPendingWal(path)) throw error;
      db?.close();
      db = inMemory(readFileSync(path));
      version = db.pragma('user_version', { simple: true }) as number;
    }
    if (version > SCHEMA_VERSION) throw newerSchema(version);
    if (version < READ_AS_IS_FROM) {
      const copy = inMemory(db.serialize());
      db.close();
      db = copy;
      migrate(db);
    }
    db.pragma('query_only = ON');
    return db;
  } catch (error) {
    db?.close();
    throw unusable(path, error);
  }
}

/** One user by id, as muvee's `FindUserByID` reads it (failures as `sqliteRead` words them). */
export function userFinder(db: Database, path: string): (id: string) => StoredUser | undefined {
  const statement = sqliteRead(path, () =>
    db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.id = ?`),
  );
  return (id) => {
    const row = sqliteRead(path, () => statement.get(id));
    return row && toUser(row);
  };
}

/** An in-memory database from a file's bytes, its WAL flag cleared (it has no WAL beside it). */
export function inMemory(bytes: Buffer): Database {
  if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
  return new Database(bytes, BINDING);
}

function hasPendingWal(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}
