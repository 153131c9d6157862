/**
 * The local user store: a SQLite file mirroring muvee's tables (`users`, `platform_members`,
 * `invitations`, `system_settings`; shared/muvee-server.md §3) so rows mean the same thing,
 * plus what this tool keeps for itself in `muvee_dingtalk_*` tables (the DingTalk unionId
 * behind a user, the last login), which muvee does not have. A login applies muvee's
 * decision (muvee-rules.ts) in one IMMEDIATE transaction.
 *
 * Versioned with `PRAGMA user_version` and migrated forward on open; WAL; a busy timeout so
 * concurrent runs wait instead of failing; the file created with mode 0600.
 */
import { closeSync, existsSync, lstatSync, openSync, constants as fs } from 'node:fs';
import { danglingLink, sqliteFailure, sqliteRead, unusable } from './failures.js';
import { invitationKey } from '../../muvee/membership.js';
import { BINDING, Database } from './binding.js';
import { openReadOnlyDatabase, refuseForeignJournal, userFinder } from './reader.js';

export { openedFileWarnings } from './path-check.js';
import {
  accessModeOf,
  type AccessMode,
  type LoginInput,
  type LoginResult,
  type StoredUser,
} from '../../muvee/model.js';
import { loginSteps, runSync } from '../record-login.js';
import { sqliteLoginPort } from './login-port.js';
import { randomUUID, toUser, USER_SELECT, type UserRow } from './rows.js';
import { migrate } from './schema.js';
import { UsersList, type CellText, type ListLayout, type ListPage } from './users-list.js';

export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
export type { CellText, ListLayout, ListPage } from './users-list.js';

export class Store {
  private constructor(
    private readonly db: Database,
    readonly path: string,
  ) {}

  /**
   * Opens (creating with mode 0600 when missing) and migrates the store. A file that is not a
   * database, or cannot be written, is a `db-unusable` error naming the path.
   */
  static open(path: string, options: { create?: boolean } = {}): Store {
    refuseForeignJournal(path);
    const create = options.create ?? true;
    let created = false;
    if (path !== ':memory:' && create && !existsSync(path)) {
      try {
        // O_EXCL: a link that points nowhere is not followed (issue 20 L1: nothing is created
        // wherever it points); a file created meanwhile is used as it is.
        closeSync(openSync(path, fs.O_CREAT | fs.O_EXCL | fs.O_RDWR, 0o600));
        created = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(path, error);
        if (lstatSync(path).isSymbolicLink() && !existsSync(path)) throw danglingLink(path);
      }
    }
    let db: Database | undefined;
    try {
      db = new Database(path, {
        timeout: 15_000,
        fileMustExist: !create,
        ...BINDING,
      });
      // A file this run created holds nothing yet: switching it to WAL and writing its schema
      // need no fsync of their own (3 of a login's 8; each one a wait on a busy disk). The
      // first checkpoint, at the latest when the store closes, syncs the file as a whole.
      db.pragma(`synchronous = ${created ? 'OFF' : 'NORMAL'}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      // From here on as every open: WAL's commits unsynced, its checkpoints synced.
      if (created) db.pragma('synchronous = NORMAL');
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

  /**
   * For commands that only read (users, verify-token, mint-token): the file opened read-only,
   * never migrated, its journal mode left as it is; null when there is no file. A file of an
   * older schema is read through a migrated in-memory copy, so the file stays as it was.
   */
  static openReadOnly(path: string): Store | null {
    const db = openReadOnlyDatabase(path);
    return db && new Store(db, path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A read, its failures as `sqliteRead` words them. */
  private read<T>(fn: () => T): T {
    return sqliteRead(this.path, fn);
  }

  /** As {@link read}, for the rows of a generator as they are read. */
  private *reading<T>(rows: Iterable<T>): Generator<T> {
    try {
      yield* rows;
    } catch (error) {
      throw sqliteFailure(this.path, error);
    }
  }

  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw unusable(this.path, error);
    }
  }

  /**
   * muvee's login (record-login.ts, over this file's port), all in one IMMEDIATE transaction;
   * plus this tool's DingTalk link. A refusal (invite mode) writes nothing and is a
   * `policy-denied` error.
   */
  recordLogin(input: LoginInput): LoginResult {
    const now = (input.now ?? new Date()).toISOString();
    return this.write((): LoginResult => {
      const result = runSync(loginSteps(input), sqliteLoginPort(this.db, this, now));
      const id = result.user.id;
      const link =
        input.unionId === undefined
          ? undefined
          : this.db
              .prepare<[string], { user_id: string; email: string | null }>(
                `SELECT l.user_id, u.email FROM muvee_dingtalk_links l LEFT JOIN users u ON u.id = l.user_id
                 WHERE l.union_id = ?`,
              )
              .get(input.unionId);
      const otherUnionIds = this.unionIdsOf(id).filter((u) => u !== input.unionId);
      if (input.unionId !== undefined) {
        this.db
          .prepare(
            `INSERT INTO muvee_dingtalk_links (union_id, user_id, last_login_at) VALUES (?, ?, ?)
             ON CONFLICT (union_id) DO UPDATE SET user_id = excluded.user_id, last_login_at = excluded.last_login_at`,
          )
          .run(input.unionId, id, now);
      }
      return {
        ...result,
        user: this.findById(id)!,
        previousEmailForUnionId:
          link && link.user_id !== id
            ? (link.email ?? `(deleted user ${link.user_id})`)
            : undefined,
        otherUnionIds,
      };
    });
  }

  /**
   * The user with exactly this email; else the only one whose email matches ignoring case
   * (several such: none, so a lookup never picks one of them silently).
   */
  findByEmail(email: string): StoredUser | undefined {
    return this.read(() => {
      const exact = this.db
        .prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ?`)
        .get(email);
      if (exact) return toUser(exact);
      const near = this.db
        .prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ? COLLATE NOCASE LIMIT 2`)
        .all(email);
      return near.length === 1 ? toUser(near[0]!) : undefined;
    });
  }

  findById(id: string): StoredUser | undefined {
    return this.read(() => {
      const row = this.db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.id = ?`).get(id);
      return row && toUser(row);
    });
  }

  /** The unionIds linked to a user. */
  unionIdsOf(userId: string): string[] {
    return this.read(() =>
      this.db
        .prepare<[string], { union_id: string }>(
          'SELECT union_id FROM muvee_dingtalk_links WHERE user_id = ? ORDER BY 1',
        )
        .all(userId)
        .map((r) => r.union_id),
    );
  }

  list(): StoredUser[] {
    return this.read(() =>
      this.db
        .prepare<[], UserRow>(`${USER_SELECT} ORDER BY u.created_at, u.email`)
        .all()
        .map(toUser),
    );
  }

  /**
   * Runs `fn` in one read transaction: every query inside sees the file as it was when the
   * first one ran, whatever other processes write meanwhile (`users list`'s widths and rows
   * agree, and its batches neither skip nor repeat a user).
   */
  snapshot<T>(fn: () => T): T {
    return this.read(() => this.db.transaction(fn).deferred());
  }

  /** `users list --json`'s users in UTF-8 chunks (users-list.ts). */
  listJson(page: ListPage = {}): Generator<Buffer> {
    return this.reading(new UsersList(this.db).listJson(page));
  }

  /** The widths of `users list`'s columns (users-list.ts). */
  listLayout(page: ListPage, text: CellText): ListLayout {
    return this.read(() => new UsersList(this.db).listLayout(page, text));
  }

  /** `users list`'s table in UTF-8 chunks (users-list.ts). */
  listTable(page: ListPage, layout: ListLayout, text: CellText): Generator<Buffer> {
    return this.reading(new UsersList(this.db).listTable(page, layout, text));
  }

  /** `findById` with its statement prepared once, for many lookups (verify-token --each). */
  userFinder(): (id: string) => StoredUser | undefined {
    return userFinder(this.db, this.path);
  }

  // --- muvee's settings, invitations and members (the admin subcommands) ---------------------

  accessMode(): AccessMode {
    const row = this.read(() =>
      this.db
        .prepare<[], { value: string }>(
          `SELECT value FROM system_settings WHERE key = 'access_mode'`,
        )
        .get(),
    );
    return accessModeOf(row?.value);
  }

  setAccessMode(mode: AccessMode, now = new Date()): void {
    this.write(() =>
      this.db
        .prepare(
          `INSERT INTO system_settings (key, value, updated_at) VALUES ('access_mode', ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(mode, now.toISOString()),
    );
  }

  isInvited(email: string): boolean {
    return this.read(
      () =>
        this.db.prepare('SELECT 1 FROM invitations WHERE email = ?').get(invitationKey(email)) !==
        undefined,
    );
  }

  invitations(): { email: string; createdAt: string }[] {
    return this.read(() =>
      this.db
        .prepare<[], { email: string; created_at: string }>(
          'SELECT email, created_at FROM invitations ORDER BY email',
        )
        .all()
        .map((r) => ({ email: r.email, createdAt: r.created_at })),
    );
  }

  /** Returns false when the email was invited already. */
  invite(email: string, now = new Date()): boolean {
    return this.write(
      () =>
        this.db
          .prepare(
            `INSERT INTO invitations (id, email, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING`,
          )
          .run(randomUUID(), invitationKey(email), now.toISOString()).changes > 0,
    );
  }

  /** Returns false when there was no such invitation. */
  uninvite(email: string): boolean {
    return this.write(
      () =>
        this.db.prepare('DELETE FROM invitations WHERE email = ?').run(invitationKey(email))
          .changes > 0,
    );
  }

  /** muvee's approval of a pending member (request mode). Returns false when already authorized. */
  approve(userId: string, now = new Date()): boolean {
    return this.write(() => {
      const changed = this.db
        .prepare(
          `INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, 'member', 1, ?)
           ON CONFLICT (user_id) DO UPDATE SET authorized = 1 WHERE platform_members.authorized = 0`,
        )
        .run(userId, now.toISOString()).changes;
      this.db.prepare('UPDATE users SET authorized = 1 WHERE id = ?').run(userId);
      return changed > 0;
    });
  }

  /**
   * What muvee's profile edit does: set the name or avatar and mark it overridden (a login then
   * keeps it), or clear the mark (the next login refreshes it from DingTalk).
   */
  setOverride(userId: string, field: 'name' | 'avatar', value: string | undefined): void {
    const column = field === 'name' ? 'name' : 'avatar_url';
    const flag = field === 'name' ? 'name_overridden' : 'avatar_overridden';
    this.write(() => {
      if (value === undefined)
        this.db.prepare(`UPDATE users SET ${flag} = 0 WHERE id = ?`).run(userId);
      else
        this.db
          .prepare(`UPDATE users SET ${column} = ?, ${flag} = 1 WHERE id = ?`)
          .run(value, userId);
    });
  }

  /** Rows of muvee's tables, for `users export --sql`. */
  exportRows(): {
    users: Record<string, unknown>[];
    platformMembers: Record<string, unknown>[];
    invitations: Record<string, unknown>[];
    systemSettings: Record<string, unknown>[];
  } {
    const all = (sql: string) =>
      this.read(() => this.db.prepare<[], Record<string, unknown>>(sql).all());
    return {
      users: all(
        'SELECT id, email, name, avatar_url, role, created_at, authorized, name_overridden, avatar_overridden FROM users ORDER BY created_at, email',
      ),
      platformMembers: all(
        'SELECT user_id, role, authorized, created_at FROM platform_members ORDER BY created_at, user_id',
      ),
      invitations: all('SELECT id, email, created_at FROM invitations ORDER BY email'),
      systemSettings: all('SELECT key, value, updated_at FROM system_settings ORDER BY key'),
    };
  }
}

/**
 * A database in memory from a file's bytes, as a rollback-journal database: SQLite cannot keep
 * the WAL of a database in memory (a WAL file's copy fails to read or to migrate with
 * SQLITE_CANTOPEN), so the header's read and write versions (bytes 18, 19) say "legacy".
 */
