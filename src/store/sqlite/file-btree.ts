/**
 * A SQLite file's B-trees read from its bytes (https://www.sqlite.org/fileformat2.html,
 * "B-tree Pages"), for store/sqlite/file-reader.ts: the header checked, pages read and kept,
 * table rows by rowid, index entries by their first field, overflow chains followed. Anything
 * it does not expect is NotPlain (file-format.ts): the caller leaves the file to SQLite.
 */
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import {
  compareFirst,
  decodeRecord,
  notPlain,
  u16,
  u32,
  varint,
  type Bytes,
  type Value,
} from './file-format.js';

const MAGIC = 'SQLite format 3\0';
/**
 * A lookup reads ~20 pages (more for a long value's overflow chain); each is kept, to be read
 * again after (unchanged), up to this many bytes. A search never reads one twice (`seen`),
 * nor deeper than SQLite.
 */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
const MAX_DEPTH = 20; // SQLite's BTCURSOR_MAX_DEPTH: a deeper tree is a damaged one

/**
 * A file up to this size is read whole, in one call (and checked by reading it again): the
 * calls a first run pays least for (readFileSync is warm from loading the code caches; an
 * open/fstat/read/close first costs ~0.3 ms). Larger ones are read a page at a time.
 */
const READ_WHOLE_UP_TO = 256 * 1024;

/** A file open for reading its B-trees (`close()` when done); NotPlain when it is not plain. */
export class SqliteFile {
  private readonly pageSize: number;
  /** Bytes of each page B-trees may use (the page less its reserved bytes). */
  private readonly usable: number;
  private readonly pageCount: number;
  private readonly pages = new Map<number, Buffer>();
  /** The whole file (a small one), or the descriptor its pages are read from. */
  private readonly whole: Buffer | undefined;
  private readonly fd: number | undefined;
  private readonly stats: Stats;
  /** `PRAGMA user_version`: the schema version of this tool's that made the file. */
  readonly userVersion: number;

  constructor(private readonly path: string) {
    // statSync, readFileSync, openSync and readSync have run already (the code caches are read
    // with them): cheaper at a first run than fstatSync or Buffer.allocUnsafeSlow.
    this.stats = statSync(path);
    // A device or a pipe is no SQLite file of this tool's (/dev/zero would be read forever).
    if (!this.stats.isFile()) notPlain('not a regular file');
    if (this.stats.size <= READ_WHOLE_UP_TO) this.whole = readFileSync(path);
    else this.fd = openSync(path, 'r');
    let header: ReturnType<SqliteFile['checkHeader']>;
    try {
      header = this.checkHeader();
    } catch (error) {
      this.close();
      throw error;
    }
    this.pageSize = header.pageSize;
    this.usable = header.usable;
    this.userVersion = header.userVersion;
    this.pageCount = this.stats.size / this.pageSize;
  }

  /** What the file's first 100 bytes say; NotPlain unless a plain UTF-8 SQLite file. */
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
    const usable = pageSize - first[20]!;
    if (usable < 480) notPlain('reserved bytes');
    if (size % pageSize !== 0) notPlain('file size');
    // The header's page count, when valid (its version number is the change counter's), is the
    // one SQLite goes by: a file of another length is not the plain case.
    if (u32(first, 92) === u32(first, 24) && u32(first, 28) !== size / pageSize)
      notPlain('page count');
    if (first.length === pageSize) this.pages.set(1, first);
    return { pageSize, usable, userVersion: u32(first, 60) };
  }

  /**
   * The file is as it was when it was opened. Read whole: the same bytes again (a read torn by
   * a writer differs from the next one). Read by pages: the same stat, and every page read
   * (page 1, with its change counter, among them) the same again.
   */
  unchanged(): boolean {
    if (this.whole) return readFileSync(this.path).equals(this.whole);
    const now = statSync(this.path);
    const { stats } = this;
    if (
      now.size !== stats.size ||
      now.mtimeMs !== stats.mtimeMs ||
      now.ctimeMs !== stats.ctimeMs ||
      now.ino !== stats.ino
    )
      return false;
    for (const [number, page] of this.pages)
      if (!this.read((number - 1) * this.pageSize, this.pageSize).equals(page)) return false;
    return true;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
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
      if ((this.pages.size + 1) * this.pageSize > MAX_KEPT_BYTES) notPlain('too many pages');
      page = this.read((number - 1) * this.pageSize, this.pageSize);
      this.pages.set(number, page);
    }
    return page;
  }

  /**
   * A B-tree page: its type, its number of cells and the offset of each (read when asked: a
   * search looks at a few of a page's hundreds), its right-most child (interior pages).
   */
  private node(number: number, depth: number, seen: Set<number>) {
    if (depth >= MAX_DEPTH) notPlain('B-tree too deep');
    if (seen.has(number)) notPlain('a page twice in one search');
    seen.add(number);
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

  /** The rows of a table B-tree in rowid order, until `each` says it has what it wants (true). */
  scanTable(
    root: number,
    each: (payload: Bytes) => boolean,
    depth = 0,
    seen = new Set<number>(),
  ): boolean {
    const { page, type, count, cell, right } = this.node(root, depth, seen);
    if (type === 0x05) {
      for (let i = 0; i < count; i++)
        if (this.scanTable(u32(page, cell(i)), each, depth + 1, seen)) return true;
      return this.scanTable(right, each, depth + 1, seen);
    }
    if (type !== 0x0d) notPlain('not a table B-tree');
    for (let i = 0; i < count; i++)
      if (each(this.tableLeafCell(page, cell(i)).payload)) return true;
    return false;
  }

  /** The record of rowid `rowid` in a table B-tree (cells searched by halves, as SQLite does). */
  tableRow(root: number, rowid: number): Value[] {
    const seen = new Set<number>();
    for (let number = root, depth = 0; ; depth++) {
      const { page, type, count, cell, right } = this.node(number, depth, seen);
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
  indexMatches(
    root: number,
    key: Buffer,
    found: Bytes[] = [],
    depth = 0,
    seen = new Set<number>(),
  ): Bytes[] {
    const { page, type, count, cell, right } = this.node(root, depth, seen);
    const interior = type === 0x02;
    if (!interior && type !== 0x0a) notPlain('not an index B-tree');
    const record = (i: number) => {
      const start = interior ? cell(i) + 4 : cell(i);
      const size = varint(page, start, this.usable);
      return this.payload(page, size.end, size.value, false);
    };
    for (let i = firstAtLeast(count, (j) => compareFirst(record(j), key) >= 0); ; i++) {
      if (i === count) {
        if (interior) this.indexMatches(right, key, found, depth + 1, seen);
        return found;
      }
      const entry = record(i);
      const order = compareFirst(entry, key);
      if (interior && order >= 0)
        this.indexMatches(u32(page, cell(i)), key, found, depth + 1, seen);
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
    if (size - local > this.pageCount * (u - 4)) notPlain('payload beyond the file');
    const whole = Buffer.allocUnsafe(size);
    page.copy(whole, 0, start, start + local);
    let have = local;
    let next = u32(page, start + local);
    for (let pages = 0; have < size; pages++) {
      if (pages > this.pageCount) notPlain('overflow chain loops');
      if (next < 2) notPlain('overflow page');
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
