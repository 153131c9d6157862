// A store with `count` users, fast: the schema from dist/store.cjs (Store.open migrates a new
// file), then users, platform_members and DingTalk links inserted with plain SQL in one
// transaction (100,000 users in a few seconds: the triggers that keep users list's own table
// run as at a login). Every third name is Chinese, so the table's display widths are
// exercised; every other user has a last login.
//   node bench/populate.mjs <file.db> <count>
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const require = createRequire(import.meta.url);

/** Creates `file` with `count` users; returns the id of the first one (an admin). */
export function populate(file, count, dist = DIST) {
  const { Store } = require(join(dist, 'store', 'sqlite', 'store.cjs'));
  const { Database, NATIVE_BINDING } = require(join(dist, 'store', 'sqlite', 'binding.cjs'));
  Store.open(file).close();
  const db = new Database(file, NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {});
  const users = db.prepare(
    `INSERT INTO users (id, email, name, avatar_url, role, authorized, created_at)
     VALUES (?, ?, ?, ?, 'member', 1, ?)`,
  );
  const members = db.prepare(
    'INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, ?, ?, ?)',
  );
  const links = db.prepare(
    'INSERT INTO muvee_dingtalk_links (union_id, user_id, last_login_at) VALUES (?, ?, ?)',
  );
  const start = Date.UTC(2025, 0, 1);
  let firstId;
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      firstId ??= id;
      const created = new Date(start + i * 1000).toISOString();
      const n = String(i).padStart(6, '0');
      users.run(
        id,
        `user${n}@corp.example`,
        i % 3 === 0 ? `张三${n}` : `User ${n}`,
        `https://static.example/avatar/${n}.png`,
        created,
      );
      members.run(id, i === 0 ? 'admin' : 'member', i % 10 === 9 ? 0 : 1, created);
      if (i % 2 === 0) links.run(`union${n}`, id, new Date(start + i * 2000).toISOString());
    }
  })();
  db.close();
  return firstId;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count] = process.argv.slice(2);
  console.log(populate(file, Number(count)));
}
