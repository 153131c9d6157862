/**
 * `users export --sql`: the store's rows of muvee's tables as INSERT statements that muvee's
 * PostgreSQL accepts as they are (shared/muvee-server.md §3), in one transaction: a conflict
 * with a row muvee already has stops the whole import instead of mixing the two.
 *
 * Safe whatever the importing session's settings are (issue 20 H2/L5/L6): the script sets
 * `client_encoding` to UTF8 and `standard_conforming_strings` on itself, every literal is an
 * escape string (`E'…'`, read the same way under either setting) with every backslash and quote
 * escaped and every control or invisible character written as an escape (so the file is also
 * safe to `cat` on a terminal), and `\set ON_ERROR_STOP on` makes the documented
 * `psql -f users.sql` fail (exit 3) when the transaction does, instead of exit 0 after a
 * rollback.
 *
 * muvee's own migrations seed `system_settings` (027 writes `access_mode` = 'open'), so a setting
 * is not a plain INSERT: one muvee already holds with the same value is left as it is, and one it
 * holds with another value stops the import with a message naming both (never overwritten: an
 * export must not open or close muvee's sign-in behind the admin's back).
 */

/** Characters written as escapes inside a literal: C0, DEL, C1, and invisible or bidi marks. */
// eslint-disable-next-line no-control-regex
const ESCAPED =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/gu;

/** Pure: a PostgreSQL escape-string literal, the same under any standard_conforming_strings. */
export function sqlLiteral(value: unknown, type: 'text' | 'bool' | 'uuid' | 'timestamptz'): string {
  if (value === null || value === undefined) return 'NULL';
  if (type === 'bool') return value === 1 || value === true ? 'true' : 'false';
  // PostgreSQL text cannot hold NUL: dropped, as before.
  const text = String(value)
    .replace(/\0/g, '')
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "''")
    .replace(ESCAPED, (ch) => {
      const code = ch.codePointAt(0)!;
      return code < 0x80
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    });
  return `E'${text}'${type === 'text' ? '' : `::${type}`}`;
}

type Column = [name: string, type: 'text' | 'bool' | 'uuid' | 'timestamptz'];

const TABLES: Record<string, Column[]> = {
  users: [
    ['id', 'uuid'],
    ['email', 'text'],
    ['name', 'text'],
    ['avatar_url', 'text'],
    ['role', 'text'],
    ['created_at', 'timestamptz'],
    ['authorized', 'bool'],
    ['name_overridden', 'bool'],
    ['avatar_overridden', 'bool'],
  ],
  platform_members: [
    ['user_id', 'uuid'],
    ['role', 'text'],
    ['authorized', 'bool'],
    ['created_at', 'timestamptz'],
  ],
  invitations: [
    ['id', 'uuid'],
    ['email', 'text'],
    ['created_at', 'timestamptz'],
  ],
  system_settings: [
    ['key', 'text'],
    ['value', 'text'],
    ['updated_at', 'timestamptz'],
  ],
};

/** Pure: the script. */
export function exportSql(rows: {
  users: Record<string, unknown>[];
  platformMembers: Record<string, unknown>[];
  invitations: Record<string, unknown>[];
  systemSettings: Record<string, unknown>[];
}): string {
  const lines = [
    '-- muvee-dingtalk users export: rows of muvee tables, for psql "$DATABASE_URL" -f users.sql',
    '\\set ON_ERROR_STOP on',
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    'BEGIN;',
  ];
  const emit = (table: string, list: Record<string, unknown>[]) => {
    const columns = TABLES[table]!;
    for (const row of list) {
      lines.push(
        `INSERT INTO ${table} (${columns.map(([c]) => c).join(', ')}) VALUES (${columns
          .map(([c, type]) => sqlLiteral(row[c], type))
          .join(', ')});`,
      );
    }
  };
  emit('users', rows.users);
  emit('platform_members', rows.platformMembers);
  emit('invitations', rows.invitations);
  for (const row of rows.systemSettings) {
    // Inside the DO block's $muvee_dingtalk$ quoting no literal may hold a `$`: written \x24.
    const literal = (value: unknown) => sqlLiteral(value, 'text').replace(/\$/g, '\\x24');
    const key = literal(row.key);
    const value = literal(row.value);
    lines.push(
      `DO $muvee_dingtalk$ BEGIN IF EXISTS (SELECT 1 FROM system_settings WHERE key = ${key} AND value IS DISTINCT FROM ${value}) THEN RAISE EXCEPTION 'muvee already has system_settings % = %, this export has %; change one of them to match (muvee''s admin UI, or muvee-dingtalk admin access-mode) and import again', ${key}, (SELECT quote_literal(value) FROM system_settings WHERE key = ${key}), quote_literal(${value}); END IF; END $muvee_dingtalk$;`,
      `INSERT INTO system_settings (${TABLES.system_settings!.map(([c]) => c).join(', ')}) VALUES (${TABLES.system_settings!.map(([c, type]) => sqlLiteral(row[c], type)).join(', ')}) ON CONFLICT (key) DO NOTHING;`,
    );
  }
  lines.push('COMMIT;', '');
  return lines.join('\n');
}
