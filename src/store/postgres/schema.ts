/**
 * Is this muvee's database? The tables, columns and unique keys this tool reads or writes (a
 * subset of muvee's schema), checked once when the store opens. Reads only.
 */
import type { PoolClient } from 'pg';
import { CliError } from '../../cli/errors.js';
import { where } from './errors.js';

/** The tables and columns this tool reads or writes (a subset of muvee's schema). */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: [
    'id',
    'email',
    'name',
    'avatar_url',
    'role',
    'created_at',
    'authorized',
    'name_overridden',
    'avatar_overridden',
  ],
  platform_members: ['user_id', 'role', 'authorized', 'created_at'],
  invitations: ['id', 'email', 'created_at'],
  system_settings: ['key', 'value', 'updated_at'],
};

/** The single-column unique keys the upserts' ON CONFLICT targets need. */
const REQUIRED_UNIQUE: readonly [string, string][] = [
  ['users', 'email'],
  ['platform_members', 'user_id'],
  ['invitations', 'email'],
  ['system_settings', 'key'],
];

/**
 * Checks that the tables and columns in REQUIRED_COLUMNS exist in the current schema (and the
 * unique keys the upserts rely on); a `db-unusable` error naming what is missing otherwise.
 * Reads only.
 */
export async function checkMuveeSchema(client: PoolClient, url: string): Promise<void> {
  const tables = Object.keys(REQUIRED_COLUMNS);
  const { rows: columns } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [tables],
  );
  const have = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
  const seenTables = new Set(columns.map((c) => c.table_name));
  const missingTables = tables.filter((t) => !seenTables.has(t));
  const missingColumns = tables
    .filter((t) => seenTables.has(t))
    .flatMap((t) =>
      REQUIRED_COLUMNS[t]!.filter((c) => !have.has(`${t}.${c}`)).map((c) => `${t}.${c}`),
    );
  const { rows: schemaRows } = await client.query<{ schema: string | null; user: string }>(
    'SELECT current_schema() AS schema, current_user AS user',
  );
  const schema = schemaRows[0]?.schema ?? null;
  if (missingTables.length > 0) {
    // information_schema shows only what the role may use: tell "absent" from "no access".
    const { rows: hidden } = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_catalog.pg_class c
       WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())
         AND c.relname = ANY($1::text[])`,
      [missingTables],
    );
    if (hidden.length > 0) {
      throw new CliError(
        'db-unusable',
        `${where(url)}: role '${schemaRows[0]?.user}' has no access to muvee's table${hidden.length > 1 ? 's' : ''} ${hidden.map((r) => r.relname).join(', ')}; grant it SELECT (and INSERT, UPDATE to write)`,
        { details: { noAccess: hidden.map((r) => r.relname) } },
      );
    }
  }
  if (missingTables.length > 0 || missingColumns.length > 0) {
    const parts = [
      missingTables.length > 0
        ? `no table${missingTables.length > 1 ? 's' : ''} ${missingTables.join(', ')}`
        : '',
      missingColumns.length > 0
        ? `no column${missingColumns.length > 1 ? 's' : ''} ${missingColumns.join(', ')}`
        : '',
    ].filter(Boolean);
    throw new CliError(
      'db-unusable',
      `${where(url)}: ${parts.join(' and ')} in schema ${schema ?? '(none: empty search_path)'}; is this muvee's database (and has muvee run its migrations)?`,
      { details: { missingTables, missingColumns } },
    );
  }
  const { rows: unique } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name
     FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
     WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())
       AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND c.relname = ANY($1::text[])`,
    [tables],
  );
  const uniqueSet = new Set(unique.map((u) => `${u.table_name}.${u.column_name}`));
  const missingUnique = REQUIRED_UNIQUE.map(([t, c]) => `${t}.${c}`).filter(
    (key) => !uniqueSet.has(key),
  );
  if (missingUnique.length > 0) {
    throw new CliError(
      'db-unusable',
      `${where(url)}: no unique key on ${missingUnique.join(', ')}; is this muvee's database?`,
      { details: { missingUnique } },
    );
  }
}
