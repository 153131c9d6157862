/**
 * `users list` on the local file, fast: SQLite builds the text (JSON objects, or the table's
 * cells) in batches and hands over UTF-8 buffers, so no value becomes a JavaScript string. Reads
 * the tool's own `muvee_dingtalk_users_list` table when the file has it (schema 4), else
 * muvee's tables through lookups.
 */
import { isUtf8 } from 'node:buffer';
import type { Database } from './binding.js';

/** A page of `users list`: skip `offset` users, then at most `limit`. */
export interface ListPage {
  offset?: number;
  limit?: number | undefined;
}

/** Where `users list` finds a user's membership and last login, beside the users row `u`. */
interface ListSource {
  from: string;
  role: string;
  authorized: string;
  lastLogin: string;
}

/**
 * muvee_dingtalk_users_list, found under the key the list walks (users_created_at_email's):
 * SQLite reads both in step. A user without a row there reads as without membership or login.
 */
const LIST_TABLE: ListSource = {
  from: `FROM users u LEFT JOIN muvee_dingtalk_users_list d
    ON d.created_at = u.created_at AND d.email = u.email`,
  role: 'd.member_role',
  authorized: 'd.member_authorized',
  lastLogin: 'd.last_login_at',
};

/**
 * A file without that table (schema 3, read as it is; or one this tool did not write): each
 * user looked up in platform_members and muvee_dingtalk_links, two searches by id.
 */
const LOOKUPS: ListSource = {
  from: 'FROM users u LEFT JOIN platform_members m ON m.user_id = u.id',
  role: 'm.role',
  authorized: 'm.authorized',
  lastLogin: '(SELECT max(l.last_login_at) FROM muvee_dingtalk_links l WHERE l.user_id = u.id)',
};

/** Users a batch of `users list` (about 150 KiB of JSON, 65 KiB of table). */
const LIST_BATCH = 500;

/** How `users list`'s table shows a stored value that is not plain printable ASCII. */
export interface CellText {
  /** The value made safe for a terminal (sanitize.ts `safe`). */
  safe(text: string): string;
  /** The terminal columns a safe value takes (output.ts `displayWidth`). */
  width(text: string): number;
}

/**
 * `users list`'s table before its rows: how many, and the widest value of each column padded
 * (ID, the last column, is not: its width is never needed).
 */
export interface ListLayout {
  rows: number;
  email: number;
  name: number;
  lastLoginAt: number;
  /** No value of one byte a character holds a control character (checked by listLayout). */
  oneByteIsPlain: boolean;
}

/**
 * SQL: whether a value is shown as it is, plain printable ASCII (as many columns as bytes);
 * any other goes through CellText. A value of one byte a character is taken as printable ASCII
 * once listLayout has seen no control character in such values (a byte ≥ 0x80 among them is
 * not UTF-8: validUtf8 shows each as one U+FFFD, one column, as SQLite's length counts it);
 * otherwise GLOB decides, slower (it reads the class again at each character). SQLite's text
 * functions (length, GLOB, printf) stop at a NUL, octet_length does not: a value holding one
 * is never plain, so it is shown whole, escaped, not cut at the NUL (issue 20 L11).
 */
function plain(v: string, oneByteIsPlain: boolean): string {
  const oneByte = `octet_length(${v}) = length(${v})`;
  return oneByteIsPlain ? oneByte : `${oneByte} AND NOT ${v} GLOB '*[^ -~]*'`;
}

/**
 * The bytes SQLite returned, as valid UTF-8: a file may hold text that is not (SQLite does not
 * check), which a JavaScript string would have shown as U+FFFD; so it is here.
 */
function validUtf8(bytes: Buffer): Buffer {
  return isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
}

export class UsersList {
  constructor(private readonly db: Database) {}

  /**
   * `users list --json`'s users (the same fields and values as JSON.stringify of a
   * StoredUser), in order: chunks of UTF-8, each the JSON objects of up to LIST_BATCH users
   * joined by `,\n`. SQLite builds the text and hands over one buffer a batch, so no value
   * becomes a JavaScript string (for 100,000 users that conversion, and encoding the text
   * back to UTF-8 for stdout, cost more than building it).
   */
  *listJson(page: ListPage = {}): Generator<Buffer> {
    // json('true') is computed once (a constant), and json_object takes it as JSON, not text.
    const bool = (test: string) => `iif(${test}, json('true'), json('false'))`;
    const source = this.listSource();
    yield* this.listBatches(
      page,
      source,
      `json_object('id', u.id, 'email', u.email, 'name', u.name, 'avatarUrl', u.avatar_url,
         'role', coalesce(${source.role}, 'member'),
         'authorized', ${bool(`${source.authorized} <> 0`)},
         'member', ${bool(`${source.role} IS NOT NULL`)}, 'legacyRole', u.role,
         'nameOverridden', ${bool('u.name_overridden <> 0')},
         'avatarOverridden', ${bool('u.avatar_overridden <> 0')},
         'createdAt', u.created_at, 'lastLoginAt', ${source.lastLogin}) AS line`,
      'line',
      ',\n',
    );
  }

  /**
   * For `users list`'s table: how many users the page has and the widest email, name and
   * last login once sanitised, computed inside SQLite: a value of one byte a character is
   * as wide as it is long, any other is handed to `text`. That holds only if no such value
   * holds a control character (it would be shown escaped, hence wider): checked on the way,
   * with json_valid. If one does, everything is measured again with the exact test, and
   * {@link listTable} uses it.
   */
  listLayout(page: ListPage, text: CellText): ListLayout {
    const measure = (value: unknown) => (value === null ? 0 : text.width(text.safe(String(value))));
    this.db.function('muvee_width', { deterministic: true }, measure);
    const whole = page.limit === undefined && !page.offset;
    const source = this.listSource();
    // [users, widest email, name, a control character?] and [widest last login, control?]
    type Widths = [number, number | null, number | null, number | null];
    type LastLogin = [number | null, number | null];
    const measured = (oneByteIsPlain: boolean) => {
      const w = (v: string) =>
        `max(iif(${plain(v, oneByteIsPlain)}, octet_length(${v}), muvee_width(${v})))`;
      // json_valid rejects a raw control character in a JSON string; DEL is made one of them.
      const control = (...vs: string[]) =>
        oneByteIsPlain
          ? `max(NOT json_valid(replace(concat('"', ${vs.join(', ')}, '"'), char(127), char(1))))`
          : 'NULL';
      const users = `count(*), ${w('email')}, ${w('name')}, ${control('email', 'name', 'id')}`;
      const lastLogin = `${w('last_login_at')}, ${control('last_login_at')}`;
      const [count, email, name, usersControl, last, lastControl] = whole
        ? // The whole table: no order needed (every DingTalk link belongs to a user).
          [
            ...this.db.prepare<[], Widths>(`SELECT ${users} FROM users`).raw().get()!,
            ...this.db
              .prepare<[], LastLogin>(`SELECT ${lastLogin} FROM muvee_dingtalk_links`)
              .raw()
              .get()!,
          ]
        : this.db
            .prepare<object, [...Widths, ...LastLogin]>(
              `SELECT ${users}, ${lastLogin}
               FROM (SELECT u.email, u.name, u.id, ${source.lastLogin} AS last_login_at
                     ${source.from}
                     ORDER BY u.created_at, u.email LIMIT @limit OFFSET @offset)`,
            )
            .raw()
            .get({ limit: page.limit ?? -1, offset: page.offset ?? 0 })!;
      return {
        rows: count,
        email: email ?? 0,
        name: name ?? 0,
        lastLoginAt: last ?? 0,
        oneByteIsPlain: oneByteIsPlain && !usersControl && !lastControl,
      };
    };
    const fast = measured(true);
    return fast.oneByteIsPlain ? fast : measured(false);
  }

  /**
   * `users list`'s table rows for the page, in order: chunks of UTF-8 lines (each ending in
   * `\n`), padded to `layout`'s widths, trailing spaces trimmed, as output.ts `columns`. A
   * value that is plain printable ASCII is padded by SQLite; any other goes through `text`
   * (sanitised, measured by display width), so stored text never reaches the terminal raw.
   */
  *listTable(page: ListPage, layout: ListLayout, text: CellText): Generator<Buffer> {
    const cell = (value: unknown, width: number) => {
      const safe = value === null ? '' : text.safe(String(value));
      const pad = width - text.width(safe);
      return pad > 0 ? safe + ' '.repeat(pad) : safe;
    };
    this.db.function('muvee_list_cell', { deterministic: true }, (value: unknown, width: number) =>
      cell(value, width),
    );
    this.db.function('muvee_list_row', { varargs: true }, (...row: unknown[]) => {
      const [email, role, authorized, name, lastLoginAt, id] = row;
      return `${[
        cell(email, layout.email),
        cell(role ?? 'member', 'member'.length),
        authorized ? 'active ' : 'pending',
        cell(name, layout.name),
        cell(lastLoginAt ?? '—', layout.lastLoginAt),
        cell(id, 0),
      ]
        .join('  ')
        .trimEnd()}\n`;
    });
    // One printf a line. A value shown as it is is padded by printf, which counts bytes: its
    // width in bytes is the column's plus its bytes beyond its columns (`*_extra`: 0 but for
    // '—'); any other is padded by muvee_list_cell, and given width 0.
    const padded = (v: string, width: string) =>
      `iif(${v}_extra IS NULL, 0, ${width} + ${v}_extra),
       iif(${v}_extra IS NULL, muvee_list_cell(${v}, ${width}), ${v})`;
    // A value's bytes beyond its columns when shown as it is (0: plain); NULL when it is not.
    const extra = (v: string) => `iif(${plain(v, layout.oneByteIsPlain)}, 0, NULL)`;
    const line = `CASE WHEN id_extra = 0 AND (role IS NULL OR role IN ('admin', 'member'))
      THEN rtrim(printf('%-*s  %-6s  %-7s  %-*s  %-*s  %s',
          ${padded('email', '@email')},
          coalesce(role, 'member'), iif(authorized, 'active', 'pending'),
          ${padded('name', '@name')},
          -- '—' (no login) is three bytes, one column
          iif(last IS NULL, @last + 2, iif(${extra('last')} = 0, @last, 0)),
          iif(last IS NULL, '—', iif(${extra('last')} = 0, last, muvee_list_cell(last, @last))),
          id), ' ') || char(10)
      ELSE muvee_list_row(email, role, authorized, name, last, id) END`;
    const source = this.listSource();
    yield* this.listBatches(
      page,
      source,
      `u.email AS email, ${extra('u.email')} AS email_extra,
       ${source.role} AS role, coalesce(${source.authorized}, 0) <> 0 AS authorized,
       u.name AS name, ${extra('u.name')} AS name_extra,
       ${source.lastLogin} AS last, u.id AS id, ${extra('u.id')} AS id_extra`,
      line,
      '',
      {
        email: layout.email,
        name: layout.name,
        last: layout.lastLoginAt,
      },
    );
  }

  /**
   * The page's users in batches of LIST_BATCH, each batch one UTF-8 buffer built by SQLite:
   * `line` (over the columns `columns` selects from users `u` and `source`) of
   * each user, joined by `separator`. Keyset pagination on (created_at, email), the
   * users_created_at_email index: the start of each batch is found by walking the index
   * alone, and OFFSET is paid once. The batch's subquery has a LIMIT, so SQLite keeps its
   * ORDER BY and runs it as a co-routine (each column computed once, in order) under the
   * aggregate. A file without that index, or with a NULL key (neither happens in a file this
   * tool writes), is read row by row instead.
   */
  private *listBatches(
    page: ListPage,
    source: ListSource,
    columns: string,
    line: string,
    separator: string,
    params: Record<string, unknown> = {},
  ): Generator<Buffer> {
    const order = 'ORDER BY u.created_at, u.email';
    let remaining = page.limit ?? Infinity;
    if (!this.keysetUsable()) {
      const rows = this.db
        .prepare<Record<string, unknown>, Buffer | null>(
          `SELECT CAST(${line} AS BLOB) FROM (SELECT ${columns} ${source.from} ${order}
           LIMIT @limit OFFSET @offset)`,
        )
        .pluck()
        .iterate({ ...params, limit: page.limit ?? -1, offset: page.offset ?? 0 });
      const glue = Buffer.from(separator);
      let parts: Buffer[] = [];
      for (const row of rows) {
        if (!row) continue;
        if (parts.length > 0) parts.push(glue);
        parts.push(row);
        if (parts.length >= 2 * LIST_BATCH) {
          yield validUtf8(Buffer.concat(parts));
          parts = [];
        }
      }
      if (parts.length > 0) yield validUtf8(Buffer.concat(parts));
      return;
    }
    type Key = [unknown, unknown];
    const keyAt = this.db
      .prepare<[number], Key>(
        'SELECT created_at, email FROM users ORDER BY created_at, email LIMIT 1 OFFSET ?',
      )
      .raw();
    const keyAfter = this.db
      .prepare<[unknown, unknown, number], Key>(
        `SELECT created_at, email FROM users WHERE (created_at, email) >= (?, ?)
         ORDER BY created_at, email LIMIT 1 OFFSET ?`,
      )
      .raw();
    const batch = (range: string) =>
      this.db
        .prepare<Record<string, unknown>, Buffer | null>(
          `SELECT CAST(group_concat(${line}, @separator) AS BLOB)
           FROM (SELECT ${columns} ${source.from}
                 WHERE (u.created_at, u.email) >= (@fromAt, @fromEmail) ${range}
                 ${order} LIMIT @n)`,
        )
        .pluck();
    const bounded = batch('AND (u.created_at, u.email) < (@toAt, @toEmail)');
    const rest = batch('');
    let from = keyAt.get(page.offset ?? 0);
    while (from && remaining > 0) {
      const n = Math.min(LIST_BATCH, remaining);
      const to = keyAfter.get(from[0], from[1], n);
      const args = { ...params, separator, n, fromAt: from[0], fromEmail: from[1] };
      const chunk = to ? bounded.get({ ...args, toAt: to[0], toEmail: to[1] }) : rest.get(args);
      if (chunk) yield validUtf8(chunk);
      remaining -= n;
      from = to;
    }
  }

  /** muvee_dingtalk_users_list if the file has it, else the lookups. */
  private listSource(): ListSource {
    const table = this.db
      .prepare(
        `SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'muvee_dingtalk_users_list'`,
      )
      .get();
    return table ? LIST_TABLE : LOOKUPS;
  }

  /** Keyset pagination on (created_at, email) needs their index and no NULL in them. */
  private keysetUsable(): boolean {
    return (
      this.db
        .prepare<[], number>(
          `SELECT EXISTS (SELECT 1 FROM sqlite_schema
                          WHERE type = 'index' AND name = 'users_created_at_email')
             AND NOT EXISTS (SELECT 1 FROM users WHERE created_at IS NULL)
             AND NOT EXISTS (SELECT 1 FROM users WHERE email IS NULL)`,
        )
        .pluck()
        .get() === 1
    );
  }
}
