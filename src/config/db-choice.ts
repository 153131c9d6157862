/**
 * Which database a run uses, and how it says so (issue 22): `--db` > MUVEE_DINGTALK_DB >
 * DATABASE_URL (a postgres:// URL) > ./muvee-dingtalk.db, where each came from, the settings
 * it overrode that name another store (warned), the line every run prints, and the read-only
 * commands' look at `login --emulator`'s file. Pure but for two file-system looks.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { CliError } from '../cli/errors.js';
import type { Output } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';
import { isPostgresUrl, redactUrl } from './db-target.js';

/** Where a value came from (config.ts's layers). */
export type Source = 'flag' | 'env' | 'env-file' | 'default';

const DEFAULT_DB = './muvee-dingtalk.db';

/** Which setting chose the store, and from where (for `database: … (from …)` lines). */
export interface DbSource {
  setting: '--db' | 'MUVEE_DINGTALK_DB' | 'DATABASE_URL' | 'default' | 'emulator';
  /** Where that setting was read: the flag, the environment, or the env file at this path. */
  from: string;
}

/** The store of a run, as the configuration holds it. */
export interface DbChoice {
  /**
   * The store for messages: a path relative to the working directory, or muvee's PostgreSQL
   * URL with its password redacted. Never holds a password.
   */
  dbPath: string;
  /** The store to open: the absolute SQLite path, or the PostgreSQL URL (password included). */
  dbFile: string;
  /** `--db`/MUVEE_DINGTALK_DB/DATABASE_URL named a postgres:// URL: muvee's own database. */
  dbIsPostgres: boolean;
  /** Which setting chose the store, for the line every run that uses it prints. */
  dbSource: DbSource;
  /**
   * Settings that name another store than the one in use (a conflict a user must hear of):
   * e.g. MUVEE_DINGTALK_DB in `.env` winning over muvee's DATABASE_URL. Printed as warnings.
   */
  dbConflicts: string[];
}

/**
 * Pure: which store: `--db` or MUVEE_DINGTALK_DB (a path or a postgres:// URL), else
 * DATABASE_URL when it is a postgres:// URL (muvee's own variable, so the tool can run beside
 * muvee with muvee's env file), else ./muvee-dingtalk.db.
 */
export function database(
  configured: string | undefined,
  databaseUrl: string | undefined,
  cwd: string,
): Pick<DbChoice, 'dbPath' | 'dbFile' | 'dbIsPostgres'> {
  const db =
    configured ??
    (databaseUrl !== undefined && isPostgresUrl(databaseUrl) ? databaseUrl : undefined) ??
    DEFAULT_DB;
  return isPostgresUrl(db)
    ? { dbPath: redactUrl(db), dbFile: db, dbIsPostgres: true }
    : { dbPath: db, dbFile: resolve(cwd, db), dbIsPostgres: false };
}

/**
 * Pure: {@link database} with where its value came from, and the settings it overrode that name
 * another store (said loudly: an admin must never believe they checked muvee's database when
 * the run read a local file).
 */
export function databaseOf(
  pick: (name: 'MUVEE_DINGTALK_DB' | 'DATABASE_URL') => string | undefined,
  sources: Partial<Record<'MUVEE_DINGTALK_DB' | 'DATABASE_URL', Source>>,
  envFilePath: string,
  cwd: string,
): DbChoice {
  const configured = pick('MUVEE_DINGTALK_DB');
  const databaseUrl = pick('DATABASE_URL');
  const rel = relative(cwd, envFilePath);
  const envFile = rel.startsWith('..') || isAbsolute(rel) ? envFilePath : `./${rel}`;
  const where = (source: Source | undefined) =>
    source === 'flag' ? 'the command line' : source === 'env' ? 'the environment' : envFile;
  const chosen = database(configured, databaseUrl, cwd);
  const setting: DbSource['setting'] =
    configured !== undefined
      ? sources.MUVEE_DINGTALK_DB === 'flag'
        ? '--db'
        : 'MUVEE_DINGTALK_DB'
      : chosen.dbIsPostgres
        ? 'DATABASE_URL'
        : 'default';
  const dbSource: DbSource = {
    setting,
    from:
      setting === 'default'
        ? 'the default'
        : where(sources[setting === 'DATABASE_URL' ? 'DATABASE_URL' : 'MUVEE_DINGTALK_DB']),
  };
  const shown = (value: string) => (isPostgresUrl(value) ? redactUrl(value) : value);
  const dbConflicts: string[] = [];
  if (databaseUrl !== undefined && setting !== 'DATABASE_URL') {
    if (!isPostgresUrl(databaseUrl)) {
      dbConflicts.push(
        `DATABASE_URL (from ${where(sources.DATABASE_URL)}) is not a postgres:// URL and is ignored; this run uses ${chosen.dbPath}`,
      );
    } else if (databaseUrl !== configured) {
      dbConflicts.push(
        `${setting} ${chosen.dbPath} (from ${dbSource.from}) overrides DATABASE_URL ${shown(databaseUrl)} (from ${where(sources.DATABASE_URL)}): this run uses ${chosen.dbPath}, not muvee's database. ` +
          (setting === '--db'
            ? 'Leave --db out to use DATABASE_URL'
            : `Remove MUVEE_DINGTALK_DB from ${dbSource.from} to use DATABASE_URL, or pass --db`),
      );
    }
  }
  return { ...chosen, dbSource, dbConflicts };
}

/** The store and where it was chosen, for one line: `./x.db (MUVEE_DINGTALK_DB from ./.env)`. */
export function describeDb(config: Pick<DbChoice, 'dbPath' | 'dbSource'>): string {
  const { setting, from } = config.dbSource;
  // `--db` as such: its value may have come from `--db env:NAME`, not the command line.
  const why =
    setting === 'default'
      ? 'the default'
      : setting === '--db'
        ? '--db'
        : setting === 'emulator'
          ? from
          : `${setting} from ${from}`;
  return `${config.dbPath} (${why})`;
}

/**
 * What every run that uses a store says first, on stderr: the conflicts between the settings
 * that name one (warnings), and `database: <path> (<which setting, from where>)`. A directory
 * given as the SQLite file is refused here (exit 2), before anything opens it.
 */
export function announceDb(out: Pick<Output, 'note' | 'warn' | 'c'>, config: DbChoice): void {
  for (const conflict of config.dbConflicts) out.warn(conflict);
  out.note(out.c.dim(`database: ${safe(describeDb(config))}`));
  if (!config.dbIsPostgres && isDirectory(config.dbFile)) {
    throw new CliError(
      'db-unusable',
      `the database '${safe(config.dbPath)}' is a directory, not a SQLite file; name a file (e.g. --db ${safe(config.dbPath.replace(/\/+$/, ''))}/muvee-dingtalk.db)`,
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Where `login --emulator` stores its demo users unless `--db` names a database for the run. */
export const EMULATOR_DB = 'muvee-dingtalk-emulator.db';

/**
 * For the commands that only read (users, mint-token --email, verify-token): when nothing
 * names a store, ./muvee-dingtalk.db does not exist and `login --emulator` left its demo users
 * in ./muvee-dingtalk-emulator.db, that file is read (and the run says so), so a newcomer's
 * `users list` after `login --emulator` finds the user instead of a dead end. Never for a
 * command that writes, and never once ./muvee-dingtalk.db exists or a store is named.
 */
export function readingEmulatorDb<T extends DbChoice>(config: T, cwd: string): T {
  if (config.dbSource.setting !== 'default' || existsSync(config.dbFile)) return config;
  const emulatorFile = resolve(cwd, EMULATOR_DB);
  if (!existsSync(emulatorFile)) return config;
  return {
    ...config,
    dbPath: `./${EMULATOR_DB}`,
    dbFile: emulatorFile,
    dbSource: {
      setting: 'emulator',
      from: `login --emulator's demo users; ${config.dbPath} does not exist yet`,
    },
  };
}

/** The store of a `login --emulator` run that names none: its own file for demo users. */
export function emulatorOwnDb(config: DbChoice, cwd: string): DbChoice {
  const { setting, from } = config.dbSource;
  return {
    dbPath: `./${EMULATOR_DB}`,
    dbFile: resolve(cwd, EMULATOR_DB),
    dbIsPostgres: false,
    dbSource: {
      setting: 'emulator',
      from: `login --emulator's own file for demo users${setting === 'default' ? '' : `; ${setting} from ${from} is used only when --db names it`}`,
    },
    dbConflicts: [],
  };
}
