/**
 * One async face for both stores: the local SQLite file (store.ts, synchronous, wrapped here)
 * and muvee's own PostgreSQL (pg-store.ts). `openUserStore(db)` picks by the value: a
 * `postgres://` / `postgresql://` URL opens PostgreSQL (and only then loads `pg`), anything
 * else is a SQLite path (and only then loads better-sqlite3).
 *
 * Differences that stay visible through this face: on PostgreSQL the tool keeps nothing of its
 * own (no DingTalk link, no last login: `lastLoginAt` is null, `previousEmailForUnionId`
 * undefined, `otherUnionIds` empty), and a user without an email (muvee allows NULL) shows as
 * `email: ''`.
 */
import { isPostgresUrl, redactUrl } from '../config/db-target.js';
import { planFromState, type LoginPlan } from './plan.js';
import type { AccessMode } from '../muvee/membership.js';
import type { PgStoreOptions } from './postgres/store.js';
import type { LoginInput, LoginResult, Store, StoredUser } from './sqlite/store.js';

export interface UserStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The SQLite path, or the PostgreSQL URL with its password redacted. */
  readonly location: string;
  close(): Promise<void>;
  /** muvee's login, written (the `--apply` path on PostgreSQL). */
  recordLogin(input: LoginInput): Promise<LoginResult>;
  /** muvee's login, read only: what `recordLogin` would do now. */
  planLogin(input: LoginInput): Promise<LoginPlan>;
  findByEmail(email: string): Promise<StoredUser | undefined>;
  findById(id: string): Promise<StoredUser | undefined>;
  list(): Promise<StoredUser[]>;
  accessMode(): Promise<AccessMode>;
  setAccessMode(mode: AccessMode, now?: Date): Promise<void>;
  isInvited(email: string): Promise<boolean>;
  invitations(): Promise<{ email: string; createdAt: string }[]>;
  invite(email: string, now?: Date): Promise<boolean>;
  uninvite(email: string): Promise<boolean>;
  approve(userId: string, now?: Date): Promise<boolean>;
  setOverride(userId: string, field: 'name' | 'avatar', value: string | undefined): Promise<void>;
}

/** The SQLite store behind the async face (calls run synchronously, inside the promise). */
export function sqliteUserStore(store: Store): UserStore {
  const call =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): Promise<R> => {
      try {
        return Promise.resolve(fn(...args));
      } catch (error) {
        return Promise.reject(error);
      }
    };
  return {
    kind: 'sqlite',
    location: store.path,
    close: call(() => store.close()),
    recordLogin: call((input: LoginInput) => store.recordLogin(input)),
    planLogin: call((input: LoginInput) => {
      const found = store.findByEmail(input.email);
      return planFromState(input, {
        accessMode: store.accessMode(),
        invited: store.isInvited(input.email),
        // findByEmail falls back to a case-insensitive match; muvee matches exactly.
        existing: found && found.email === input.email ? found : undefined,
      });
    }),
    findByEmail: call((email: string) => store.findByEmail(email)),
    findById: call((id: string) => store.findById(id)),
    list: call(() => store.list()),
    accessMode: call(() => store.accessMode()),
    setAccessMode: call((mode: AccessMode, now?: Date) => store.setAccessMode(mode, now)),
    isInvited: call((email: string) => store.isInvited(email)),
    invitations: call(() => store.invitations()),
    invite: call((email: string, now?: Date) => store.invite(email, now)),
    uninvite: call((email: string) => store.uninvite(email)),
    approve: call((userId: string, now?: Date) => store.approve(userId, now)),
    setOverride: call((userId: string, field: 'name' | 'avatar', value: string | undefined) =>
      store.setOverride(userId, field, value),
    ),
  };
}

export interface OpenUserStoreOptions {
  /** SQLite: create the file when missing (default true). */
  create?: boolean;
  /** PostgreSQL: timeouts and pool size. */
  pg?: PgStoreOptions;
}

/**
 * Opens the store `db` names: a PostgreSQL URL (muvee's database: checked, never created or
 * altered) or a SQLite path (created and migrated unless `create: false`).
 */
export async function openUserStore(
  db: string,
  options: OpenUserStoreOptions = {},
): Promise<UserStore> {
  if (isPostgresUrl(db)) {
    const { openPgStore } = await import('./postgres/store.js');
    return openPgStore(db, options.pg);
  }
  const { Store } = await import('./sqlite/store.js');
  return sqliteUserStore(Store.open(db, { create: options.create ?? true }));
}

/**
 * As `openUserStore`, but a SQLite path with no file is null (nothing created); a PostgreSQL
 * URL always connects.
 */
export async function openExistingUserStore(
  db: string,
  options: Omit<OpenUserStoreOptions, 'create'> & {
    /** Only reads: a SQLite file is opened read-only and never migrated (Store.openReadOnly). */
    readOnly?: boolean;
  } = {},
): Promise<UserStore | null> {
  if (isPostgresUrl(db)) return openUserStore(db, options);
  const { Store } = await import('./sqlite/store.js');
  const store = options.readOnly ? Store.openReadOnly(db) : Store.openExisting(db);
  return store && sqliteUserStore(store);
}

/** For messages: the path, or the URL without its password. */
export function describeDb(db: string): string {
  return isPostgresUrl(db) ? redactUrl(db) : db;
}
