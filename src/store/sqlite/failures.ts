/**
 * The local file's failures in the user's words: SQLite's result codes (and the file system's
 * errors on the way) as `db-unusable` (exit 2) naming the file and the fix, or `db-error` when
 * there is no fix to give; and the refusal to create a database through a link that points
 * nowhere (issue 20 L1).
 */
import { readlinkSync } from 'node:fs';
import { CliError, isCliError } from '../../cli/errors.js';

/** A failure of SQLite's (its result codes) as {@link unusable}; anything else as it is. */
export function sqliteFailure(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? unusable(path, error) : error;
}

/**
 * A read of the file at `path`: SQLite's failures (a damaged page shows only when it is read:
 * SQLITE_CORRUPT) are `db-unusable` naming the file and the fix (issue 20 M6), never an
 * unexpected error.
 */
export function sqliteRead<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw sqliteFailure(path, error);
  }
}

/** Issue 20 L1: a link that points nowhere is never followed to create a file. */
export function danglingLink(path: string): CliError {
  let target = '?';
  try {
    target = readlinkSync(path);
  } catch {
    // shown as '?'
  }
  return new CliError(
    'db-unusable',
    `the database '${path}' is a symbolic link to '${target}', which does not exist; nothing was created there: pass --db <path of a regular file in a writable folder>, not a link`,
    { details: { path } },
  );
}

export function unusable(path: string, error: unknown): CliError {
  if (isCliError(error)) {
    // Said already (a read inside a write), or a refusal of the login's.
    if (error.message.startsWith(`database '${path}' `)) return error;
    return new CliError(error.code, `database '${path}': ${error.message}`, { cause: error });
  }
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  // SQLite's result codes, extended ones included (SQLITE_READONLY_DBMOVED, ...); better-sqlite3
  // also throws a plain TypeError "attempt to write a readonly database" before running.
  const is = (prefix: string) => code.startsWith(prefix);
  const fix =
    is('SQLITE_NOTADB') || is('SQLITE_CORRUPT')
      ? 'it is damaged or not a SQLite database: restore it from a backup, or move it aside (the next login starts a new one), or pass another --db'
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
              : is('SQLITE_IOERR')
                ? 'it could not be read or written (an I/O error: a failing disk or network drive, a file cut short): check it, or pass another --db'
                : undefined;
  return new CliError(
    fix ? 'db-unusable' : 'db-error',
    `database '${path}' ${fix ? `failed (${code || message}); ${fix}` : `failed: ${message}`}`,
    { cause: error },
  );
}
