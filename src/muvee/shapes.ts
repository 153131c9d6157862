/**
 * Shapes of muvee's identifiers, each rule named once, pure and dependency-free (so `users`
 * need not load jsonwebtoken just to tell an id from an email).
 *
 * UUIDs: `isUuid` is the canonical form muvee mints; `goUuid` is what muvee's `uuid.Parse`
 * accepts in a token's uid; `pgUuid` is what PostgreSQL's uuid type reads (a user id given on
 * the command line). Emails: `isEmail` is the loose shape muvee's data has (one `@`, no spaces:
 * muvee itself checks nothing); `isListedEmail` is what an ADMIN_EMAILS item must look like to
 * be a real address (a dotted domain, no comma).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/i;
const HEX = /^[0-9a-fA-F]{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const LISTED_EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** The canonical 8-4-4-4-12 form (either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

const canonical = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/** google/uuid's Parse on the string's UTF-8 bytes: the canonical form, or why not. */
export function goUuidParse(value: string): { uuid: string } | { error: string } {
  let bytes = Buffer.from(value, 'utf8').toString('latin1');
  switch (bytes.length) {
    case 36:
      break;
    case 45:
      if (bytes.slice(0, 9).toLowerCase() !== 'urn:uuid:')
        return { error: `invalid urn prefix: ${JSON.stringify(bytes.slice(0, 9))}` };
      bytes = bytes.slice(9);
      break;
    case 38:
      // Any first and last byte: muvee's uuid.Parse does not look at them.
      bytes = bytes.slice(1);
      break;
    case 32: {
      const pairs = bytes.match(/../g)!;
      if (!pairs.every((p) => HEX.test(p))) return { error: 'invalid UUID format' };
      return { uuid: canonical(bytes.toLowerCase()) };
    }
    default:
      return { error: `invalid UUID length: ${bytes.length}` };
  }
  if (bytes[8] !== '-' || bytes[13] !== '-' || bytes[18] !== '-' || bytes[23] !== '-')
    return { error: 'invalid UUID format' };
  const hex = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]
    .map((x) => bytes.slice(x, x + 2))
    .join('');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return { error: 'invalid UUID format' };
  return { uuid: canonical(hex.toLowerCase()) };
}

/** Pure: muvee's uuid.Parse as a value: the canonical form, or undefined. */
export function goUuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // The common case, as muvee mints them: already canonical.
  if (CANONICAL_UUID.test(value)) return value;
  const parsed = goUuidParse(value);
  return 'uuid' in parsed ? parsed.uuid : undefined;
}

/**
 * Pure: a user id as PostgreSQL's uuid type reads it (hyphens anywhere, braces, `urn:uuid:` as
 * muvee's uid parsing accepts), canonical lower case; undefined when it is not one.
 */
export function pgUuid(text: string): string | undefined {
  const hex = text
    .trim()
    .replace(/^urn:uuid:/i, '')
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/-/g, '');
  return HEX32.test(hex) ? canonical(hex.toLowerCase()) : undefined;
}

/** One `@` with no spaces on either side: the loose shape of an email in muvee's data. */
export function isEmail(value: unknown): value is string {
  return typeof value === 'string' && EMAIL.test(value);
}

/** A real address for a configuration list (ADMIN_EMAILS): a dotted domain, no comma. */
export function isListedEmail(value: string): boolean {
  return LISTED_EMAIL.test(value);
}
