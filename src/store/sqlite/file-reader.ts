/**
 * verify-token's one lookup read straight from the file's bytes, without SQLite: loading
 * better-sqlite3's addon, opening the file and parsing its schema cost ~3 ms of a run that
 * should cost little more than `node -e 0` (issue 19, item 4; bench/RESULTS.md). It reads the
 * SQLite file format (https://www.sqlite.org/fileformat2.html) only as far as that one query
 * needs (reader.ts, USER_SELECT): three B-tree searches by id and two by rowid.
 *
 * It answers only the plain case and says `null` ("ask SQLite") for anything else: a
 * pending WAL or journal, a schema other than this tool's (the table texts are compared with
 * CURRENT_SCHEMA), another text encoding, an odd record, a page out of place, a file that
 * changed while it was read. SQLite then answers, and words any error, as before. Nothing is
 * ever written or created (SQLite's own read-only open leaves -wal and -shm files behind).
 *
 * test/file-reader.test.ts compares its answers with SQLite's on generated files.
 */
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import type { StoredUser } from '../../muvee/model.js';
import { refuseForeignJournal } from './path-check.js';
import {
  compareBytes,
  compareFirst,
  decodeRecord,
  decodeValue,
  field,
  fields,
  isText,
  notPlain,
  rowidOf,
  sameText,
  u16,
  u32,
  varint,
  type Bytes,
  type Value,
} from './file-format.js';
import { toUser, type UserRow } from './rows.js';
import { CURRENT_SCHEMA, READ_AS_IS_FROM, SCHEMA_VERSION } from './schema.js';

export { openedFileWarnings } from './path-check.js';

/**
 * verify-token's lookup of one user in the file at `path` (which exists): read here when the
 * file is the plain case, else by SQLite (reader.ts, loaded only then; its errors are
 * `CliError`s, as userLookup's). Throws first, as SQLite's open does, for a planted journal.
 */
export function oneUserFinder(path: string): (id: string) => Promise<StoredUser | undefined> {
  refuseForeignJournal(path);
  return async (id) => {
    const direct = readUserRow(path, id);
    if (direct) return direct.row && toUser(direct.row);
    const { openReadOnlyDatabase, userFinder } = await import('./reader.js');
    const db = openReadOnlyDatabase(path);
    if (!db) return undefined;
    try {
      return userFinder(db, path)(id);
    } finally {
      db.close();
    }
  };
}

/** The objects the lookup reads, and the text each must have in `sqlite_schema`. */
const TABLES = ['users', 'platform_members', 'muvee_dingtalk_links'] as const;
const INDEXES = {
  users: 'sqlite_autoindex_users_1', // id TEXT PRIMARY KEY: the table's first constraint
  members: 'sqlite_autoindex_platform_members_1', // user_id TEXT PRIMARY KEY
  links: 'muvee_dingtalk_links_user_id', // (user_id, last_login_at)
} as const;
const WANTED: readonly string[] = [...TABLES, ...Object.values(INDEXES)];
const WANTED_LENGTHS = new Set(WANTED.map((name) => name.length));
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
 * does not answer for this file and SQLite must (reader.ts).
 */
export function readUserRow(path: string, id: string): { row: UserRow | undefined } | null {
  // A lone surrogate reaches SQLite as better-sqlite3 encodes it (not as Buffer.from does):
  // not this reader's business. (String#isWellFormed: ES2024, in V8 since Node 20.)
  if (!(id as unknown as { isWellFormed(): boolean }).isWellFormed()) return null;
  let file: FileReader | undefined;
  try {
    const before = sideFiles(path);
    file = new FileReader(path);
    const row = file.findUser(Buffer.from(id));
    // Nothing changed while it was read: no journal or WAL appeared, and the file is as it was
    // (a writer leaves it changed: FileReader#unchanged).
    if (sideFiles(path) !== before || !file.unchanged()) return null;
    return { row };
  } catch {
    // NotPlain, a file that cannot be read, or bytes this reader did not expect: SQLite reads
    // it instead, and says what is wrong with it if anything is.
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

const MAGIC = 'SQLite format 3\0';

/**
 * A file up to this size is read whole, in one call (and checked by reading it again): the
 * calls a first run pays least for (readFileSync is warm from loading the code caches; an
 * open/fstat/read/close first costs ~0.3 ms). Larger ones are read a page at a time.
 */
const READ_WHOLE_UP_TO = 256 * 1024;

class FileReader {
  private readonly pageSize: number;
  /** Bytes of each page B-trees may use (the page less its reserved bytes). */
  private readonly usable: number;
  private readonly pageCount: number;
  private readonly pages = new Map<number, Buffer>();
  /** The whole file (a small one), or the descriptor its pages are read from. */
  private readonly whole: Buffer | undefined;
  private readonly fd: number | undefined;
  private readonly stats: Stats;
  private readonly changes: number;

  constructor(private readonly path: string) {
    // statSync, readFileSync, openSync and readSync have run already (the code caches are read
    // with them): cheaper at a first run than fstatSync or Buffer.allocUnsafeSlow.
    this.stats = statSync(path);
    if (this.stats.size <= READ_WHOLE_UP_TO) this.whole = readFileSync(path);
    else this.fd = openSync(path, 'r');
    let header: ReturnType<FileReader['checkHeader']>;
    try {
      header = this.checkHeader();
    } catch (error) {
      this.close();
      throw error;
    }
    this.pageSize = header.pageSize;
    this.usable = header.usable;
    this.pageCount = this.stats.size / this.pageSize;
    this.changes = header.changes;
  }

  /** What the file's first 100 bytes say; NotPlain unless a plain file of this tool's schema. */
  private checkHeader() {
    const { size } = this.stats;
    if (this.whole && this.whole.length !== size) notPlain('changed since its stat');
    // Most files have 4096-byte pages: read as page 1 at once when it is so.
    const first = this.read(0, Math.min(4096, size));
    if (first.length < 100) notPlain('too short');
    for (let i = 0; i < MAGIC.length; i++)
      if (first[i] !== MAGIC.charCodeAt(i)) notPlain('not a SQLite file');
    const encoded = u16(first, 16);
    const pageSize = encoded === 1 ? 65536 : encoded;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) notPlain('page size');
    // File format versions (1 rollback, 2 WAL), payload fractions, schema format, UTF-8.
    if (first[18]! < 1 || first[18]! > 2 || first[19]! < 1 || first[19]! > 2)
      notPlain('format version');
    if (first[21] !== 64 || first[22] !== 32 || first[23] !== 32) notPlain('payload fractions');
    const format = u32(first, 44);
    if (format < 1 || format > 4) notPlain('schema format');
    if (u32(first, 56) !== 1) notPlain('text encoding');
    const version = u32(first, 60);
    if (version < READ_AS_IS_FROM || version > SCHEMA_VERSION) notPlain('schema version');
    const usable = pageSize - first[20]!;
    if (usable < 480) notPlain('reserved bytes');
    if (size % pageSize !== 0) notPlain('file size');
    if (first.length === pageSize) this.pages.set(1, first);
    return { pageSize, usable, changes: u32(first, 24) };
  }

  /**
   * The file is as it was when it was opened: read whole, the same bytes again (a read torn by
   * a writer differs from the next one); read by pages, the same size, times and change counter.
   */
  unchanged(): boolean {
    if (this.whole) return readFileSync(this.path).equals(this.whole);
    // The path's file (the one opened, unless it was replaced: then another ino).
    const now = statSync(this.path);
    const { stats } = this;
    return (
      now.size === stats.size &&
      now.mtimeMs === stats.mtimeMs &&
      now.ctimeMs === stats.ctimeMs &&
      now.ino === stats.ino &&
      u32(this.read(24, 4), 0) === this.changes
    );
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }

  findUser(id: Buffer): UserRow | undefined {
    const schema = this.schema();
    const users = this.indexMatches(schema.get(INDEXES.users)!, id);
    if (users.length === 0) return undefined;
    if (users.length > 1) notPlain('two users of one id');
    const user = this.tableRow(schema.get('users')!, rowidOf(users[0]!));
    if (user.length !== USER_COLUMNS || !sameText(user[0]!, id)) notPlain('users row');
    let memberRole: Value = null;
    let memberAuthorized: Value = null;
    const members = this.indexMatches(schema.get(INDEXES.members)!, id);
    if (members.length > 1) notPlain('two memberships of one user');
    if (members.length === 1) {
      const member = this.tableRow(schema.get('platform_members')!, rowidOf(members[0]!));
      if (member.length !== 4 || !sameText(member[0]!, id)) notPlain('platform_members row');
      memberRole = member[1]!;
      memberAuthorized = member[2]!;
    }

    // max(last_login_at) over the user's links: the index holds (user_id, last_login_at, rowid).
    let lastLogin: Bytes | null = null;
    for (const link of this.indexMatches(schema.get(INDEXES.links)!, id)) {
      const at = field(link, 1);
      if (at.type === 0) continue;
      if (!isText(at.type)) notPlain('a last login that is not text');
      const bytes = { buffer: link.buffer, start: at.start, end: at.end };
      if (lastLogin === null || compareBytes(bytes, lastLogin) > 0) lastLogin = bytes;
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
   * Root pages of the objects the lookup reads, once their `sql` is CURRENT_SCHEMA's. The scan
   * stops at the last one wanted: SQLite keeps names unique, and the triggers' long texts come
   * after the tables.
   */
  private schema(): Map<string, number> {
    const roots = new Map<string, number>();
    this.scanTable(1, (payload) => {
      // Columns type, name, tbl_name, rootpage, sql: the name read first (and decoded only
      // when its length is one wanted), the rest only for the objects wanted. (Indexes, not
      // destructuring: a first run is interpreted.)
      const name = fields(payload, 2)[1];
      if (!name || !isText(name.type) || !WANTED_LENGTHS.has(name.end - name.start)) return false;
      const text = payload.buffer.toString('utf8', name.start, name.end);
      if (!WANTED.includes(text)) return false;
      const at = fields(payload);
      if (at.length !== 5) notPlain(`${text}'s columns`);
      const value = (i: number) =>
        decodeValue(payload.buffer, at[i]!.type, at[i]!.start, at[i]!.end);
      if (value(0) !== (isTable(text) ? 'table' : 'index')) notPlain(`${text}'s type`);
      if (value(4) !== (text.startsWith('sqlite_autoindex_') ? null : expectedSql(text)))
        notPlain(`${text}'s sql`);
      const rootpage = value(3);
      if (typeof rootpage !== 'number' || rootpage < 2) notPlain(`${text}'s root page`);
      roots.set(text, rootpage as number);
      return roots.size === WANTED.length;
    });
    if (roots.size !== WANTED.length) notPlain('not every table');
    return roots;
  }

  private read(position: number, length: number): Buffer {
    if (this.whole) {
      if (position + length > this.whole.length) notPlain('short read');
      return this.whole.subarray(position, position + length);
    }
    const buffer = Buffer.allocUnsafe(length);
    if (readSync(this.fd!, buffer, 0, length, position) !== length) notPlain('short read');
    return buffer;
  }

  private page(number: number): Buffer {
    if (!Number.isInteger(number) || number < 1 || number > this.pageCount) notPlain('page number');
    let page = this.pages.get(number);
    if (!page) {
      if (this.pages.size > 4096) notPlain('too many pages');
      page = this.read((number - 1) * this.pageSize, this.pageSize);
      this.pages.set(number, page);
    }
    return page;
  }

  /**
   * A B-tree page: its type, its number of cells and the offset of each (read when asked: a
   * search looks at a few of a page's hundreds), its right-most child (interior pages).
   */
  private node(number: number, depth: number) {
    if (depth > 40) notPlain('B-tree too deep');
    const page = this.page(number);
    const at = number === 1 ? 100 : 0;
    const type = page[at]!;
    const interior = type === 0x02 || type === 0x05;
    if (!interior && type !== 0x0a && type !== 0x0d) notPlain('page type');
    const count = u16(page, at + 3);
    const pointers = at + (interior ? 12 : 8);
    const contentFrom = pointers + 2 * count;
    if (contentFrom > this.usable) notPlain('cell count');
    const cell = (i: number) => {
      const offset = u16(page, pointers + 2 * i);
      if (offset < contentFrom || offset >= this.usable) notPlain('cell offset');
      return offset;
    };
    return { page, type, count, cell, right: interior ? u32(page, at + 8) : 0 };
  }

  // Loops here index their arrays: a first run is interpreted, where for-of's iterator costs.

  /** The rows of a table B-tree in rowid order, until `each` says it has what it wants. */
  private scanTable(root: number, each: (payload: Bytes) => boolean, depth = 0): boolean {
    const { page, type, count, cell, right } = this.node(root, depth);
    if (type === 0x05) {
      for (let i = 0; i < count; i++)
        if (this.scanTable(u32(page, cell(i)), each, depth + 1)) return true;
      return this.scanTable(right, each, depth + 1);
    }
    if (type !== 0x0d) notPlain('not a table B-tree');
    for (let i = 0; i < count; i++)
      if (each(this.tableLeafCell(page, cell(i)).payload)) return true;
    return false;
  }

  /** The record of rowid `rowid` in a table B-tree (cells searched by halves, as SQLite does). */
  private tableRow(root: number, rowid: number): Value[] {
    for (let number = root, depth = 0; ; depth++) {
      const { page, type, count, cell, right } = this.node(number, depth);
      if (type === 0x05) {
        // The first cell whose key is at least rowid holds it on its left.
        const i = firstAtLeast(count, (j) => this.interiorKey(page, cell(j)) >= rowid);
        number = i < count ? u32(page, cell(i)) : right;
      } else if (type === 0x0d) {
        const i = firstAtLeast(count, (j) => this.leafRowid(page, cell(j)) >= rowid);
        const found = i < count && this.tableLeafCell(page, cell(i));
        if (found && found.rowid === rowid) return decodeRecord(found.payload);
        return notPlain('an index entry without its row');
      } else return notPlain('not a table B-tree');
    }
  }

  private interiorKey(page: Buffer, cell: number): number {
    return varint(page, cell + 4, this.usable).value;
  }

  private leafRowid(page: Buffer, cell: number): number {
    return varint(page, varint(page, cell, this.usable).end, this.usable).value;
  }

  private tableLeafCell(page: Buffer, cell: number): { rowid: number; payload: Bytes } {
    const size = varint(page, cell, this.usable);
    const rowid = varint(page, size.end, this.usable);
    return { rowid: rowid.value, payload: this.payload(page, rowid.end, size.value, true) };
  }

  /**
   * The records of an index B-tree whose first field is the text `key` (BINARY collation),
   * in index order. An interior cell of an index is an entry too; a child on its left holds
   * entries up to it. Each page's cells before the first at least `key` are skipped by halves.
   */
  private indexMatches(root: number, key: Buffer, found: Bytes[] = [], depth = 0): Bytes[] {
    const { page, type, count, cell, right } = this.node(root, depth);
    const interior = type === 0x02;
    if (!interior && type !== 0x0a) notPlain('not an index B-tree');
    const record = (i: number) => {
      const start = interior ? cell(i) + 4 : cell(i);
      const size = varint(page, start, this.usable);
      return this.payload(page, size.end, size.value, false);
    };
    for (let i = firstAtLeast(count, (j) => compareFirst(record(j), key) >= 0); ; i++) {
      if (i === count) {
        if (interior) this.indexMatches(right, key, found, depth + 1);
        return found;
      }
      const entry = record(i);
      const order = compareFirst(entry, key);
      if (interior && order >= 0) this.indexMatches(u32(page, cell(i)), key, found, depth + 1);
      if (order === 0) found.push(entry);
      if (order > 0) return found;
    }
  }

  /** A cell's payload of `size` bytes from `start`, its overflow pages followed. */
  private payload(page: Buffer, start: number, size: number, tableLeaf: boolean): Bytes {
    const u = this.usable;
    const most = tableLeaf ? u - 35 : Math.floor(((u - 12) * 64) / 255) - 23;
    let local = size;
    if (size > most) {
      const least = Math.floor(((u - 12) * 32) / 255) - 23;
      const k = least + ((size - least) % (u - 4));
      local = k <= most ? k : least;
    }
    if (start + local + (local < size ? 4 : 0) > u) notPlain('cell beyond the page');
    if (local === size) return { buffer: page, start, end: start + size };
    const whole = Buffer.allocUnsafeSlow(size);
    page.copy(whole, 0, start, start + local);
    let have = local;
    let next = u32(page, start + local);
    for (let pages = 0; have < size; pages++) {
      if (pages > this.pageCount) notPlain('overflow chain loops');
      const overflow = this.page(next);
      const take = Math.min(u - 4, size - have);
      overflow.copy(whole, have, 4, 4 + take);
      have += take;
      next = u32(overflow, 0);
    }
    return { buffer: whole, start: 0, end: size };
  }
}

/** The first of `count` sorted cells for which `atLeast` holds (`count` when none does). */
function firstAtLeast(count: number, atLeast: (index: number) => boolean): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (atLeast(middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}
