/**
 * `users list` and `users show <email|id>`: what the local store holds.
 */
import {
  commandConfig,
  InvalidArgument,
  defineCommand,
  option,
  type Context,
  type OptionSpec,
} from '../cli/command.js';
import { announceDb } from '../config/config.js';
import { CliError } from '../cli/errors.js';
import { escapeJson, safe } from '../cli/sanitize.js';
import { displayWidth, line } from '../cli/output.js';
import { isUuid } from '../muvee/shapes.js';
import type { UserStore } from '../store/contract.js';
import type { CellText, ListPage } from '../store/sqlite/users-list.js';
import type { StoredUser } from '../muvee/model.js';

/** `--limit <n>` / `--offset <n>`: a whole number ≥ 0. */
const count = (flags: string, description: string, defaultValue?: number): OptionSpec<number> => ({
  flags,
  description,
  ...(defaultValue !== undefined ? { defaultValue } : {}),
  parse: (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgument(`must be a whole number ≥ 0, got '${value}'`);
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
        'muvee-dingtalk users export --sql --db ./muvee-dingtalk.db > users.sql && psql "$DATABASE_URL" -f users.sql',
      ],
      run: async (context, _args, options) => {
        if (!options.sql) throw new CliError('usage', "say the format: 'users export --sql'");
        const { config, store } = await openForReading(context);
        if (!store)
          throw new CliError('usage', `no database at ${config.dbPath}; nothing to export`);
        try {
          if (!store.exportRows)
            throw new CliError(
              'usage',
              `${config.dbPath} is muvee's own database already; export from a local file (--db ./muvee-dingtalk.db)`,
            );
          const { exportSql } = await import('../store/export-sql.js');
          context.io.stdout.write(exportSql(await store.exportRows()));
        } finally {
          await store.close();
        }
      },
    }),
  ],
});

/**
 * The configured database for reading, said on stderr (and its conflicts warned): opened
 * read-only, never created or migrated; null when there is no file yet.
 */
async function openForReading(context: Context) {
  const config = commandConfig(context, { reading: true });
  announceDb(context.out, config);
  const { openExistingUserStore } = await import('../store/index.js');
  const store = await openExistingUserStore(config.dbFile, {
    readOnly: true,
    warn: (w) => context.out.warn(w),
  });
  return { config, store };
}

/** `users show <key>`. */
async function show(context: Context, key: string): Promise<void> {
  const { out } = context;
  // The local store, or muvee's PostgreSQL (which holds no DingTalk link of this tool's).
  const { config, store } = await openForReading(context);
  try {
    const user = isUuid(key) ? await store?.findById(key) : await store?.findByEmail(key);
    if (!store || !user) {
      throw new CliError(
        'usage',
        `no user '${key}' in ${config.dbPath}${store ? '' : ' (no database there yet)'}; 'muvee-dingtalk users list' shows who is there`,
      );
    }
    const unionIds = await store.unionIds(user.id);
    if (out.json) return out.document({ ...user, unionIds });
    out.table(
      [
        // Stored rows replay DingTalk's text: sanitised.
        ['id', safe(user.id)],
        ['email', safe(user.email)],
        [
          'name',
          line`${user.name}${user.nameOverridden ? out.c.dim(' (overridden, not refreshed at login)') : ''}`,
        ],
        [
          'avatar',
          line`${user.avatarUrl || '—'}${user.avatarOverridden ? out.c.dim(' (overridden)') : ''}`,
        ],
        [
          'role',
          line`${user.role}${user.member ? '' : out.c.dim(' (no platform_members row: muvee treats it as member)')}`,
        ],
        ['authorized', memberStatus(user)],
        // Stored text too (a planted file can hold anything there): sanitised as plain strings.
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

/** `users list` where the engine cannot build it (muvee's PostgreSQL): a page of users at once. */
async function listPaged(context: Context, store: UserStore, page: ListPage): Promise<void> {
  const users = await store.list(page);
  if (context.out.json) return context.out.document({ users });
  if (users.length === 0) return context.out.note(line`no users in ${store.location}`);
  context.out.columns(
    ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'ID'],
    users.map((u) => [u.email, u.role, u.authorized ? 'active' : 'pending', u.name, u.id]),
  );
}

/**
 * `users list`: the store's users in order (a page with `--limit`/`--offset`), in batches that
 * SQLite formats and hands over as UTF-8, written as they come: 100,000 users take neither all
 * rows in memory nor a JavaScript string per value. `--json` is one document,
 * `{"users": [...]}`, one user per line. The aligned table needs its column widths first (one
 * aggregate query); both passes read one snapshot of the file. Stored rows replay DingTalk's
 * text: any value that is not plain printable ASCII is sanitised (as `users show` does) and
 * measured by display width (CJK takes two columns a character).
 */
async function list(context: Context, page: ListPage): Promise<void> {
  const { out, io } = context;
  const { config, store: opened } = await openForReading(context);
  if (opened && !opened.batchedList) {
    try {
      return await listPaged(context, opened, page);
    } finally {
      await opened.close();
    }
  }
  const store = opened?.batchedList;
  const release = releaser();
  const write = (bytes: Buffer) => {
    if (io.stdout.writeBytes) io.stdout.writeBytes(bytes);
    else io.stdout.write(bytes.toString());
    release(bytes);
  };
  try {
    if (out.json) {
      if (!store) return io.stdout.write('{"users": []}\n');
      return store.snapshot(() => {
        let first = true;
        for (const users of store.listJson(page)) {
          io.stdout.write(first ? '{"users": [\n' : ',\n');
          write(jsonRule(users));
          first = false;
        }
        io.stdout.write(first ? '{"users": []}\n' : '\n]}\n');
      });
    }
    if (!store) {
      out.note(line`no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it`);
      return;
    }
    store.snapshot(() => {
      const widest = store.listLayout(page, CELL_TEXT);
      if (widest.rows === 0) {
        out.note(
          page.offset
            ? line`no users in ${config.dbPath} past the first ${page.offset}`
            : line`no users in ${config.dbPath} yet`,
        );
        return;
      }
      const head = ['EMAIL', 'ROLE', 'STATUS', 'NAME', 'LAST LOGIN', 'ID'];
      const layout = {
        ...widest,
        email: Math.max(head[0]!.length, widest.email),
        name: Math.max(head[3]!.length, widest.name),
        lastLoginAt: Math.max(head[4]!.length, widest.lastLoginAt),
      };
      // As Output.columns: padded by display width, the header dim, trailing spaces trimmed.
      const widths = [layout.email, 'member'.length, 'pending'.length, layout.name];
      const header = head
        .map((h, i) => h.padEnd(i === 4 ? layout.lastLoginAt : (widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
      io.stdout.write(`${out.c.dim(header)}\n`);
      for (const lines of store.listTable(page, layout, CELL_TEXT)) write(lines);
    });
  } finally {
    await opened?.close();
  }
}

/**
 * Frees each written chunk's memory at once. better-sqlite3's buffers live outside V8's heap,
 * and V8 frees dead ones only at a young-generation collection, which it starts by itself
 * after 32 MiB of them: 100,000 users' JSON (34 MiB) would all stay, +32 MiB of peak RSS.
 * Node ≥ 22 detaches the buffer (ArrayBuffer `transfer(0)` frees its memory); Node 20 has no
 * `transfer`: there, a young-generation collection (V8's `gc`, exposed on first need) every
 * 8 MiB. The chunk is not used after it is written (Sink.writeBytes keeps no reference).
 */
export function releaser(): (bytes: Buffer) => void {
  let pending = 0;
  let collect: ((options: { type: 'minor' }) => void) | undefined;
  return (bytes) => {
    const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
    if (buffer.transfer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) {
      try {
        buffer.transfer(0);
        return;
      } catch {
        // Not detachable: left to the collector.
      }
    }
    pending += bytes.byteLength;
    if (pending < 8 << 20) return;
    pending = 0;
    if (!collect) {
      process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
      collect = process.getBuiltinModule('node:vm').runInNewContext('gc') as typeof collect;
    }
    collect?.({ type: 'minor' });
  };
}

/**
 * SQLite's JSON under the one JSON rule (sanitize.ts `jsonText`): escaped only when the batch
 * holds a byte that can start such a character (DEL; C2 for C1 controls and U+00AD; D8 for
 * U+061C; E1/E2/E3 for fillers, zero-widths, bidi controls and LS/PS; EF for U+FEFF/U+FFxx;
 * F3 for tags); most batches pass as they are.
 */
export function jsonRule(bytes: Buffer): Buffer {
  for (const lead of [0x7f, 0xc2, 0xcd, 0xd8, 0xe1, 0xe2, 0xe3, 0xef, 0xf0, 0xf3]) {
    if (bytes.includes(lead)) {
      const text = bytes.toString('utf8');
      const escaped = escapeJson(text);
      return escaped === text ? bytes : Buffer.from(escaped, 'utf8');
    }
  }
  return bytes;
}

/** How the table shows stored text that is not plain printable ASCII. */
export const CELL_TEXT: CellText = { safe, width: columns };

/** Width of each character of the Basic Multilingual Plane met so far (0: not yet known). */
const bmpWidths = new Uint8Array(0x10000);

/**
 * displayWidth, a character's width looked up once (displayWidth tests each character with a
 * regular expression: most of the time of a list of 100,000 Chinese names). Text with a
 * surrogate (a character beyond the BMP, or a lone one) is left to displayWidth.
 */
export function columns(text: string): number {
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return displayWidth(text);
    width += bmpWidths[c] || (bmpWidths[c] = displayWidth(String.fromCharCode(c)));
  }
  return width;
}

function memberStatus(user: StoredUser): string {
  if (!user.member) return 'no (not a platform member: muvee lets nobody in without one)';
  return user.authorized ? 'yes' : 'no: pending approval (muvee-dingtalk admin approve)';
}
