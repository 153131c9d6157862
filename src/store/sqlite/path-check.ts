/**
 * Can the SQLite file be used? The one judgement of the DB path, for `check-config` (a check
 * line) and `login` (before the listener binds and the browser opens, so the single-use code
 * is never spent on a login that cannot store its user).
 *
 * An existing path must be a regular file (or a link to one) that opens for writing; an
 * absent one must be creatable: its folder exists, is a folder, and a file can be made there
 * (tried for real, `O_CREAT | O_EXCL` then removed: `access()` says yes to root on /proc).
 * Warnings: a file other users can read (it holds users' emails) or write, or another user
 * owns; a symbolic link.
 */
import {
  closeSync,
  constants,
  lstatSync,
  openSync,
  readlinkSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliError } from '../../cli/errors.js';

/**
 * Issue 20 H1: a `-wal`, `-shm` or `-journal` file beside the database that its owner (or
 * this user) did not write is another user's content waiting to be read as the database's
 * (SQLite replays a WAL it finds, and the next writer checkpoints it into the file for good).
 * Such a file is refused before SQLite opens anything: one owned by another user than the
 * database's owner and this user, or writable by others who cannot write the database itself.
 * Undefined when there is none.
 */
export function foreignJournal(path: string): string | undefined {
  if (path === ':memory:') return undefined;
  let owner: number;
  let dbMode: number;
  try {
    ({ uid: owner, mode: dbMode } = statSync(path));
  } catch {
    return undefined;
  }
  const me = process.getuid?.();
  for (const suffix of ['-wal', '-shm', '-journal']) {
    const file = `${path}${suffix}`;
    // Absent is the common case: said without an exception (each costs a stack trace).
    let stat: import('node:fs').Stats | undefined;
    try {
      stat = lstatSync(file, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (!stat) continue;
    if (!stat.isFile())
      return `'${file}' beside it is ${stat.isSymbolicLink() ? 'a symbolic link' : kind(stat)}, not SQLite's own file`;
    if (stat.uid !== owner && stat.uid !== me)
      return `'${file}' beside it belongs to another user (uid ${stat.uid}), who could make it replace the database's content`;
    // SQLite gives its journals the database's own mode: a database others can write (warned
    // about: openedFileWarnings) has such journals, which are no more open than it is.
    if (stat.mode & 0o022 & ~dbMode)
      return `'${file}' beside it is writable by other users (mode 0${(stat.mode & 0o777).toString(8)}), who could make it replace the database's content`;
  }
  return undefined;
}

/** The `db-unusable` error for {@link foreignJournal}'s finding. */
function foreignJournalError(path: string, problem: string): CliError {
  return new CliError(
    'db-unusable',
    `the database '${path}' is refused: ${problem}; if you did not put it there, remove it (as its owner) and keep the database in a folder only you can write (not a shared /tmp)`,
    { details: { path } },
  );
}

/** Issue 20 H1: throws before SQLite (or file-reader.ts) reads a journal another user planted. */
export function refuseForeignJournal(path: string): void {
  const problem = foreignJournal(path);
  if (problem) throw foreignJournalError(path, problem);
}

export interface DbPathJudgement {
  /** The path, resolved. */
  path: string;
  exists: boolean;
  /** `undefined` when the path can be written (or created), else why not (after the path). */
  problem: string | undefined;
  /** What to do about the problem. */
  fix: string | undefined;
  /** Usable, but deserves a look. */
  warnings: string[];
}

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'error';

/** Not a regular file: what it is instead. */
function kind(stat: import('node:fs').Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Judges `path` (relative to the working directory); touches nothing that stays. */
export function judgeDbPath(path: string): DbPathJudgement {
  const full = path === ':memory:' ? path : resolve(path);
  const result = (
    exists: boolean,
    problem?: string,
    fix?: string,
    warnings: string[] = [],
  ): DbPathJudgement => ({ path: full, exists, problem, fix, warnings });
  const elsewhere = 'pass --db <path of a regular file in a writable folder>';
  if (full === ':memory:') return result(false);

  let link: import('node:fs').Stats | undefined;
  try {
    link = lstatSync(full);
  } catch (error) {
    if (errno(error) === 'ENOTDIR') return absentIn(full, result);
    if (errno(error) !== 'ENOENT')
      return result(false, `cannot be examined (${errno(error)})`, elsewhere);
  }
  if (!link) return absentIn(full, result);

  const warnings: string[] = [];
  let stat = link;
  if (link.isSymbolicLink()) {
    let target = '?';
    try {
      target = readlinkSync(full);
    } catch {
      // shown as '?'
    }
    try {
      stat = statSync(full);
    } catch (error) {
      return result(
        true,
        `is a symbolic link to '${target}', which cannot be used (${errno(error)})`,
        `${elsewhere}, not a link`,
      );
    }
    warnings.push(
      `'${full}' is a symbolic link (to '${target}'): the users are written wherever it points; pass the real path with --db`,
    );
  }
  if (!stat.isFile()) {
    return result(
      true,
      `is ${kind(stat)}, not a regular file`,
      stat.isDirectory() ? `${elsewhere} (a file name inside it)` : elsewhere,
    );
  }
  try {
    closeSync(openSync(full, constants.O_RDWR));
  } catch (error) {
    return result(
      true,
      `is not writable (${errno(error)})`,
      `fix its permissions (chmod 600, owned by you) or ${elsewhere}`,
    );
  }
  const journal = foreignJournal(full);
  if (journal)
    return result(
      true,
      `is refused: ${journal}`,
      'remove that file if you did not put it there, and keep the database in a folder only you can write',
    );
  warnings.push(...othersCanChange(full, stat));
  const mode = stat.mode & 0o777;
  if (!(mode & 0o022) && mode & 0o044) {
    warnings.push(
      `'${full}' is readable by other users (mode ${octal(mode)}) and holds users' emails; chmod 600 '${full}'`,
    );
  }
  return result(true, undefined, undefined, warnings);
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * Issue 20 L12: a database file another user owns (root aside) or others can write: either can
 * change who is admin, and what every command reads. Warned by every command that opens it.
 */
function othersCanChange(full: string, stat: import('node:fs').Stats): string[] {
  const warnings: string[] = [];
  const me = process.getuid?.();
  if (me !== undefined && stat.uid !== me && stat.uid !== 0) {
    warnings.push(
      `'${full}' belongs to another user (uid ${stat.uid}), who can change who is admin in it; if it is not meant to be shared, use a database of your own (--db), or make it yours (chown) and chmod 600 '${full}'`,
    );
  }
  const mode = stat.mode & 0o777;
  if (mode & 0o022) {
    warnings.push(
      `'${full}' is writable by other users (mode ${octal(mode)}): anyone here can change who is admin; chmod 600 '${full}'`,
    );
  }
  return warnings;
}

/**
 * The warnings of {@link othersCanChange} for the file at `path` (a link followed), for the
 * commands that open an existing database without judging its path as login does: users,
 * admin's reads, mint-token, verify-token. None when there is no such file.
 */
export function openedFileWarnings(path: string): string[] {
  if (path === ':memory:') return [];
  try {
    const stat = statSync(path);
    return stat.isFile() ? othersCanChange(resolve(path), stat) : [];
  } catch {
    return [];
  }
}

/** No file at `full`: can one be created in its folder? */
function absentIn(
  full: string,
  result: (exists: boolean, problem?: string, fix?: string) => DbPathJudgement,
): DbPathJudgement {
  const dir = dirname(full);
  const fix = 'pass --db <path of a regular file in a writable folder>';
  let folder: import('node:fs').Stats;
  try {
    folder = statSync(dir);
  } catch (error) {
    if (errno(error) === 'ENOTDIR')
      return result(false, `is under '${nearestFile(dir)}', which is not a folder`, fix);
    if (errno(error) === 'ENOENT')
      return result(false, `is in a folder that does not exist (${dir})`, `create it, or ${fix}`);
    return result(false, `is in a folder that cannot be examined (${dir}: ${errno(error)})`, fix);
  }
  if (!folder.isDirectory()) return result(false, `is under '${dir}', which is not a folder`, fix);
  // Tried for real: access(2) answers yes to root on /proc and on read-only mounts.
  try {
    closeSync(openSync(full, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600));
  } catch (error) {
    if (errno(error) === 'EEXIST') return result(true); // created meanwhile: judged on next use
    return result(
      false,
      `cannot be created: its folder '${dir}' does not take new files (${errno(error)})`,
      `fix the folder's permissions, or ${fix}`,
    );
  }
  try {
    unlinkSync(full);
  } catch {
    // It stays as an empty file of mode 0600, which the store would create anyway.
  }
  return result(false);
}

/** The first ancestor of `dir` that exists and is not a folder (for the message). */
function nearestFile(dir: string): string {
  for (let at = dir; at !== dirname(at); at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      // keep climbing
    }
  }
  return dir;
}

/**
 * For `login` and `admin`'s writes: the judgement's warnings, or a `db-unusable` error (exit 2)
 * naming the path and the fix, before anything is bound, opened in a browser, created or spent.
 * `after` ends the message: what was not done.
 */
export function requireUsableDb(
  path: string,
  after = ' (or --no-store). Nothing was opened or spent',
): string[] {
  const judged = judgeDbPath(path);
  if (judged.problem) {
    throw new CliError(
      'db-unusable',
      `the database '${judged.path}' ${judged.problem}; ${judged.fix ?? 'pass --db <another path>'}${after}`,
      { details: { path: judged.path } },
    );
  }
  return judged.warnings;
}
