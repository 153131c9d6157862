/**
 * store/sqlite/file-reader.ts reads verify-token's one lookup from the file's bytes instead of
 * SQLite. Its answers must be SQLite's own (USER_SELECT through better-sqlite3), on generated
 * files: page sizes from 512 to 65536 (deep B-trees, overflow chains in tables and indexes),
 * values of every storage class, deleted rows, VACUUM, auto-vacuum's pointer-map pages, WAL and
 * rollback files, schema versions 3 and 4. Whatever it does not read plainly it leaves to
 * SQLite (null), and no byte of a damaged file makes it throw.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mintSessionToken } from '../src/muvee/session.ts';
import { Database } from '../src/store/sqlite/binding.ts';
import { readUserRow } from '../src/store/sqlite/file-reader.ts';
import { USER_SELECT, type UserRow } from '../src/store/sqlite/rows.ts';
import { migrate, MIGRATIONS } from '../src/store/sqlite/schema.ts';
import { baseEnv, json, prng, runBin, SECRET, tempDir } from './helpers.ts';

type Db = InstanceType<typeof Database>;
/** An error of the reader's own (not "not the plain case", not the file system's) is thrown. */
const STRICT = { strict: true };

interface FileShape {
  pageSize: number;
  users: number;
  seed: number;
  wal: boolean;
  /** Schema version 3 (migrated step by step) instead of the current one. */
  version3?: boolean;
  vacuum?: boolean;
  autoVacuum?: boolean;
  /** Short values only: a file under 256 KiB, which the reader reads whole. */
  small?: boolean;
}

/** Random text of `length` code points: ASCII, Chinese, and now and then an emoji. */
function text(random: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = random();
    out +=
      r < 0.7
        ? String.fromCharCode(0x61 + Math.floor(random() * 26))
        : r < 0.95
          ? String.fromCharCode(0x4e00 + Math.floor(random() * 0x5000))
          : String.fromCodePoint(0x1f600 + Math.floor(random() * 50));
  }
  return out;
}

const uuid = (random: () => number) =>
  'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () =>
    Math.floor(random() * 16).toString(16),
  );

/** A value for an INTEGER NOT NULL column: mostly 0/1, then every other class SQLite keeps there. */
function integerish(random: () => number): unknown {
  const pick = [
    0,
    1,
    1,
    0,
    2,
    -1,
    127,
    -32768,
    8_388_607,
    2 ** 31,
    2 ** 40 + 3,
    2 ** 47 - 1,
    BigInt(2) ** BigInt(62) + BigInt(7),
    -(BigInt(2) ** BigInt(63)),
    1.5,
    -0.25,
    'yes',
    '12',
    '',
    Buffer.from([0, 1, 2]),
  ];
  return pick[Math.floor(random() * pick.length)];
}

/** Long enough, now and then, to spill onto overflow pages (chains of them at 512 bytes). */
function sized(random: () => number, small = false): number {
  const r = random();
  if (small) return r < 0.9 ? Math.floor(random() * 20) : 200 + Math.floor(random() * 400);
  return r < 0.8 ? Math.floor(random() * 30) : r < 0.95 ? 200 + Math.floor(random() * 800) : 6000;
}

/** Writes a file of `shape` at `path`; the ids it holds and the ids it deleted. */
function makeFile(path: string, shape: FileShape): { ids: string[]; gone: string[] } {
  const random = prng(shape.seed);
  const db: Db = new Database(path);
  db.pragma(`page_size = ${shape.pageSize}`);
  if (shape.autoVacuum) db.pragma('auto_vacuum = FULL');
  db.pragma(`journal_mode = ${shape.wal ? 'WAL' : 'DELETE'}`);
  if (shape.version3) {
    for (let v = 0; v < 3; v++) db.exec(MIGRATIONS[v]!);
    db.pragma('user_version = 3');
  } else migrate(db);
  // Rows the store would never write (orphans, odd types) are what a file may hold all the same.
  db.pragma('foreign_keys = OFF');
  const user = db.prepare(
    `INSERT INTO users (id, email, name, avatar_url, role, name_overridden, avatar_overridden,
       created_at, authorized) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const member = db.prepare(
    'INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, ?, ?, ?)',
  );
  const link = db.prepare(
    'INSERT INTO muvee_dingtalk_links (union_id, user_id, last_login_at) VALUES (?, ?, ?)',
  );
  const ids: string[] = [];
  const special = ['', 'a', 'a\u0000b', 'A', 'é', '用户-一', '😀', 'x'.repeat(3000)];
  let unions = 0;
  db.transaction(() => {
    for (let i = 0; i < shape.users; i++) {
      const r = random();
      const id =
        i < special.length && shape.users > 20
          ? special[i]!
          : r < 0.9
            ? uuid(random)
            : `${text(random, 1 + Math.floor(random() * 12))}-${i}`;
      ids.push(id);
      const blobName = random() < 0.05;
      user.run(
        id,
        `user${i}@corp.example`,
        blobName ? Buffer.from(text(random, 5)) : text(random, sized(random, shape.small)),
        random() < 0.05 ? 12345 : `https://a.example/${text(random, sized(random, shape.small))}`,
        random() < 0.3 ? 'admin' : 'member',
        integerish(random),
        integerish(random),
        random() < 0.05 ? 20250101 : new Date(1.7e12 + i * 1000).toISOString(),
        integerish(random),
      );
      if (random() < 0.75)
        member.run(
          id,
          random() < 0.3 ? 'admin' : 'member',
          integerish(random),
          new Date(1.7e12 + i * 1000).toISOString(),
        );
      const links = Math.floor(random() * 4);
      for (let j = 0; j < links; j++) {
        const at =
          random() < 0.1
            ? text(random, 3)
            : new Date(1.7e12 + Math.floor(random() * 1e10)).toISOString();
        link.run(`union-${unions++}`, id, at);
      }
    }
    // Memberships and logins of users that are not there.
    for (let i = 0; i < shape.users / 10; i++) {
      member.run(`orphan-${i}`, 'member', 1, 'x');
      link.run(`union-${unions++}`, `orphan-${i}`, 'x');
    }
  })();
  const gone: string[] = [];
  for (const id of ids.filter(() => random() < 0.1)) {
    db.prepare('DELETE FROM users WHERE id = ?').run(id);
    if (random() < 0.5) db.prepare('DELETE FROM platform_members WHERE user_id = ?').run(id);
    gone.push(id);
  }
  if (shape.vacuum) db.exec('VACUUM');
  db.close();
  return { ids: ids.filter((id) => !gone.includes(id)), gone };
}

/** SQLite's answer: the statement verify-token's SQLite path runs (reader.ts, userFinder). */
function sqliteRow(path: string, id: string): UserRow | undefined {
  const db: Db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[string], UserRow>(`${USER_SELECT} WHERE u.id = ?`).get(id);
  } finally {
    db.close();
  }
}

/** Ids to look up: the file's (a sample), the deleted, near misses, and strangers. */
function queries(random: () => number, ids: string[], gone: string[]): string[] {
  const sample = ids.filter(() => random() < Math.min(1, 150 / Math.max(1, ids.length)));
  const near = sample
    .slice(0, 40)
    .flatMap((id) => [`${id}x`, id.slice(0, -1), id.toUpperCase(), ` ${id}`, `${id}\u0000`]);
  return [...sample, ...gone, ...near, uuid(random), '', 'orphan-0', 'zzzz'];
}

const SHAPES: FileShape[] = [
  { pageSize: 4096, users: 1, seed: 1, wal: true },
  { pageSize: 4096, users: 0, seed: 2, wal: true },
  { pageSize: 512, users: 1500, seed: 3, wal: true },
  { pageSize: 1024, users: 400, seed: 4, wal: false },
  { pageSize: 4096, users: 3000, seed: 5, wal: true },
  { pageSize: 65536, users: 300, seed: 6, wal: false },
  { pageSize: 2048, users: 500, seed: 7, wal: true, version3: true },
  { pageSize: 1024, users: 600, seed: 8, wal: false, vacuum: true },
  { pageSize: 512, users: 300, seed: 9, wal: true, autoVacuum: true },
  { pageSize: 8192, users: 200, seed: 10, wal: true, vacuum: true, autoVacuum: true },
  { pageSize: 512, users: 150, seed: 15, wal: true, small: true },
  { pageSize: 1024, users: 120, seed: 16, wal: false, small: true, vacuum: true },
];

describe('file-reader: the file read without SQLite, answering as SQLite does', () => {
  for (const shape of SHAPES) {
    const label = `${shape.users} users, ${shape.pageSize}-byte pages, ${shape.wal ? 'WAL' : 'rollback journal'}${shape.version3 ? ', schema 3' : ''}${shape.vacuum ? ', vacuumed' : ''}${shape.autoVacuum ? ', auto-vacuum' : ''}${shape.small ? ', short values' : ''}`;
    test(label, (t) => {
      const path = join(tempDir(t), 'muvee-dingtalk.db');
      const { ids, gone } = makeFile(path, shape);
      const random = prng(shape.seed + 1000);
      let found = 0;
      for (const id of queries(random, ids, gone)) {
        const direct = readUserRow(path, id, STRICT);
        if (!(id as unknown as { isWellFormed(): boolean }).isWellFormed()) {
          // better-sqlite3 encodes a lone surrogate its own way: SQLite's to answer.
          assert.equal(direct, null);
          continue;
        }
        assert.ok(direct, `the file reader answers for ${JSON.stringify(id.slice(0, 60))}`);
        assert.deepEqual(direct.row, sqliteRow(path, id), JSON.stringify(id.slice(0, 60)));
        if (direct.row) found++;
      }
      if (ids.length > 0) assert.ok(found > 0, 'some users are found');
      // Files up to 256 KiB are read whole, larger ones a page at a time: both are here.
      t.diagnostic(`${found} users found, as SQLite finds them (${statSync(path).size} bytes)`);
    });
  }

  test('what it does not read plainly goes to SQLite (null): WAL, journal, versions, schema, encoding', (t) => {
    const dir = tempDir(t);
    const base = join(dir, 'base.db');
    const { ids } = makeFile(base, { pageSize: 4096, users: 30, seed: 11, wal: true });
    const id = ids[5]!;
    assert.ok(readUserRow(base, id, STRICT)?.row, 'the plain file is read');
    const variant = (name: string, change: (db: Db) => void) => {
      const path = join(dir, `${name}.db`);
      copyFileSync(base, path);
      const db: Db = new Database(path);
      change(db);
      db.close();
      return path;
    };
    const cases: [string, string][] = [
      ['schema version 2', variant('v2', (db) => db.pragma('user_version = 2'))],
      ['schema version 5', variant('v5', (db) => db.pragma('user_version = 5'))],
      [
        'a column added to users',
        variant('column', (db) => db.exec('ALTER TABLE users ADD COLUMN extra TEXT')),
      ],
      [
        'a users table of another shape',
        variant('shape', (db) =>
          db.exec(`DROP TRIGGER muvee_dingtalk_users_list_insert;
            CREATE TABLE users2 AS SELECT * FROM users; DROP TABLE users;
            ALTER TABLE users2 RENAME TO users;`),
        ),
      ],
    ];
    for (const [what, path] of cases) assert.equal(readUserRow(path, id, STRICT), null, what);

    // UTF-16: the encoding is fixed before the first table.
    const utf16 = join(dir, 'utf16.db');
    {
      const db: Db = new Database(utf16);
      db.pragma("encoding = 'UTF-16le'");
      migrate(db);
      db.close();
    }
    assert.equal(readUserRow(utf16, 'anyone', STRICT), null, 'UTF-16');

    // A WAL with commits in it: the file alone is not the database.
    const walPath = join(dir, 'wal.db');
    copyFileSync(base, walPath);
    const writer: Db = new Database(walPath);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare("UPDATE users SET name = 'changed' WHERE id = ?").run(id);
    assert.equal(readUserRow(walPath, id, STRICT), null, 'a pending WAL');
    assert.equal(sqliteRow(walPath, id)?.name, 'changed');
    writer.close();
    assert.equal(readUserRow(walPath, id, STRICT)?.row?.name, 'changed', 'checkpointed at close');

    // A journal with content beside the file (a writer at work, or a crash's hot journal).
    const journal = join(dir, 'journal.db');
    copyFileSync(base, journal);
    writeFileSync(`${journal}-journal`, 'x'.repeat(512));
    assert.equal(readUserRow(journal, id, STRICT), null, 'a journal');

    for (const [what, bytes] of [
      ['an empty file', ''],
      ['not SQLite', 'hello, this is not a database\n'.repeat(200)],
      ['a cut file', readFileSync(base).subarray(0, 6000)],
    ] as const) {
      const path = join(dir, 'other.db');
      writeFileSync(path, bytes);
      assert.equal(readUserRow(path, id, STRICT), null, what);
    }
    assert.equal(readUserRow(join(dir, 'absent.db'), id, STRICT), null, 'no file');
    assert.equal(readUserRow(base, 'lone \ud800 surrogate', STRICT), null, 'a lone surrogate');
  });

  // A small file (read whole) and a large one (read by pages).
  for (const [users, pageSize, tries, small] of [
    [150, 512, 400, true],
    [1200, 1024, 150, false],
  ] as const)
    test(`no damaged byte makes it throw or loop: it answers or leaves it to SQLite (${users} users)`, (t) => {
      const dir = tempDir(t);
      const base = join(dir, 'base.db');
      const { ids } = makeFile(base, { pageSize, users, seed: 12, wal: false, small });
      const bytes = readFileSync(base);
      const random = prng(13);
      const path = join(dir, 'damaged.db');
      let answered = 0;
      let sqliteRefused = 0;
      for (let i = 0; i < tries; i++) {
        const copy = Buffer.from(bytes);
        const flips = 1 + Math.floor(random() * 8);
        for (let j = 0; j < flips; j++) {
          // Page headers and cell pointers most of the time: where a reader goes astray.
          const page = Math.floor(random() * (copy.length / pageSize));
          const offset =
            random() < 0.6 ? Math.floor(random() * 24) : Math.floor(random() * pageSize);
          copy[Math.min(copy.length - 1, page * pageSize + offset + (page === 0 ? 100 : 0))] =
            Math.floor(random() * 256);
        }
        writeFileSync(path, copy);
        const id = ids[Math.floor(random() * ids.length)]!;
        const direct = readUserRow(path, id, STRICT);
        if (direct === null) continue;
        answered++;
        // Where SQLite reads the damaged file without an error, the same answer.
        let theirs: UserRow | undefined | Error;
        try {
          theirs = sqliteRow(path, id);
        } catch (error) {
          theirs = error as Error;
        }
        if (theirs instanceof Error) sqliteRefused++;
        else assert.deepEqual(direct.row, theirs, `damaged file ${i}`);
      }
      t.diagnostic(
        `${answered} of ${tries} damaged files (${statSync(base).size} bytes) answered (${sqliteRefused} of them refused by SQLite), the rest left to SQLite`,
      );
    });

  test('damage made by hand: a page graph that loops or repeats, a NaN, a schema text, a page count', (t) => {
    const dir = tempDir(t);
    const base = join(dir, 'base.db');
    const { ids } = makeFile(base, {
      pageSize: 512,
      users: 150,
      seed: 17,
      wal: false,
      small: true,
    });
    const id = ids[40]!;
    const pageSize = 512;
    const rootOf = (name: string) => {
      const db: Db = new Database(base, { readonly: true });
      try {
        return db
          .prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?')
          .pluck()
          .get(name) as number;
      } finally {
        db.close();
      }
    };
    const root = rootOf('sqlite_autoindex_users_1');
    const bytes = readFileSync(base);
    const at = (root - 1) * pageSize;
    assert.equal(bytes[at], 0x02, 'the users index has an interior root here');
    const cells = bytes.readUInt16BE(at + 3);
    const variant = (name: string, change: (copy: Buffer) => void) => {
      const copy = Buffer.from(bytes);
      change(copy);
      const path = join(dir, `${name}.db`);
      writeFileSync(path, copy);
      return path;
    };
    const sqlite = (path: string): UserRow | undefined | Error => {
      try {
        return sqliteRow(path, id);
      } catch (error) {
        return error as Error;
      }
    };
    const cases = {
      // The root's right-most child is the root itself: a search would go round for ever.
      'a page that is its own child': variant('loop', (copy) => copy.writeUInt32BE(root, at + 8)),
      // Every child of the root is the same page: a search without memory would read it once
      // a child, a deeper such chain twice as often a level.
      'one child under every cell': variant('repeat', (copy) => {
        const child = copy.readUInt32BE(at + 8);
        for (let i = 0; i < cells; i++)
          copy.writeUInt32BE(child, copy.readUInt16BE(at + 12 + 2 * i));
      }),
      // A trigger's text that is not this tool's (SQLite parses every trigger at the first statement).
      'a damaged trigger text': variant('trigger', (copy) => {
        const from = copy.indexOf('AFTER DELETE ON muvee_dingtalk_links');
        assert.ok(from > 0);
        copy.write('AFTXR', from, 'latin1');
      }),
      // One more page than the header counts.
      'a page past the header page count': (() => {
        const path = join(dir, 'longer.db');
        writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(pageSize)]));
        return path;
      })(),
    };
    for (const [what, path] of Object.entries(cases)) {
      const started = process.hrtime.bigint();
      const direct = readUserRow(path, id, STRICT);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(ms < 1000, `${what}: answered in ${ms} ms`);
      const theirs = sqlite(path);
      if (theirs instanceof Error)
        assert.equal(
          direct,
          null,
          `${what}: SQLite refuses (${theirs.message}), so does the reader`,
        );
      else if (direct) assert.deepEqual(direct.row, theirs, what);
      t.diagnostic(
        `${what}: ${direct ? 'answered as SQLite' : 'left to SQLite'}${theirs instanceof Error ? ` (${theirs.message})` : ''}`,
      );
    }
    assert.equal(readUserRow('/dev/zero', id, STRICT), null, 'a device');

    // A NaN where SQLite keeps a REAL (only damage writes one: SQLite stores NaN as NULL).
    const nanPath = join(dir, 'nan.db');
    copyFileSync(base, nanPath);
    {
      const db: Db = new Database(nanPath);
      db.prepare(
        "INSERT OR REPLACE INTO platform_members (user_id, role, authorized, created_at) VALUES (?, 'member', 1.5, 'x')",
      ).run(id);
      db.close();
    }
    const nanBytes = readFileSync(nanPath);
    const real = Buffer.alloc(8);
    real.writeDoubleBE(1.5);
    // Every copy (the trigger-kept list table holds one too).
    let copies = 0;
    for (
      let where = nanBytes.indexOf(real);
      where >= 0;
      where = nanBytes.indexOf(real, where + 8)
    ) {
      nanBytes.writeDoubleBE(Number.NaN, where);
      copies++;
    }
    assert.ok(copies > 0, 'the REAL is in the file');
    writeFileSync(nanPath, nanBytes);
    const nan = readUserRow(nanPath, id, STRICT);
    assert.ok(nan?.row, 'read');
    assert.equal(nan.row.member_authorized, null);
    assert.deepEqual(nan.row, sqliteRow(nanPath, id));
  });

  test('verify-token from the bin reads the file itself: same verdict, nothing written beside it', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'muvee-dingtalk.db');
    const { ids } = makeFile(path, { pageSize: 4096, users: 50, seed: 14, wal: true });
    // SQLite's read-only open of a WAL file leaves -wal and -shm behind; the reader does not.
    for (const suffix of ['-wal', '-shm']) assert.equal(existsSync(`${path}${suffix}`), false);
    const row = readUserRow(path, ids[20]!, STRICT)!.row!;
    const role = row.member_role ?? 'member';
    const { token } = mintSessionToken({ uid: row.id, email: String(row.email), role }, SECRET);
    const r = await runBin(['--json', 'verify-token', token], {
      cwd: dir,
      env: baseEnv({ JWT_SECRET: SECRET }),
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = json<{ userInDb: boolean; roleInDb: string; roleMatches: boolean }>(r);
    assert.equal(doc.userInDb, true);
    assert.equal(doc.roleInDb, role);
    assert.equal(doc.roleMatches, true);
    for (const suffix of ['-wal', '-shm'])
      assert.equal(existsSync(`${path}${suffix}`), false, `no ${suffix} made`);

    // A file the reader leaves to SQLite (schema 5): SQLite's own word, as before.
    const newer: Db = new Database(path);
    newer.pragma('user_version = 5');
    newer.close();
    const refused = await runBin(['--json', 'verify-token', token], {
      cwd: dir,
      env: baseEnv({ JWT_SECRET: SECRET }),
    });
    assert.equal(refused.code, 0, refused.stderr);
    assert.match(String(json(refused).dbProblem), /schema version 5 is newer/);
  });
});
