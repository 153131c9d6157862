/**
 * The local user store: a SQLite file mirroring muvee's `users` table, so rows mean the same
 * thing. Versioned with `PRAGMA user_version` and migrated forward on open; WAL; a busy
 * timeout so concurrent runs wait instead of failing; one IMMEDIATE transaction per login;
 * the file created with mode 0600.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, constants as fs } from 'node:fs';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { CliError, isCliError } from './errors.js';
import type { Role } from './session.js';

/** Each entry moves the schema from version `index` to `index + 1`. Never edit a shipped one. */
export const MIGRATIONS: readonly string[] = [
  // 1: muvee's users table.
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL DEFAULT '',
     avatar_url TEXT NOT NULL DEFAULT '',
     role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin','member')),
     name_overridden INTEGER NOT NULL DEFAULT 0,
     avatar_overridden INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
  // 2: last login, and the DingTalk identity (unionId) behind each user.
  `ALTER TABLE users ADD COLUMN last_login_at TEXT;
   CREATE TABLE oauth_accounts (
     provider TEXT NOT NULL,
     provider_user_id TEXT NOT NULL,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     PRIMARY KEY (provider, provider_user_id)
   );
   CREATE INDEX oauth_accounts_user_id ON oauth_accounts(user_id);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The addon's path, handed to better-sqlite3 so it skips the `bindings` package's search of
 * a dozen candidate paths at every start; undefined lets better-sqlite3 search as usual.
 */
const NATIVE_BINDING = (() => {
  try {
    return createRequire(import.meta.url).resolve(
      'better-sqlite3/build/Release/better_sqlite3.node',
    );
  } catch {
    return undefined;
  }
})();

export interface StoredUser {
  id: string;
  email: string;
  name: string;
  avatarUrl: string;
  role: Role;
  nameOverridden: boolean;
  avatarOverridden: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  avatar_url: string;
  role: Role;
  name_overridden: number;
  avatar_overridden: number;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

export interface LoginInput {
  email: string;
  name: string;
  avatarUrl: string;
  /** The email is in ADMIN_EMAILS: a new user starts as admin, an existing one is promoted. */
  admin: boolean;
  unionId: string;
  now?: Date;
}

export interface LoginResult {
  user: StoredUser;
  created: boolean;
  /** An existing member became admin through ADMIN_EMAILS. */
  promoted: boolean;
  /** The unionId was linked to another user (another email) before this login. */
  previousEmailForUnionId: string | undefined;
}

const toUser = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email,
  name: row.name,
  avatarUrl: row.avatar_url,
  role: row.role,
  nameOverridden: row.name_overridden !== 0,
  avatarOverridden: row.avatar_overridden !== 0,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastLoginAt: row.last_login_at,
});

export class Store {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /**
   * Opens (creating with mode 0600 when missing) and migrates the store. A file that is not a
   * database, or cannot be written, is a `db-unusable` error naming the path.
   */
  static open(path: string, options: { create?: boolean } = {}): Store {
    const create = options.create ?? true;
    if (path !== ':memory:' && create && !existsSync(path)) {
      try {
        closeSync(openSync(path, fs.O_CREAT | fs.O_RDWR, 0o600));
      } catch (error) {
        throw unusable(path, error);
      }
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path, {
        timeout: 15_000,
        fileMustExist: !create,
        ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}),
      });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      return new Store(db, path);
    } catch (error) {
      db?.close();
      throw unusable(path, error);
    }
  }

  /** Returns null when there is no file at `path` (nothing to look in, and nothing created). */
  static openExisting(path: string): Store | null {
    return existsSync(path) ? Store.open(path, { create: false }) : null;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** muvee's upsert-by-email, plus the `oauth_accounts` link, in one IMMEDIATE transaction. */
  recordLogin(input: LoginInput): LoginResult {
    const now = (input.now ?? new Date()).toISOString();
    const run = this.db.transaction((): LoginResult => {
      const existing = this.db
        .prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?')
        .get(input.email);
      let row: UserRow;
      if (!existing) {
        row = this.db
          .prepare<unknown[], UserRow>(
            `INSERT INTO users (id, email, name, avatar_url, role, created_at, updated_at, last_login_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          )
          .get(
            randomUUID(),
            input.email,
            input.name,
            input.avatarUrl,
            input.admin ? 'admin' : 'member',
            now,
            now,
            now,
          )!;
      } else {
        row = this.db
          .prepare<unknown[], UserRow>(
            `UPDATE users SET
               name = CASE WHEN name_overridden THEN name ELSE ? END,
               avatar_url = CASE WHEN avatar_overridden THEN avatar_url ELSE ? END,
               role = CASE WHEN ? THEN 'admin' ELSE role END,
               updated_at = ?, last_login_at = ?
             WHERE id = ? RETURNING *`,
          )
          .get(input.name, input.avatarUrl, input.admin ? 1 : 0, now, now, existing.id)!;
      }
      const link = this.db
        .prepare<[string], { user_id: string; email: string | null }>(
          `SELECT o.user_id, u.email FROM oauth_accounts o LEFT JOIN users u ON u.id = o.user_id
           WHERE o.provider = 'dingtalk' AND o.provider_user_id = ?`,
        )
        .get(input.unionId);
      this.db
        .prepare(
          `INSERT INTO oauth_accounts (provider, provider_user_id, user_id) VALUES ('dingtalk', ?, ?)
           ON CONFLICT (provider, provider_user_id) DO UPDATE SET user_id = excluded.user_id`,
        )
        .run(input.unionId, row.id);
      return {
        user: toUser(row),
        created: !existing,
        promoted: existing !== undefined && existing.role !== 'admin' && row.role === 'admin',
        previousEmailForUnionId:
          link && link.user_id !== row.id
            ? (link.email ?? `(deleted user ${link.user_id})`)
            : undefined,
      };
    });
    try {
      return run.immediate();
    } catch (error) {
      throw unusable(this.path, error);
    }
  }

  findByEmail(email: string): StoredUser | undefined {
    const row = this.db
      .prepare<[string], UserRow>('SELECT * FROM users WHERE email = ? COLLATE NOCASE')
      .get(email);
    return row && toUser(row);
  }

  findById(id: string): StoredUser | undefined {
    const row = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?').get(id);
    return row && toUser(row);
  }

  /** The unionIds linked to a user. */
  unionIdsOf(userId: string): string[] {
    return this.db
      .prepare<[string], { provider_user_id: string }>(
        "SELECT provider_user_id FROM oauth_accounts WHERE provider = 'dingtalk' AND user_id = ? ORDER BY 1",
      )
      .all(userId)
      .map((r) => r.provider_user_id);
  }

  list(): StoredUser[] {
    return this.db
      .prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, email')
      .all()
      .map(toUser);
  }
}

function migrate(db: Database.Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new file at once must not both migrate.
  db.transaction(() => {
    const from = version();
    if (from > SCHEMA_VERSION) {
      throw new CliError(
        'db-unusable',
        `schema version ${from} is newer than this muvee-dingtalk understands (${SCHEMA_VERSION}); upgrade muvee-dingtalk`,
      );
    }
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function unusable(path: string, error: unknown): CliError {
  if (isCliError(error)) {
    return new CliError(error.code, `database '${path}': ${error.message}`, { cause: error });
  }
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  // SQLite's result codes, extended ones included (SQLITE_READONLY_DBMOVED, ...); better-sqlite3
  // also throws a plain TypeError "attempt to write a readonly database" before running.
  const is = (prefix: string) => code.startsWith(prefix);
  const fix =
    is('SQLITE_NOTADB') || is('SQLITE_CORRUPT')
      ? 'it is not a usable SQLite database: move it aside or pass another --db'
      : is('SQLITE_READONLY') ||
          is('SQLITE_CANTOPEN') ||
          is('SQLITE_PERM') ||
          code === 'EACCES' ||
          code === 'EROFS' ||
          /readonly database/.test(message)
        ? 'it cannot be opened for writing: fix its permissions (and its folder) or pass another --db'
        : code === 'ENOENT'
          ? 'its folder does not exist: create it or pass another --db'
          : is('SQLITE_BUSY') || is('SQLITE_LOCKED')
            ? 'another process held it locked for too long: try again'
            : is('SQLITE_FULL') || code === 'ENOSPC'
              ? 'the disk is full: free some space or pass another --db'
              : undefined;
  return new CliError(
    fix ? 'db-unusable' : 'db-error',
    `database '${path}' ${fix ? `failed (${code || message}); ${fix}` : `failed: ${message}`}`,
    { cause: error },
  );
}
