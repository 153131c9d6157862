/**
 * verify-token's one lookup read straight from the file's bytes, without SQLite: loading
 * better-sqlite3's addon, opening the file and parsing its schema cost ~3 ms of a run that
 * should cost little more than `node -e 0` (issue 19, item 4; bench/RESULTS.md). It reads the
 * SQLite file format (https://www.sqlite.org/fileformat2.html) only as far as that one query
 * needs (reader.ts, USER_SELECT): three B-tree searches by id and two by rowid.
 *
 * It answers only the plain case and says `null` ("ask SQLite") for anything else: a
 * pending WAL or journal, a schema other than this tool's (every `sqlite_schema` text is
 * compared with CURRENT_SCHEMA), another text encoding, an odd record, a page out of place or
 * seen twice, a file that changed while it was read. SQLite then answers, and words any error,
 * as before. Nothing is ever written or created (SQLite's own read-only open leaves -wal and
 * -shm files behind).
 *
 * Without SQLite's locks, a change while reading is caught by reading again: the side files,
 * then the bytes read (the whole file, or each page read, with the stat). A writer changes the
 * file only while its WAL or journal holds content, so what it does between the two looks is
 * seen in the second. Left: a writer with `journal_mode=OFF` or `MEMORY` (no side file), which
 * no tool of this project's uses.
 *
 * test/file-reader.test.ts compares its answers with SQLite's on generated and damaged files.
 */
import { statSync } from 'node:fs';
import type { StoredUser } from '../../muvee/model.js';
import { SqliteFile } from './file-btree.js';
import {
  decodeValue,
  field,
  fields,
  isNotPlain,
  isText,
  notPlain,
  rowidOf,
  sameText,
  type Bytes,
  type Value,
} from './file-format.js';
import { toUser, type UserRow } from './rows.js';
import { CURRENT_SCHEMA, READ_AS_IS_FROM, SCHEMA_VERSION } from './schema.js';

export { openedFileWarnings, refuseForeignJournal } from './path-check.js';

/**
 * verify-token's user `id` in the file at `path`, as reader.ts's userFinder gives it, or `null`
 * when the file is not the plain case and SQLite must read it (store/lookup.ts does).
 */
export function readUser(path: string, id: string): { user: StoredUser | undefined } | null {
  const direct = readUserRow(path, id);
  return direct && { user: direct.row && toUser(direct.row) };
}

/** The objects the lookup reads, and the text each must have in `sqlite_schema`. */
const TABLES = ['users', 'platform_members', 'muvee_dingtalk_links'] as const;
const INDEXES = {
  users: 'sqlite_autoindex_users_1', // id TEXT PRIMARY KEY: the table's first constraint
  members: 'sqlite_autoindex_platform_members_1', // user_id TEXT PRIMARY KEY
  links: 'muvee_dingtalk_links_user_id', // (user_id, last_login_at)
} as const;
const WANTED: readonly string[] = [...TABLES, ...Object.values(INDEXES)];
const isTable = (name: string) => (TABLES as readonly string[]).includes(name);
/** users' columns (u.* of USER_SELECT), as CURRENT_SCHEMA has them: findUser names them in order. */
const USER_COLUMNS = 9;

/** The `sql` of each named table or index as CURRENT_SCHEMA creates it (no final `;`). */
function expectedSql(name: string): string | undefined {
  const start = CURRENT_SCHEMA.indexOf(`\nCREATE ${isTable(name) ? 'TABLE' : 'INDEX'} ${name} `);
  if (start < 0) return undefined;
  return CURRENT_SCHEMA.slice(start + 1, CURRENT_SCHEMA.indexOf(';\n', start));
}

/**
 * The row USER_SELECT gives for `id` (undefined: no such user), or `null` when this reader
 * does not answer for this file and SQLite must (reader.ts). `strict` (the tests) lets an
 * error other than "not the plain case" or the file system's through: a bug of this reader's.
 */
export function readUserRow(
  path: string,
  id: string,
  options: { strict?: boolean } = {},
): { row: UserRow | undefined } | null {
  // A lone surrogate reaches SQLite as better-sqlite3 encodes it (not as Buffer.from does):
  // not this reader's business. (String#isWellFormed: ES2024, in V8 since Node 20.)
  if (!(id as unknown as { isWellFormed(): boolean }).isWellFormed()) return null;
  let file: SqliteFile | undefined;
  try {
    const before = sideFiles(path);
    file = new SqliteFile(path);
    const row = findUser(file, Buffer.from(id));
    // Nothing changed while it was read: no journal or WAL appeared, and the file's bytes
    // that were read are read again the same (SqliteFile#unchanged).
    if (sideFiles(path) !== before || !file.unchanged()) return null;
    return { row };
  } catch (error) {
    // NotPlain, a file that cannot be read, or bytes this reader did not expect: SQLite reads
    // it instead, and says what is wrong with it if anything is.
    if (options.strict && !isNotPlain(error) && (error as { code?: unknown }).code === undefined)
      throw error;
    return null;
  } finally {
    file?.close();
  }
}

/** The state of the journal and WAL beside the file; NotPlain when either holds anything. */
function sideFiles(path: string): string {
  let state = '';
  for (const suffix of ['-wal', '-journal']) {
    const stats = statSync(`${path}${suffix}`, { throwIfNoEntry: false });
    if (stats && stats.size > 0) notPlain(`${suffix} is not empty`);
    state += stats ? `${stats.ino}:${stats.mtimeMs};` : '-;';
  }
  return state;
}

/** The row USER_SELECT gives for `id` (undefined: no such user) in `file`. */
function findUser(file: SqliteFile, id: Buffer): UserRow | undefined {
  if (file.userVersion < READ_AS_IS_FROM || file.userVersion > SCHEMA_VERSION)
    notPlain('schema version');
  const schema = schemaRoots(file);
  const users = file.indexMatches(schema.get(INDEXES.users)!, id);
  if (users.length === 0) return undefined;
  if (users.length > 1) notPlain('two users of one id');
  const user = file.tableRow(schema.get('users')!, rowidOf(users[0]!));
  if (user.length !== USER_COLUMNS || !sameText(user[0]!, id)) notPlain('users row');
  let memberRole: Value = null;
  let memberAuthorized: Value = null;
  const members = file.indexMatches(schema.get(INDEXES.members)!, id);
  if (members.length > 1) notPlain('two memberships of one user');
  if (members.length === 1) {
    const member = file.tableRow(schema.get('platform_members')!, rowidOf(members[0]!));
    if (member.length !== 4 || !sameText(member[0]!, id)) notPlain('platform_members row');
    memberRole = member[1]!;
    memberAuthorized = member[2]!;
  }

  // max(last_login_at) over the user's links: the index holds (user_id, last_login_at, rowid).
  let lastLogin: Bytes | null = null;
  for (const link of file.indexMatches(schema.get(INDEXES.links)!, id)) {
    const at = field(link, 1);
    if (at.type === 0) continue;
    if (!isText(at.type)) notPlain('a last login that is not text');
    const bytes = { buffer: link.buffer, start: at.start, end: at.end };
    // max() in the column's BINARY collation (Buffer#compare's order).
    if (
      lastLogin === null ||
      bytes.buffer.compare(
        lastLogin.buffer,
        lastLogin.start,
        lastLogin.end,
        bytes.start,
        bytes.end,
      ) > 0
    )
      lastLogin = bytes;
  }
  return {
    id: user[0] as string,
    email: user[1] as string,
    name: user[2] as string,
    avatar_url: user[3] as string,
    role: user[4] as UserRow['role'],
    name_overridden: user[5] as number,
    avatar_overridden: user[6] as number,
    created_at: user[7] as string,
    authorized: user[8] as number,
    member_role: memberRole as UserRow['member_role'],
    member_authorized: memberAuthorized as number | null,
    last_login_at: lastLogin && lastLogin.buffer.toString('utf8', lastLogin.start, lastLogin.end),
  };
}

/**
 * Root pages of the objects the lookup reads. Every row of `sqlite_schema` is read, as SQLite
 * parses them all at the first statement: each must be one of CURRENT_SCHEMA's statements
 * (or an index SQLite made for a constraint, with no text), and the objects read must have
 * their own. Anything else (an object of someone's own, a damaged text) is SQLite's to read.
 */
function schemaRoots(file: SqliteFile): Map<string, number> {
  const roots = new Map<string, number>();
  file.scanTable(1, (payload) => {
    // Columns type, name, tbl_name, rootpage, sql. (Indexes, not destructuring: a first run
    // is interpreted.)
    const at = fields(payload);
    if (at.length !== 5) notPlain('a sqlite_schema row');
    const value = (i: number) => decodeValue(payload.buffer, at[i]!.type, at[i]!.start, at[i]!.end);
    const name = value(1);
    const sql = value(4);
    if (typeof name !== 'string') return notPlain('a name that is not text');
    if (sql === null) {
      if (value(0) !== 'index' || !name.startsWith('sqlite_autoindex_'))
        notPlain(`${name} has no sql`);
    } else if (typeof sql !== 'string' || !CURRENT_SCHEMA.includes(`\n${sql};\n`))
      notPlain(`${name}'s sql is not this tool's`);
    if (!WANTED.includes(name)) return false;
    if (value(0) !== (isTable(name) ? 'table' : 'index')) notPlain(`${name}'s type`);
    if (sql !== (name.startsWith('sqlite_autoindex_') ? null : expectedSql(name)))
      notPlain(`${name}'s sql`);
    const rootpage = value(3);
    if (typeof rootpage !== 'number' || rootpage < 2) notPlain(`${name}'s root page`);
    roots.set(name, rootpage as number);
    return false;
  });
  if (roots.size !== WANTED.length) notPlain('not every table');
  return roots;
}
