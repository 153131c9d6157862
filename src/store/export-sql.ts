/**
 * `users export --sql`: the store's rows of muvee's tables as INSERT statements that muvee's
 * PostgreSQL accepts as they are (shared/muvee-server.md §3), in one transaction: a conflict
 * with a row muvee already has stops the whole import instead of mixing the two.
 */

/** Pure: a PostgreSQL literal (standard_conforming_strings: only `'` is doubled). */
export function sqlLiteral(value: unknown, type: 'text' | 'bool' | 'uuid' | 'timestamptz'): string {
  if (value === null || value === undefined) return 'NULL';
  if (type === 'bool') return value === 1 || value === true ? 'true' : 'false';
  const text = String(value).replace(/\0/g, '');
  return `'${text.replace(/'/g, "''")}'${type === 'text' ? '' : `::${type}`}`;
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
    '-- muvee-dingtalk users export: rows of muvee tables, for psql "$DATABASE_URL" -f',
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
  emit('system_settings', rows.systemSettings);
  lines.push('COMMIT;', '');
  return lines.join('\n');
}
