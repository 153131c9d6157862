/**
 * The one place that picks an engine: a `postgres://` / `postgresql://` URL opens muvee's own
 * PostgreSQL (and only then loads `pg`), anything else is a SQLite path (and only then loads
 * better-sqlite3). Commands and the login flow ask here for what they need (a store, a login's
 * store, a lookup by id) and never branch on the engine themselves. The contract is
 * `contract.ts`; muvee's login steps, written once for both, are `record-login.ts`.
 */
import { lstatSync } from 'node:fs';
import { CliError } from '../cli/errors.js';
import { isPostgresUrl, redactUrl } from '../config/db-target.js';
import type { AccessMode, LoginInput } from '../muvee/model.js';
import type { LoginStore, UserStore } from './contract.js';
import type { PgStoreOptions } from './postgres/store.js';
import { planAsResult, planLogin } from './record-login.js';
import { requireUsableDb } from './sqlite/path-check.js';
import type { ListPage, Store } from './sqlite/store.js';

export type { LoginStore, UserStore } from './contract.js';

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
      return planLogin(input, {
        accessMode: store.accessMode(),
        invited: store.isInvited(input.email),
        // findByEmail falls back to a case-insensitive match; muvee matches exactly.
        existing: found && found.email === input.email ? found : undefined,
      });
    }),
    findByEmail: call((email: string) => store.findByEmail(email)),
    findById: call((id: string) => store.findById(id)),
    list: call((page?: ListPage) => {
      const all = store.list();
      const from = page?.offset ?? 0;
      return page?.limit === undefined ? all.slice(from) : all.slice(from, from + page.limit);
    }),
    unionIds: call((userId: string) => store.unionIdsOf(userId)),
    batchedList: store,
    exportRows: call(() => store.exportRows()),
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
  /**
   * SQLite: told what deserves a look about the file (issue 20 L12: another user owns it, or
   * others can write it) before it is read. Commands pass their `out.warn`.
   */
  warn?: (message: string) => void;
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
  const { Store, openedFileWarnings } = await import('./sqlite/store.js');
  if (options.warn) for (const warning of openedFileWarnings(db)) options.warn(warning);
  const store = options.readOnly ? Store.openReadOnly(db) : Store.openExisting(db);
  return store && sqliteUserStore(store);
}

/**
 * For `admin`'s writes: the store `db` names, opened for writing. A SQLite path gets login's
 * judgement first (issue 20 L1): a link that points nowhere, a folder, a file it cannot write,
 * a planted journal are `db-unusable` (exit 2) before anything is opened or created; its
 * warnings (a link, a file others can read or write, or another user owns) go to `warn`.
 * Without `create`, a path with nothing there is null (nothing created).
 */
export async function openStoreToWrite(
  db: string,
  options: { create: boolean; warn: (message: string) => void },
): Promise<UserStore | null> {
  if (isPostgresUrl(db)) return openUserStore(db);
  if (!options.create && !lexists(db)) return null;
  for (const warning of requireUsableDb(db, '. Nothing was written')) options.warn(warning);
  const { Store } = await import('./sqlite/store.js');
  return sqliteUserStore(Store.open(db, { create: options.create }));
}

/** Whether anything is at `path`, a link that points nowhere included. */
function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** For messages: the path, or the URL without its password. */
export function describeDb(db: string): string {
  return isPostgresUrl(db) ? redactUrl(db) : db;
}

export interface LoginStoreOptions {
  /** muvee's PostgreSQL: write (`--apply`) instead of a dry run. Refused for a SQLite file. */
  apply: boolean;
  /** Nothing is opened (or created) once aborted. */
  signal: AbortSignal;
  /** The error an abort gives. */
  interrupted: () => CliError;
}

/**
 * The store `login` writes to, opened only when a user is to be stored. A SQLite path is
 * judged now, before the flow binds anything or opens a browser: an unusable one is
 * `db-unusable` (exit 2) with the single-use code never spent; `warnings` (a file others can
 * read, a link) are printed first. muvee's PostgreSQL is a dry run (the plan as a result, nothing
 * written) unless `apply`.
 */
export function loginStore(
  db: string,
  options: LoginStoreOptions,
): (() => Promise<LoginStore>) & {
  warnings: readonly string[];
  /** muvee's PostgreSQL: whether this is a dry run; undefined for a SQLite file (always written). */
  dryRun: boolean | undefined;
} {
  const { apply, signal, interrupted } = options;
  if (isPostgresUrl(db)) {
    const open = async (): Promise<LoginStore> => {
      const store = await openUserStore(db);
      if (signal.aborted) {
        await store.close();
        throw interrupted();
      }
      return {
        recordLogin: async (input: LoginInput) =>
          apply ? store.recordLogin(input) : planAsResult(await store.planLogin(input)),
        close: () => store.close(),
      };
    };
    return Object.assign(open, { warnings: [], dryRun: !apply });
  }
  refuseApplyOnSqlite(db, apply);
  const warnings = requireUsableDb(db);
  const open = async (): Promise<LoginStore> => {
    const { Store } = await import('./sqlite/store.js');
    if (signal.aborted) throw interrupted();
    return Store.open(db);
  };
  return Object.assign(open, { warnings, dryRun: undefined });
}

/**
 * `--apply` names a write to muvee's PostgreSQL; on a SQLite file (always written) it is a
 * mistake: `usage` (exit 2), the same for `login` and `admin`, before anything is opened.
 */
export function refuseApplyOnSqlite(db: string, apply: boolean | undefined): void {
  if (apply && !isPostgresUrl(db)) {
    throw new CliError(
      'usage',
      "--apply is for muvee's PostgreSQL (--db postgres://… or DATABASE_URL); the local SQLite store is always written",
    );
  }
}

/**
 * What login's store needs, checked before the listener binds and the browser opens (a
 * DingTalk code is single-use: a failure found after the callback spends it for nothing). A
 * SQLite file: the driver loads on this Node and the file (when it exists) is a database. muvee's
 * PostgreSQL: the server answers, takes the URL's credentials and has muvee's tables (one
 * connection, closed again; the login reconnects when it stores the user). Either way a
 * failure is `db-unusable` (exit 2) with the fix; Ctrl-C while connecting is `interrupted()`.
 */
export async function preflightLoginStore(
  db: string,
  shown: string,
  options: Pick<LoginStoreOptions, 'signal' | 'interrupted'>,
): Promise<void> {
  if (isPostgresUrl(db)) {
    const { pgPreflight } = await import('./postgres/preflight.js');
    return pgPreflight(db, options);
  }
  const { sqlitePreflight } = await import('./sqlite/preflight.js');
  await sqlitePreflight(db, shown);
}

export { probeDb } from './probe.js';
