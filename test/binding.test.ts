/**
 * store/sqlite/binding.ts finds better-sqlite3's addon itself (its own search costs 1-3 ms per
 * start): the file it names must be the one better-sqlite3 would load, and it must work.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { Database, NATIVE_BINDING, SQLITE_PACKAGE } from '../src/store/sqlite/binding.ts';

const require = createRequire(import.meta.filename);

/** What the package's own search picks (12.x: bindings' build/Release; 13.x: lib/binding.js). */
function theirChoice(): string | undefined {
  const dir = dirname(require.resolve(`${SQLITE_PACKAGE}/package.json`));
  const built = (kind: string) => join(dir, 'build', kind, 'better_sqlite3.node');
  if (SQLITE_PACKAGE === 'better-sqlite3-node20') return built('Release');
  if (existsSync(built('Debug'))) return built('Debug');
  if (existsSync(built('Release'))) return built('Release');
  const binding = require(join(dir, 'lib', 'binding.js')) as { getPrebuildPath(): string | null };
  return binding.getPrebuildPath() ?? undefined;
}

test(`the addon named is the one ${SQLITE_PACKAGE} itself would load, and it opens a database`, () => {
  assert.ok(NATIVE_BINDING, 'found');
  assert.equal(NATIVE_BINDING, theirChoice());
  const db = new Database(':memory:', { nativeBinding: NATIVE_BINDING });
  assert.equal((db.prepare('SELECT 1 + 1 AS two').get() as { two: number }).two, 2);
  db.close();
});
