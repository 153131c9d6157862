/**
 * The local file's schema: muvee's tables as muvee has them (users, platform_members,
 * invitations, system_settings) and this tool's own `muvee_dingtalk_*` tables, versioned with
 * `PRAGMA user_version` and migrated forward on open.
 */
import { CliError } from '../../cli/errors.js';
import type { Database } from './binding.js';

/**
 * The version MIGRATIONS lead to: a literal, so a module that needs only the number (the
 * file reader, verify-token's lookup) does not carry the migrations' text. The type of
 * MIGRATIONS below holds it to their count: a new migration without a new number fails tsc.
 */
export const SCHEMA_VERSION = 4;

/** Each entry moves the schema from version `index` to `index + 1`. Never edit a shipped one. */
export const MIGRATIONS: readonly string[] & { length: typeof SCHEMA_VERSION } = [
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

/**
 * What MIGRATIONS leave in `sqlite_schema`, statement by statement in the same order: a new,
 * empty file gets it in one exec (issue 22: ALTER TABLE re-reads the whole schema at each
 * step). The text is SQLite's own after each ALTER, so the file is the same as one migrated
 * step by step (test/store.test.ts compares `sqlite_schema`, root pages included, and
 * user_version). A new migration changes it too: paste the new `sqlite_schema` the test prints.
 */
export const CURRENT_SCHEMA = `
CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL DEFAULT '',
     avatar_url TEXT NOT NULL DEFAULT '',
     role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin','member')),
     name_overridden INTEGER NOT NULL DEFAULT 0,
     avatar_overridden INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     authorized INTEGER NOT NULL DEFAULT 1);
CREATE TABLE oauth_accounts (
     provider TEXT NOT NULL,
     provider_user_id TEXT NOT NULL,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, created_at TEXT,
     PRIMARY KEY (provider, provider_user_id)
   );
CREATE INDEX oauth_accounts_user_id ON oauth_accounts(user_id);
CREATE TABLE platform_members (
     user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
     role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin','member')),
     authorized INTEGER NOT NULL DEFAULT 1,
     created_at TEXT NOT NULL
   );
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
CREATE INDEX users_created_at_email ON users(created_at, email);
CREATE TABLE muvee_dingtalk_users_list (
     created_at TEXT NOT NULL,
     email TEXT NOT NULL,
     user_id TEXT NOT NULL,
     member_role TEXT,
     member_authorized INTEGER,
     last_login_at TEXT,
     PRIMARY KEY (created_at, email)
   ) WITHOUT ROWID;
CREATE INDEX muvee_dingtalk_users_list_user_id ON muvee_dingtalk_users_list(user_id);
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
   END;
`;

/**
 * Migrates `db` forward to SCHEMA_VERSION in one IMMEDIATE transaction; an empty database
 * gets CURRENT_SCHEMA at once.
 */
export function migrate(db: Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new file at once must not both migrate.
  db.transaction(() => {
    const from = version();
    if (from > SCHEMA_VERSION) throw newerSchema(from);
    if (from === 0 && db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() === 0)
      db.exec(CURRENT_SCHEMA);
    else for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export function newerSchema(version: number): CliError {
  return new CliError(
    'db-unusable',
    `schema version ${version} is newer than this muvee-dingtalk understands (${SCHEMA_VERSION}); upgrade muvee-dingtalk`,
  );
}

/**
 * The oldest schema read as it is by the commands that only read: migration 4 added only
 * muvee_dingtalk_users_list, which `users list` can do without (LOOKUPS). An older file is
 * read through a migrated copy in memory, which costs a copy of the whole file.
 */
export const READ_AS_IS_FROM = 3;
