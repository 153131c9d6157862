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
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, constants as fs } from 'node:fs';
import { CliError, isCliError } from '../../cli/errors.js';
import {
  accessModeOf,
  decideLogin,
  invitationKey,
  type AccessMode,
  type LoginDecision,
} from '../../muvee/membership.js';
import type { Role } from '../../muvee/session.js';
import { BINDING, Database } from './binding.js';

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
  // 3: muvee's tables as they are now: the role moves to platform_members, users gains the
  // legacy authorized flag and loses the columns muvee does not have; DingTalk links (which
  // muvee never keeps in oauth_accounts) move to a table of this tool's own.
  `CREATE TABLE platform_members (
     user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
     role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin','member')),
     authorized INTEGER NOT NULL DEFAULT 1,
     created_at TEXT NOT NULL
   );
   INSERT INTO platform_members (user_id, role, authorized, created_at)
     SELECT id, role, 1, created_at FROM users;
   ALTER TABLE users ADD COLUMN authorized INTEGER NOT NULL DEFAULT 1;
   CREATE TABLE invitations (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE,
     invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE system_settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL DEFAULT '',
     updated_at TEXT NOT NULL
   );
   CREATE TABLE muvee_dingtalk_links (
     union_id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     last_login_at TEXT NOT NULL
   );
   CREATE INDEX muvee_dingtalk_links_user_id ON muvee_dingtalk_links(user_id, last_login_at);
   INSERT INTO muvee_dingtalk_links (union_id, user_id, last_login_at)
     SELECT o.provider_user_id, o.user_id, coalesce(u.last_login_at, u.updated_at)
     FROM oauth_accounts o JOIN users u ON u.id = o.user_id WHERE o.provider = 'dingtalk';
   DELETE FROM oauth_accounts WHERE provider = 'dingtalk';
   ALTER TABLE oauth_accounts ADD COLUMN created_at TEXT;
   ALTER TABLE users DROP COLUMN updated_at;
   ALTER TABLE users DROP COLUMN last_login_at;
   CREATE INDEX users_created_at_email ON users(created_at, email);`,
  // 4: what `users list` shows beside the users row (the platform membership, the last login),
  // kept by triggers under the list's own key (created_at, email): the list reads it in step
  // with users_created_at_email instead of looking each user up by id in two other tables
  // (two random B-tree searches a user: most of the time of a list of 100,000). muvee's tables
  // keep their shape; the triggers write only this table of this tool's.
  `CREATE TABLE muvee_dingtalk_users_list (
     created_at TEXT NOT NULL,
     email TEXT NOT NULL,
     user_id TEXT NOT NULL,
     member_role TEXT,
     member_authorized INTEGER,
     last_login_at TEXT,
     PRIMARY KEY (created_at, email)
   ) WITHOUT ROWID;
   CREATE INDEX muvee_dingtalk_users_list_user_id ON muvee_dingtalk_users_list(user_id);
   INSERT INTO muvee_dingtalk_users_list
     SELECT u.created_at, u.email, u.id, m.role, m.authorized,
       (SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = u.id)
     FROM users u LEFT JOIN platform_members m ON m.user_id = u.id;
   CREATE TRIGGER muvee_dingtalk_users_list_insert AFTER INSERT ON users BEGIN
     INSERT INTO muvee_dingtalk_users_list
       SELECT NEW.created_at, NEW.email, NEW.id, m.role, m.authorized,
         (SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = NEW.id)
       FROM (SELECT 1) LEFT JOIN platform_members m ON m.user_id = NEW.id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_update AFTER UPDATE OF id, email, created_at ON users
   BEGIN
     DELETE FROM muvee_dingtalk_users_list WHERE user_id = OLD.id;
     INSERT INTO muvee_dingtalk_users_list
       SELECT NEW.created_at, NEW.email, NEW.id, m.role, m.authorized,
         (SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = NEW.id)
       FROM (SELECT 1) LEFT JOIN platform_members m ON m.user_id = NEW.id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_delete AFTER DELETE ON users BEGIN
     DELETE FROM muvee_dingtalk_users_list WHERE user_id = OLD.id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_member_insert AFTER INSERT ON platform_members BEGIN
     UPDATE muvee_dingtalk_users_list SET member_role = NEW.role, member_authorized = NEW.authorized
       WHERE user_id = NEW.user_id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_member_update AFTER UPDATE ON platform_members BEGIN
     UPDATE muvee_dingtalk_users_list SET member_role = NULL, member_authorized = NULL
       WHERE user_id = OLD.user_id;
     UPDATE muvee_dingtalk_users_list SET member_role = NEW.role, member_authorized = NEW.authorized
       WHERE user_id = NEW.user_id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_member_delete AFTER DELETE ON platform_members BEGIN
     UPDATE muvee_dingtalk_users_list SET member_role = NULL, member_authorized = NULL
       WHERE user_id = OLD.user_id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_login_insert AFTER INSERT ON muvee_dingtalk_links BEGIN
     UPDATE muvee_dingtalk_users_list SET last_login_at = (SELECT max(l.last_login_at)
         FROM muvee_dingtalk_links l WHERE l.user_id = NEW.user_id)
       WHERE user_id = NEW.user_id;
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_login_update AFTER UPDATE ON muvee_dingtalk_links BEGIN
     UPDATE muvee_dingtalk_users_list SET last_login_at = (SELECT max(l.last_login_at)
         FROM muvee_dingtalk_links l WHERE l.user_id = muvee_dingtalk_users_list.user_id)
       WHERE user_id IN (OLD.user_id, NEW.user_id);
   END;
   CREATE TRIGGER muvee_dingtalk_users_list_login_delete AFTER DELETE ON muvee_dingtalk_links BEGIN
     UPDATE muvee_dingtalk_users_list SET last_login_at = (SELECT max(l.last_login_at)
         FROM muvee_dingtalk_links l WHERE l.user_id = OLD.user_id)
       WHERE user_id = OLD.user_id;
   END;`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A user as muvee sees it: the users row, and its platform membership. */
export interface StoredUser {
  id: string;
  email: string;
  name: string;
  avatarUrl: string;
  /** The platform role (platform_members.role; `member` without a row, as muvee). */
  role: Role;
  /** Whether muvee lets the user in (platform_members.authorized; false without a row). */
  authorized: boolean;
  /** Whether a platform_members row exists. */
  member: boolean;
  /** users.role: legacy, muvee no longer reads it (new rows are always `member`). */
  legacyRole: Role;
  nameOverridden: boolean;
  avatarOverridden: boolean;
  createdAt: string;
  /** This tool's own record of the last DingTalk login (not a muvee column). */
  lastLoginAt: string | null;
}

interface UserRow {
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

const USER_SELECT = `SELECT u.*, m.role AS member_role, m.authorized AS member_authorized,
  (SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = u.id) AS last_login_at
  FROM users u LEFT JOIN platform_members m ON m.user_id = u.id`;

/** A page of `users list`: skip `offset` users, then at most `limit`. */
export interface ListPage {
  offset?: number;
  limit?: number | undefined;
}

/** Where `users list` finds a user's membership and last login, beside the users row `u`. */
interface ListSource {
  from: string;
  role: string;
  authorized: string;
  lastLogin: string;
}

/**
 * muvee_dingtalk_users_list, found under the key the list walks (users_created_at_email's):
 * SQLite reads both in step. A user without a row there reads as without membership or login.
 */
const LIST_TABLE: ListSource = {
  from: `FROM users u LEFT JOIN muvee_dingtalk_users_list d
    ON d.created_at = u.created_at AND d.email = u.email`,
  role: 'd.member_role',
  authorized: 'd.member_authorized',
  lastLogin: 'd.last_login_at',
};

/**
 * A file without that table (schema 3, read as it is; or one this tool did not write): each
 * user looked up in platform_members and muvee_dingtalk_links, two searches by id.
 */
const LOOKUPS: ListSource = {
  from: 'FROM users u LEFT JOIN platform_members m ON m.user_id = u.id',
  role: 'm.role',
  authorized: 'm.authorized',
  lastLogin: '(SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = u.id)',
};

/**
 * The oldest schema read as it is by the commands that only read: migration 4 added only
 * muvee_dingtalk_users_list, which `users list` can do without (LOOKUPS). An older file is
 * read through a migrated copy in memory, which costs a copy of the whole file.
 */
const READ_AS_IS_FROM = 3;

/** Users a batch of `users list` (about 150 KiB of JSON, 65 KiB of table). */
const LIST_BATCH = 500;

/** How `users list`'s table shows a stored value that is not plain printable ASCII. */
export interface CellText {
  /** The value made safe for a terminal (sanitize.ts `safe`). */
  safe(text: string): string;
  /** The terminal columns a safe value takes (output.ts `displayWidth`). */
  width(text: string): number;
}

/**
 * `users list`'s table before its rows: how many, and the widest value of each column padded
 * (ID, the last column, is not: its width is never needed).
 */
export interface ListLayout {
  rows: number;
  email: number;
  name: number;
  lastLoginAt: number;
  /** No value of one byte a character holds a control character (checked by listLayout). */
  oneByteIsPlain: boolean;
}

/**
 * SQL: whether a value is shown as it is, plain printable ASCII (as many columns as bytes);
 * any other goes through CellText. A value of one byte a character is taken as printable ASCII
 * once listLayout has seen no control character in such values (a byte ≥ 0x80 among them is
 * not UTF-8: validUtf8 shows each as one U+FFFD, one column, as SQLite's length counts it);
 * otherwise GLOB decides, slower (it reads the class again at each character).
 */
function plain(v: string, oneByteIsPlain: boolean): string {
  return oneByteIsPlain ? `octet_length(${v}) = length(${v})` : `NOT ${v} GLOB '*[^ -~]*'`;
}

/**
 * The bytes SQLite returned, as valid UTF-8: a file may hold text that is not (SQLite does not
 * check), which a JavaScript string would have shown as U+FFFD; so it is here.
 */
function validUtf8(bytes: Buffer): Buffer {
  return isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
}

export interface LoginInput {
  email: string;
  name: string;
  avatarUrl: string;
  /** The email is in ADMIN_EMAILS (exactly). */
  admin: boolean;
  /** DingTalk's unionId, when the profile had one (this tool's link; muvee keeps none). */
  unionId: string | undefined;
  now?: Date;
}

export interface LoginResult {
  user: StoredUser;
  created: boolean;
  /** The member was made admin by ADMIN_EMAILS in this login. */
  promoted: boolean;
  accessMode: AccessMode;
  decision: LoginDecision;
  /** The unionId was linked to another user (another email) before this login. */
  previousEmailForUnionId: string | undefined;
  /** This email's user was linked to other DingTalk accounts (unionIds) before. */
  otherUnionIds: string[];
}

const toUser = (row: UserRow): StoredUser => ({
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
    const create = options.create ?? true;
    if (path !== ':memory:' && create && !existsSync(path)) {
      try {
        closeSync(openSync(path, fs.O_CREAT | fs.O_RDWR, 0o600));
      } catch (error) {
        throw unusable(path, error);
      }
    }
    let db: Database | undefined;
    try {
      db = new Database(path, {
        timeout: 15_000,
        fileMustExist: !create,
        ...BINDING,
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

  /**
   * For commands that only read (users, verify-token, mint-token): the file opened read-only,
   * never migrated, its journal mode left as it is; null when there is no file. A file of an
   * older schema is read through a migrated in-memory copy, so the file stays as it was.
   */
  static openReadOnly(path: string): Store | null {
    if (!existsSync(path)) return null;
    let db: Database | undefined;
    try {
      try {
        db = new Database(path, {
          readonly: true,
          fileMustExist: true,
          timeout: 15_000,
          ...BINDING,
        });
        db.pragma('user_version', { simple: true });
      } catch (error) {
        // A WAL file in a folder this user cannot write: SQLite cannot create the shared-memory
        // file it reads through. With no pending WAL, the file alone is the whole database.
        const code = (error as { code?: string }).code ?? '';
        if (!/^SQLITE_(READONLY_DIRECTORY|CANTOPEN)/.test(code) || hasPendingWal(path)) throw error;
        db?.close();
        db = inMemory(readFileSync(path));
      }
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw newerSchema(version);
      if (version < READ_AS_IS_FROM) {
        const copy = inMemory(db.serialize());
        db.close();
        db = copy;
        migrate(db);
      }
      db.pragma('query_only = ON');
      return new Store(db, path);
    } catch (error) {
      db?.close();
      throw unusable(path, error);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw unusable(this.path, error);
    }
  }

  /**
   * muvee's login (EnsurePlatformMember): read the state, decide (muvee-rules.ts), write, all
   * in one IMMEDIATE transaction; plus this tool's DingTalk link. A refusal (invite mode)
   * writes nothing and is a `policy-denied` error.
   */
  recordLogin(input: LoginInput): LoginResult {
    const now = (input.now ?? new Date()).toISOString();
    return this.write((): LoginResult => {
      const before = this.db
        .prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ?`)
        .get(input.email);
      const accessMode = this.accessMode();
      const decision = decideLogin(
        {
          accessMode,
          userExists: before !== undefined,
          member:
            before && before.member_role !== null
              ? { role: before.member_role, authorized: before.member_authorized !== 0 }
              : undefined,
          invited: this.isInvited(input.email),
        },
        input.admin,
      );
      if (decision.refused) {
        throw new CliError(
          'policy-denied',
          `muvee would refuse ${input.email}: the access mode is 'invite' and this email is neither invited nor a member (muvee shows /login?error=not_invited); invite it with 'muvee-dingtalk admin invite ${input.email}'. Nothing was stored`,
          { details: { email: input.email, accessMode, refused: decision.refused } },
        );
      }
      const { id } = this.db
        .prepare<unknown[], { id: string }>(
          `INSERT INTO users (id, email, name, avatar_url, role, authorized, created_at)
           VALUES (?, ?, ?, ?, 'member', ?, ?)
           ON CONFLICT (email) DO UPDATE SET
             name = CASE WHEN users.name_overridden THEN users.name ELSE excluded.name END,
             avatar_url = CASE WHEN users.avatar_overridden THEN users.avatar_url ELSE excluded.avatar_url END
           RETURNING id`,
        )
        .get(
          randomUUID(),
          input.email,
          input.name,
          input.avatarUrl,
          decision.authorized ? 1 : 0,
          now,
        )!;
      if (decision.newMember) {
        this.db
          .prepare(
            `INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id) DO NOTHING`,
          )
          .run(id, decision.newMember.role, decision.newMember.authorized ? 1 : 0, now);
      }
      if (decision.promote)
        this.db.prepare(`UPDATE platform_members SET role = 'admin' WHERE user_id = ?`).run(id);
      if (decision.authorizeByInvite)
        this.db.prepare(`UPDATE platform_members SET authorized = 1 WHERE user_id = ?`).run(id);

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
        user: this.findById(id)!,
        created: before === undefined,
        promoted: decision.promote,
        accessMode,
        decision,
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
    const exact = this.db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ?`).get(email);
    if (exact) return toUser(exact);
    const near = this.db
      .prepare<[string], UserRow>(`${USER_SELECT} WHERE u.email = ? COLLATE NOCASE LIMIT 2`)
      .all(email);
    return near.length === 1 ? toUser(near[0]!) : undefined;
  }

  findById(id: string): StoredUser | undefined {
    const row = this.db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.id = ?`).get(id);
    return row && toUser(row);
  }

  /** The unionIds linked to a user. */
  unionIdsOf(userId: string): string[] {
    return this.db
      .prepare<[string], { union_id: string }>(
        'SELECT union_id FROM muvee_dingtalk_links WHERE user_id = ? ORDER BY 1',
      )
      .all(userId)
      .map((r) => r.union_id);
  }

  list(): StoredUser[] {
    return this.db
      .prepare<[], UserRow>(`${USER_SELECT} ORDER BY u.created_at, u.email`)
      .all()
      .map(toUser);
  }

  /**
   * Runs `fn` in one read transaction: every query inside sees the file as it was when the
   * first one ran, whatever other processes write meanwhile (`users list`'s widths and rows
   * agree, and its batches neither skip nor repeat a user).
   */
  snapshot<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  /**
   * `users list --json`'s users (the same fields and values as JSON.stringify of a
   * StoredUser), in order: chunks of UTF-8, each the JSON objects of up to LIST_BATCH users
   * joined by `,\n`. SQLite builds the text and hands over one buffer a batch, so no value
   * becomes a JavaScript string (for 100,000 users that conversion, and encoding the text
   * back to UTF-8 for stdout, cost more than building it).
   */
  *listJson(page: ListPage = {}): Generator<Buffer> {
    // json('true') is computed once (a constant), and json_object takes it as JSON, not text.
    const bool = (test: string) => `iif(${test}, json('true'), json('false'))`;
    const source = this.listSource();
    yield* this.listBatches(
      page,
      source,
      `json_object('id', u.id, 'email', u.email, 'name', u.name, 'avatarUrl', u.avatar_url,
         'role', coalesce(${source.role}, 'member'),
         'authorized', ${bool(`${source.authorized} <> 0`)},
         'member', ${bool(`${source.role} IS NOT NULL`)}, 'legacyRole', u.role,
         'nameOverridden', ${bool('u.name_overridden <> 0')},
         'avatarOverridden', ${bool('u.avatar_overridden <> 0')},
         'createdAt', u.created_at, 'lastLoginAt', ${source.lastLogin}) AS line`,
      'line',
      ',\n',
    );
  }

  /**
   * For `users list`'s table: how many users the page has and the widest email, name and
   * last login once sanitised, computed inside SQLite: a value of one byte a character is
   * as wide as it is long, any other is handed to `text`. That holds only if no such value
   * holds a control character (it would be shown escaped, hence wider): checked on the way,
   * with json_valid. If one does, everything is measured again with the exact test, and
   * {@link listTable} uses it.
   */
  listLayout(page: ListPage, text: CellText): ListLayout {
    const measure = (value: unknown) => (value === null ? 0 : text.width(text.safe(String(value))));
    this.db.function('muvee_width', { deterministic: true }, measure);
    const whole = page.limit === undefined && !page.offset;
    const source = this.listSource();
    // [users, widest email, name, a control character?] and [widest last login, control?]
    type Widths = [number, number | null, number | null, number | null];
    type LastLogin = [number | null, number | null];
    const measured = (oneByteIsPlain: boolean) => {
      const w = (v: string) =>
        `max(iif(${plain(v, oneByteIsPlain)}, octet_length(${v}), muvee_width(${v})))`;
      // json_valid rejects a raw control character in a JSON string; DEL is made one of them.
      const control = (...vs: string[]) =>
        oneByteIsPlain
          ? `max(NOT json_valid(replace(concat('"', ${vs.join(', ')}, '"'), char(127), char(1))))`
          : 'NULL';
      const users = `count(*), ${w('email')}, ${w('name')}, ${control('email', 'name', 'id')}`;
      const lastLogin = `${w('last_login_at')}, ${control('last_login_at')}`;
      const [count, email, name, usersControl, last, lastControl] = whole
        ? // The whole table: no order needed (every DingTalk link belongs to a user).
          [
            ...this.db.prepare<[], Widths>(`SELECT ${users} FROM users`).raw().get()!,
            ...this.db
              .prepare<[], LastLogin>(`SELECT ${lastLogin} FROM muvee_dingtalk_links`)
              .raw()
              .get()!,
          ]
        : this.db
            .prepare<object, [...Widths, ...LastLogin]>(
              `SELECT ${users}, ${lastLogin}
               FROM (SELECT u.email, u.name, u.id, ${source.lastLogin} AS last_login_at
                     ${source.from}
                     ORDER BY u.created_at, u.email LIMIT @limit OFFSET @offset)`,
            )
            .raw()
            .get({ limit: page.limit ?? -1, offset: page.offset ?? 0 })!;
      return {
        rows: count,
        email: email ?? 0,
        name: name ?? 0,
        lastLoginAt: last ?? 0,
        oneByteIsPlain: oneByteIsPlain && !usersControl && !lastControl,
      };
    };
    const fast = measured(true);
    return fast.oneByteIsPlain ? fast : measured(false);
  }

  /**
   * `users list`'s table rows for the page, in order: chunks of UTF-8 lines (each ending in
   * `\n`), padded to `layout`'s widths, trailing spaces trimmed, as output.ts `columns`. A
   * value that is plain printable ASCII is padded by SQLite; any other goes through `text`
   * (sanitised, measured by display width), so stored text never reaches the terminal raw.
   */
  *listTable(page: ListPage, layout: ListLayout, text: CellText): Generator<Buffer> {
    const cell = (value: unknown, width: number) => {
      const safe = value === null ? '' : text.safe(String(value));
      const pad = width - text.width(safe);
      return pad > 0 ? safe + ' '.repeat(pad) : safe;
    };
    this.db.function('muvee_list_cell', { deterministic: true }, (value: unknown, width: number) =>
      cell(value, width),
    );
    this.db.function('muvee_list_row', { varargs: true }, (...row: unknown[]) => {
      const [email, role, authorized, name, lastLoginAt, id] = row;
      return `${[
        cell(email, layout.email),
        cell(role ?? 'member', 'member'.length),
        authorized ? 'active ' : 'pending',
        cell(name, layout.name),
        cell(lastLoginAt ?? '—', layout.lastLoginAt),
        cell(id, 0),
      ]
        .join('  ')
        .trimEnd()}\n`;
    });
    // One printf a line. A value shown as it is is padded by printf, which counts bytes: its
    // width in bytes is the column's plus its bytes beyond its columns (`*_extra`: 0 but for
    // '—'); any other is padded by muvee_list_cell, and given width 0.
    const padded = (v: string, width: string) =>
      `iif(${v}_extra IS NULL, 0, ${width} + ${v}_extra),
       iif(${v}_extra IS NULL, muvee_list_cell(${v}, ${width}), ${v})`;
    // A value's bytes beyond its columns when shown as it is (0: plain); NULL when it is not.
    const extra = (v: string) => `iif(${plain(v, layout.oneByteIsPlain)}, 0, NULL)`;
    const line = `CASE WHEN id_extra = 0 AND (role IS NULL OR role IN ('admin', 'member'))
      THEN rtrim(printf('%-*s  %-6s  %-7s  %-*s  %-*s  %s',
          ${padded('email', '@email')},
          coalesce(role, 'member'), iif(authorized, 'active', 'pending'),
          ${padded('name', '@name')},
          -- '—' (no login) is three bytes, one column
          iif(last IS NULL, @last + 2, iif(${extra('last')} = 0, @last, 0)),
          iif(last IS NULL, '—', iif(${extra('last')} = 0, last, muvee_list_cell(last, @last))),
          id), ' ') || char(10)
      ELSE muvee_list_row(email, role, authorized, name, last, id) END`;
    const source = this.listSource();
    yield* this.listBatches(
      page,
      source,
      `u.email AS email, ${extra('u.email')} AS email_extra,
       ${source.role} AS role, coalesce(${source.authorized}, 0) <> 0 AS authorized,
       u.name AS name, ${extra('u.name')} AS name_extra,
       ${source.lastLogin} AS last, u.id AS id, ${extra('u.id')} AS id_extra`,
      line,
      '',
      {
        email: layout.email,
        name: layout.name,
        last: layout.lastLoginAt,
      },
    );
  }

  /**
   * The page's users in batches of LIST_BATCH, each batch one UTF-8 buffer built by SQLite:
   * `line` (over the columns `columns` selects from users `u` and `source`) of
   * each user, joined by `separator`. Keyset pagination on (created_at, email), the
   * users_created_at_email index: the start of each batch is found by walking the index
   * alone, and OFFSET is paid once. The batch's subquery has a LIMIT, so SQLite keeps its
   * ORDER BY and runs it as a co-routine (each column computed once, in order) under the
   * aggregate. A file without that index, or with a NULL key (neither happens in a file this
   * tool writes), is read row by row instead.
   */
  private *listBatches(
    page: ListPage,
    source: ListSource,
    columns: string,
    line: string,
    separator: string,
    params: Record<string, unknown> = {},
  ): Generator<Buffer> {
    const order = 'ORDER BY u.created_at, u.email';
    let remaining = page.limit ?? Infinity;
    if (!this.keysetUsable()) {
      const rows = this.db
        .prepare<Record<string, unknown>, Buffer | null>(
          `SELECT CAST(${line} AS BLOB) FROM (SELECT ${columns} ${source.from} ${order}
           LIMIT @limit OFFSET @offset)`,
        )
        .pluck()
        .iterate({ ...params, limit: page.limit ?? -1, offset: page.offset ?? 0 });
      const glue = Buffer.from(separator);
      let parts: Buffer[] = [];
      for (const row of rows) {
        if (!row) continue;
        if (parts.length > 0) parts.push(glue);
        parts.push(row);
        if (parts.length >= 2 * LIST_BATCH) {
          yield validUtf8(Buffer.concat(parts));
          parts = [];
        }
      }
      if (parts.length > 0) yield validUtf8(Buffer.concat(parts));
      return;
    }
    type Key = [unknown, unknown];
    const keyAt = this.db
      .prepare<[number], Key>(
        'SELECT created_at, email FROM users ORDER BY created_at, email LIMIT 1 OFFSET ?',
      )
      .raw();
    const keyAfter = this.db
      .prepare<[unknown, unknown, number], Key>(
        `SELECT created_at, email FROM users WHERE (created_at, email) >= (?, ?)
         ORDER BY created_at, email LIMIT 1 OFFSET ?`,
      )
      .raw();
    const batch = (range: string) =>
      this.db
        .prepare<Record<string, unknown>, Buffer | null>(
          `SELECT CAST(group_concat(${line}, @separator) AS BLOB)
           FROM (SELECT ${columns} ${source.from}
                 WHERE (u.created_at, u.email) >= (@fromAt, @fromEmail) ${range}
                 ${order} LIMIT @n)`,
        )
        .pluck();
    const bounded = batch('AND (u.created_at, u.email) < (@toAt, @toEmail)');
    const rest = batch('');
    let from = keyAt.get(page.offset ?? 0);
    while (from && remaining > 0) {
      const n = Math.min(LIST_BATCH, remaining);
      const to = keyAfter.get(from[0], from[1], n);
      const args = { ...params, separator, n, fromAt: from[0], fromEmail: from[1] };
      const chunk = to ? bounded.get({ ...args, toAt: to[0], toEmail: to[1] }) : rest.get(args);
      if (chunk) yield validUtf8(chunk);
      remaining -= n;
      from = to;
    }
  }

  /** muvee_dingtalk_users_list if the file has it, else the lookups. */
  private listSource(): ListSource {
    const table = this.db
      .prepare(
        `SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'muvee_dingtalk_users_list'`,
      )
      .get();
    return table ? LIST_TABLE : LOOKUPS;
  }

  /** Keyset pagination on (created_at, email) needs their index and no NULL in them. */
  private keysetUsable(): boolean {
    return (
      this.db
        .prepare<[], number>(
          `SELECT EXISTS (SELECT 1 FROM sqlite_schema
                          WHERE type = 'index' AND name = 'users_created_at_email')
             AND NOT EXISTS (SELECT 1 FROM users WHERE created_at IS NULL)
             AND NOT EXISTS (SELECT 1 FROM users WHERE email IS NULL)`,
        )
        .pluck()
        .get() === 1
    );
  }

  /** `findById` with its statement prepared once, for many lookups (verify-token --each). */
  userFinder(): (id: string) => StoredUser | undefined {
    const statement = this.db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.id = ?`);
    return (id) => {
      const row = statement.get(id);
      return row && toUser(row);
    };
  }

  // --- muvee's settings, invitations and members (the admin subcommands) ---------------------

  accessMode(): AccessMode {
    const row = this.db
      .prepare<[], { value: string }>(`SELECT value FROM system_settings WHERE key = 'access_mode'`)
      .get();
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
    return (
      this.db.prepare('SELECT 1 FROM invitations WHERE email = ?').get(invitationKey(email)) !==
      undefined
    );
  }

  invitations(): { email: string; createdAt: string }[] {
    return this.db
      .prepare<[], { email: string; created_at: string }>(
        'SELECT email, created_at FROM invitations ORDER BY email',
      )
      .all()
      .map((r) => ({ email: r.email, createdAt: r.created_at }));
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
    const all = (sql: string) => this.db.prepare<[], Record<string, unknown>>(sql).all();
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

function migrate(db: Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new file at once must not both migrate.
  db.transaction(() => {
    const from = version();
    if (from > SCHEMA_VERSION) throw newerSchema(from);
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * A database in memory from a file's bytes, as a rollback-journal database: SQLite cannot keep
 * the WAL of a database in memory (a WAL file's copy fails to read or to migrate with
 * SQLITE_CANTOPEN), so the header's read and write versions (bytes 18, 19) say "legacy".
 */
function inMemory(bytes: Buffer): Database {
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

function newerSchema(version: number): CliError {
  return new CliError(
    'db-unusable',
    `schema version ${version} is newer than this muvee-dingtalk understands (${SCHEMA_VERSION}); upgrade muvee-dingtalk`,
  );
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
