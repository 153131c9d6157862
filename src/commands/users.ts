/**
 * `users list` and `users show <email|id>`: what the local store holds.
 */
import { commandConfig, defineCommand, option, type Context } from '../command.js';
import { CliError } from '../errors.js';
import { isUuid } from '../shapes.js';
import { Store, type StoredUser } from '../store.js';

export const command = defineCommand({
  name: 'users',
  summary: 'list or show the users of the local database',
  examples: ['muvee-dingtalk users list', 'muvee-dingtalk users show zhangsan@corp.example --json'],
  subcommands: [
    defineCommand({
      name: 'list',
      summary: 'one line per user',
      isDefault: true,
      examples: ['muvee-dingtalk users list --db ./team.db'],
      run: (context) => run(context, undefined),
    }),
    defineCommand({
      name: 'show',
      summary: 'one user in full, by email or id',
      arguments: [{ name: '<email-or-id>', description: 'the email or the user id (UUID)' }],
      examples: ['muvee-dingtalk users show zhangsan@corp.example'],
      run: (context, [key]) => run(context, key),
    }),
    defineCommand({
      name: 'export',
      summary: "muvee's tables as SQL INSERTs for muvee's PostgreSQL",
      options: {
        sql: option.flag('--sql', 'INSERT statements in one transaction (the only format)'),
      },
      examples: [
        'muvee-dingtalk users export --sql > users.sql && psql "$DATABASE_URL" -f users.sql',
      ],
      run: async (context, _args, options) => {
        if (!options.sql) throw new CliError('usage', "say the format: 'users export --sql'");
        const config = commandConfig(context);
        const store = Store.openExisting(config.dbFile);
        if (!store)
          throw new CliError('usage', `no database at ${config.dbPath}; nothing to export`);
        try {
          const { exportSql } = await import('../export-sql.js');
          context.io.stdout.write(exportSql(store.exportRows()));
        } finally {
          store.close();
        }
      },
    }),
  ],
});

/** `users show <key>` with a key, `users list` without. */
async function run(context: Context, key: string | undefined): Promise<void> {
  const { out } = context;
  const config = commandConfig(context);
  const store = Store.openExisting(config.dbFile);
  try {
    if (key !== undefined) {
      const user = isUuid(key) ? store?.findById(key) : store?.findByEmail(key);
      if (!store || !user) {
        throw new CliError(
          'usage',
          `no user '${key}' in ${config.dbPath}${store ? '' : ' (no database there yet)'}; 'muvee-dingtalk users list' shows who is there`,
        );
      }
      const unionIds = store.unionIdsOf(user.id);
      if (out.json) return out.document({ ...user, unionIds });
      out.table(
        [
          ['id', user.id],
          ['email', user.email],
          [
            'name',
            `${user.name}${user.nameOverridden ? out.c.dim(' (overridden, not refreshed at login)') : ''}`,
          ],
          [
            'avatar',
            `${user.avatarUrl || '—'}${user.avatarOverridden ? out.c.dim(' (overridden)') : ''}`,
          ],
          [
            'role',
            `${user.role}${user.member ? '' : out.c.dim(' (no platform_members row: muvee treats it as member)')}`,
          ],
          ['authorized', memberStatus(user)],
          ['created', user.createdAt],
          ['last login', user.lastLoginAt ?? '—'],
          ['unionId', unionIds.join(', ') || '—'],
        ],
        '',
      );
      return;
    }
    const list: StoredUser[] = store?.list() ?? [];
    if (out.json) return out.document({ users: list });
    if (!store) {
      out.note(`no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it`);
      return;
    }
    if (list.length === 0) {
      out.note(`no users in ${config.dbPath} yet`);
      return;
    }
    out.columns(
      ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'LAST LOGIN', 'ID'],
      list.map((u) => [
        u.email,
        u.role,
        u.authorized ? 'active' : 'pending',
        u.name,
        u.lastLoginAt ?? '—',
        u.id,
      ]),
    );
  } finally {
    store?.close();
  }
}

function memberStatus(user: StoredUser): string {
  if (!user.member) return 'no (not a platform member: muvee lets nobody in without one)';
  return user.authorized ? 'yes' : 'no: pending approval (muvee-dingtalk admin approve)';
}
