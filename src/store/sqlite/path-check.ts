/**
 * Can the SQLite file be used? The one judgement of the DB path, for `check-config` (a check
 * line) and `login` (before the listener binds and the browser opens, so the single-use code
 * is never spent on a login that cannot store its user).
 *
 * An existing path must be a regular file (or a link to one) that opens for writing; an
 * absent one must be creatable: its folder exists, is a folder, and a file can be made there
 * (tried for real, `O_CREAT | O_EXCL` then removed: `access()` says yes to root on /proc).
 * Warnings: a file other users can read (it holds users' emails) or write, a symbolic link.
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
 * database's owner and this user, or writable by others. Undefined when there is none.
 */
export function foreignJournal(path: string): string | undefined {
  if (path === ':memory:') return undefined;
  let owner: number;
  try {
    owner = statSync(path).uid;
  } catch {
    return undefined;
  }
  const me = process.getuid?.();
  for (const suffix of ['-wal', '-shm', '-journal']) {
    let stat: import('node:fs').Stats;
    try {
      stat = lstatSync(`${path}${suffix}`);
    } catch {
      continue;
    }
    const file = `${path}${suffix}`;
    if (!stat.isFile())
      return `'${file}' beside it is ${stat.isSymbolicLink() ? 'a symbolic link' : kind(stat)}, not SQLite's own file`;
    if (stat.uid !== owner && stat.uid !== me)
      return `'${file}' beside it belongs to another user (uid ${stat.uid}), who could make it replace the database's content`;
    if (stat.mode & 0o022)
      return `'${file}' beside it is writable by other users (mode 0${(stat.mode & 0o777).toString(8)}), who could make it replace the database's content`;
  }
  return undefined;
}

/** The `db-unusable` error for {@link foreignJournal}'s finding. */
export function foreignJournalError(path: string, problem: string): CliError {
  return new CliError(
    'db-unusable',
    `the database '${path}' is refused: ${problem}; if you did not put it there, remove it (as its owner) and keep the database in a folder only you can write (not a shared /tmp)`,
    { details: { path } },
  );
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
  const mode = stat.mode & 0o777;
  const octal = `0${mode.toString(8).padStart(3, '0')}`;
  if (mode & 0o022) {
    warnings.push(
      `'${full}' is writable by other users (mode ${octal}): anyone here can change who is admin; chmod 600 '${full}'`,
    );
  } else if (mode & 0o044) {
    warnings.push(
      `'${full}' is readable by other users (mode ${octal}) and holds users' emails; chmod 600 '${full}'`,
    );
  }
  return result(true, undefined, undefined, warnings);
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
 * For `login`: the judgement's warnings, or a `db-unusable` error (exit 2) naming the path and
 * the fix, before anything is bound, opened in a browser or spent.
 */
export function requireUsableDb(path: string): string[] {
  const judged = judgeDbPath(path);
  if (judged.problem) {
    throw new CliError(
      'db-unusable',
      `the database '${judged.path}' ${judged.problem}; ${judged.fix ?? 'pass --db <another path>'} (or --no-store). Nothing was opened or spent`,
      { details: { path: judged.path } },
    );
  }
  return judged.warnings;
}
