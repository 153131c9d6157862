/**
 * `users list` and `users show <email|id>`: what the local store holds.
 */
import { InvalidArgumentError } from 'commander';
import { commandConfig, defineCommand, option, type Context, type OptionSpec } from '../command.js';
import { CliError } from '../errors.js';
import { safe } from '../sanitize.js';
import { displayWidth } from '../output.js';
import { isUuid } from '../shapes.js';
import { Store, type ListPage, type ListRow, type StoredUser } from '../store.js';

/** `--limit <n>` / `--offset <n>`: a whole number ≥ 0. */
const count = (flags: string, description: string, defaultValue?: number): OptionSpec<number> => ({
  flags,
  description,
  ...(defaultValue !== undefined ? { defaultValue } : {}),
  parse: (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`must be a whole number ≥ 0, got '${value}'`);
    }
    return n;
  },
});

export const command = defineCommand({
  name: 'users',
  summary: 'list or show the users of the local database',
  examples: ['muvee-dingtalk users list', 'muvee-dingtalk users show zhangsan@corp.example --json'],
  subcommands: [
    defineCommand({
      name: 'list',
      summary: 'one line per user, oldest first',
      isDefault: true,
      options: {
        limit: count('--limit <n>', 'at most this many users') as OptionSpec<number | undefined>,
        offset: count('--offset <n>', 'skip this many users first (with --limit: pages)', 0),
      },
      examples: [
        'muvee-dingtalk users list --db ./team.db',
        'muvee-dingtalk users list --limit 50 --offset 100 --json   # the third page of 50',
      ],
      run: (context, _args, options) => list(context, options),
    }),
    defineCommand({
      name: 'show',
      summary: 'one user in full, by email or id',
      arguments: [{ name: '<email-or-id>', description: 'the email or the user id (UUID)' }],
      examples: ['muvee-dingtalk users show zhangsan@corp.example'],
      run: (context, [key]) => show(context, key!),
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
        const store = Store.openReadOnly(config.dbFile);
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

/** `users show <key>`. */
async function show(context: Context, key: string): Promise<void> {
  const { out } = context;
  const config = commandConfig(context);
  // The local store, or muvee's PostgreSQL (which holds no DingTalk link of this tool's).
  const { openExistingUserStore } = await import('../user-store.js');
  const store = await openExistingUserStore(config.dbFile, { readOnly: true });
  try {
    const user = isUuid(key) ? await store?.findById(key) : await store?.findByEmail(key);
    if (!store || !user) {
      throw new CliError(
        'usage',
        `no user '${key}' in ${config.dbPath}${store ? '' : ' (no database there yet)'}; 'muvee-dingtalk users list' shows who is there`,
      );
    }
    const local = config.dbIsPostgres ? null : Store.openReadOnly(config.dbFile);
    const unionIds = local?.unionIdsOf(user.id) ?? [];
    local?.close();
    if (out.json) return out.document({ ...user, unionIds });
    out.table(
      [
        // Stored rows replay DingTalk's text: sanitised.
        ['id', safe(user.id)],
        ['email', safe(user.email)],
        [
          'name',
          `${safe(user.name)}${user.nameOverridden ? out.c.dim(' (overridden, not refreshed at login)') : ''}`,
        ],
        [
          'avatar',
          `${safe(user.avatarUrl || '—')}${user.avatarOverridden ? out.c.dim(' (overridden)') : ''}`,
        ],
        [
          'role',
          `${user.role}${user.member ? '' : out.c.dim(' (no platform_members row: muvee treats it as member)')}`,
        ],
        ['authorized', memberStatus(user)],
        ['created', user.createdAt],
        ['last login', user.lastLoginAt ?? '—'],
        ['unionId', safe(unionIds.join(', ') || '—')],
      ],
      '',
    );
    return;
  } finally {
    await store?.close();
  }
}

/** `users list` on muvee's PostgreSQL: a page at a time from the server. */
async function listPostgres(context: Context, url: string, page: ListPage): Promise<void> {
  const { openPgStore } = await import('../pg-store.js');
  const store = await openPgStore(url);
  try {
    const users = await store.list({
      ...(page.offset !== undefined ? { offset: page.offset } : {}),
      ...(page.limit !== undefined ? { limit: page.limit } : {}),
    });
    if (context.out.json) return context.out.document({ users });
    if (users.length === 0) return context.out.note(`no users in ${store.location}`);
    context.out.columns(
      ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'ID'],
      users.map((u) => [u.email, u.role, u.authorized ? 'active' : 'pending', u.name, u.id]),
    );
  } finally {
    await store.close();
  }
}

/**
 * `users list`: streamed from the store (its rows in index order, a page with
 * `--limit`/`--offset`) and written in chunks of 64 KiB, so 100,000 users take neither a write
 * per line nor all rows in memory. `--json` is one document, `{"users": [...]}`, one user per
 * line, written as it goes. The aligned table needs its column widths first: one aggregate
 * query gives the widest value of each column (only values that are not plain ASCII are
 * measured by displayWidth: CJK takes two columns a character); then the rows are printed.
 * Stored rows replay DingTalk's text: sanitised, as `users show` does.
 */
async function list(context: Context, page: ListPage): Promise<void> {
  const { out, io } = context;
  const config = commandConfig(context);
  if (config.dbIsPostgres) return listPostgres(context, config.dbFile, page);
  const store = Store.openReadOnly(config.dbFile);
  try {
    const writer = chunkedWriter(io.stdout);
    if (out.json) {
      let first = true;
      for (const user of store?.iterateJson(page) ?? []) {
        writer.write(first ? `{"users": [\n${user}` : `,\n${user}`);
        first = false;
      }
      writer.write(first ? '{"users": []}\n' : '\n]}\n');
      writer.flush();
      return;
    }
    if (!store) {
      out.note(`no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it`);
      return;
    }
    const widest = store.listWidths(page, (text) => displayWidth(safe(text)));
    if (widest.rows === 0) {
      out.note(
        page.offset
          ? `no users in ${config.dbPath} past the first ${page.offset}`
          : `no users in ${config.dbPath} yet`,
      );
      return;
    }
    const head = ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'LAST LOGIN', 'ID'];
    const cells = ([email, role, authorized, name, lastLoginAt, id]: ListRow) => [
      printable(email),
      role,
      authorized ? 'active' : 'pending',
      printable(name),
      lastLoginAt === null ? '—' : printable(lastLoginAt),
      printable(id),
    ];
    const widths = [
      Math.max(head[0]!.length, widest.email),
      'member'.length,
      'pending'.length,
      Math.max(head[3]!.length, widest.name),
      Math.max(head[4]!.length, widest.lastLoginAt),
      Math.max(head[5]!.length, widest.id),
    ];
    // As Output.columns: padded by display width, the header dim, trailing spaces trimmed.
    const format = (row: string[]) => {
      let line = '';
      for (let i = 0; i < row.length; i++) {
        const value = row[i]!;
        const pad = widths[i]! - columnWidth(value);
        line += `${i === 0 ? '' : '  '}${pad > 0 ? value + ' '.repeat(pad) : value}`;
      }
      return line.trimEnd();
    };
    writer.write(`${out.c.dim(format(head))}\n`);
    // A user added between the two queries is printed too, its columns perhaps wider.
    for (const row of store.iterateRows(page)) writer.write(`${format(cells(row))}\n`);
    writer.flush();
  } finally {
    store?.close();
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** safe(), without its replace for the usual printable ASCII value. */
function printable(text: string): string {
  return PRINTABLE_ASCII.test(text) ? text : safe(text);
}

/** displayWidth, without its per-character test for the usual printable ASCII value. */
function columnWidth(text: string): number {
  return PRINTABLE_ASCII.test(text) ? text.length : displayWidth(text);
}

/** Collects text and writes it in chunks of about 64 KiB. */
function chunkedWriter(sink: { write(text: string): void }) {
  let buffered = '';
  return {
    write(text: string) {
      buffered += text;
      if (buffered.length >= 65_536) {
        sink.write(buffered);
        buffered = '';
      }
    },
    flush() {
      if (buffered !== '') sink.write(buffered);
      buffered = '';
    },
  };
}

function memberStatus(user: StoredUser): string {
  if (!user.member) return 'no (not a platform member: muvee lets nobody in without one)';
  return user.authorized ? 'yes' : 'no: pending approval (muvee-dingtalk admin approve)';
}
