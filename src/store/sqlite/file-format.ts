/**
 * The SQLite file format's records and numbers, as store/sqlite/file-reader.ts reads them
 * (https://www.sqlite.org/fileformat2.html, "Record Format" and "B-tree Pages"): varints, serial
 * types, values as better-sqlite3 gives them, and SQLite's BINARY order of text.
 */

/** Why the file is not read here (caught: SQLite answers). */
class NotPlain extends Error {}
export const notPlain = (why: string): never => {
  throw new NotPlain(why);
};
export const isNotPlain = (error: unknown): boolean => error instanceof NotPlain;

/** A record's value as better-sqlite3 gives it (no safe integers). */
export type Value = null | number | string | Buffer;

/** Bytes `start` to `end` of `buffer`: a cell's payload, a record (no copy when it fits a page). */
export interface Bytes {
  buffer: Buffer;
  start: number;
  end: number;
}

/** Big-endian unsigned integers of 2 and 4 bytes (by hand: cheaper than Buffer's methods at a first run). */
export const u16 = (b: Buffer, at: number) => (b[at]! << 8) | b[at + 1]!;
export const u32 = (b: Buffer, at: number) =>
  ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);

/**
 * A varint at `at` (1–9 bytes, big-endian, 7 bits a byte but all 8 of the ninth), read before
 * `limit`. Values past 2^53 (negative rowids among them) are NotPlain: no rowid of this tool's
 * is near them.
 */
export function varint(buffer: Buffer, at: number, limit: number): { value: number; end: number } {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= limit) notPlain('varint beyond its bytes');
    const byte = buffer[at + i]!;
    if (i === 8) {
      value = value * 256 + byte;
    } else {
      value = value * 128 + (byte & 0x7f);
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) notPlain('varint');
        return { value, end: at + i + 1 };
      }
    }
  }
  return notPlain('varint');
}

/** Serial type: 0 NULL, 1–6 integers, 7 real, 8/9 the integers 0/1, even ≥ 12 blob, odd ≥ 13 text. */
export const isText = (type: number) => type >= 13 && type % 2 === 1;
const INT_BYTES = [0, 1, 2, 3, 4, 6, 8];
function bodySize(type: number): number {
  if (type <= 6) return INT_BYTES[type]!;
  if (type === 7) return 8;
  if (type === 8 || type === 9) return 0;
  if (type >= 12) return (type - 12) >> 1;
  return notPlain('serial type');
}

export interface Field {
  type: number;
  start: number;
  end: number;
}

/** The first `count` fields of a record (all of them by default): serial type, where the bytes are. */
export function fields(record: Bytes, count = Infinity): Field[] {
  const { buffer, start: recordStart, end: recordEnd } = record;
  const header = varint(buffer, recordStart, recordEnd);
  const headerEnd = recordStart + header.value;
  if (headerEnd > recordEnd || header.end > headerEnd) notPlain('record header');
  const found: Field[] = [];
  let start = headerEnd;
  for (let at = header.end; at < headerEnd && found.length < count;) {
    const type = varint(buffer, at, headerEnd);
    at = type.end;
    const end = start + bodySize(type.value);
    if (end > recordEnd) notPlain('record body');
    found.push({ type: type.value, start, end });
    start = end;
  }
  if (count === Infinity && start !== recordEnd) notPlain('record length');
  return found;
}

/** Field `index` of a record. */
export function field(record: Bytes, index: number): Field {
  return fields(record, index + 1)[index] ?? notPlain('no such field');
}

/** Every field of a record, as better-sqlite3 gives it. */
export function decodeRecord(record: Bytes): Value[] {
  return fields(record).map(({ type, start, end }) => decodeValue(record.buffer, type, start, end));
}

export function decodeValue(buffer: Buffer, type: number, start: number, end: number): Value {
  switch (type) {
    case 0:
      return null;
    case 7: {
      // SQLite reads a stored NaN (only damage makes one: it stores NaN as NULL) as NULL.
      const real = buffer.readDoubleBE(start);
      return Number.isNaN(real) ? null : real;
    }
    case 8:
      return 0;
    case 9:
      return 1;
    case 6:
      return Number(buffer.readBigInt64BE(start));
    default:
      if (type <= 6) return buffer.readIntBE(start, end - start);
      if (isText(type)) return buffer.toString('utf8', start, end);
      return Buffer.from(buffer.subarray(start, end));
  }
}

/** The order of a record's first field against the text `key`: NULL and numbers < text < blob. */
export function compareFirst(record: Bytes, key: Buffer): number {
  // The first field read directly (no list of fields): this runs for every cell a search
  // looks at, on a first run interpreted.
  const { buffer, start: recordStart, end: recordEnd } = record;
  const header = varint(buffer, recordStart, recordEnd);
  const headerEnd = recordStart + header.value;
  if (headerEnd > recordEnd || header.end >= headerEnd) notPlain('record header');
  const type = varint(buffer, header.end, headerEnd).value;
  if (type === 10 || type === 11) notPlain('serial type');
  if (!isText(type)) return type >= 12 ? 1 : -1;
  const end = headerEnd + bodySize(type);
  if (end > recordEnd) notPlain('record body');
  // SQLite's BINARY collation: memcmp, then the shorter first (Buffer#compare's order).
  return buffer.compare(key, 0, key.length, headerEnd, end);
}

export function sameText(value: Value, key: Buffer): boolean {
  return typeof value === 'string' && Buffer.from(value).equals(key);
}

/** The rowid that ends an index record: an integer (serial types 1–6, 8, 9), as SQLite requires. */
export function rowidOf(record: Bytes): number {
  const all = fields(record);
  const last = all[all.length - 1];
  if (!last || last.type > 9 || last.type === 0 || last.type === 7) notPlain('index rowid');
  const rowid = decodeValue(record.buffer, last!.type, last!.start, last!.end);
  if (typeof rowid !== 'number' || !Number.isSafeInteger(rowid)) notPlain('index rowid');
  return rowid as number;
}
