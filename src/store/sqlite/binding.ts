/**
 * better-sqlite3, the build that holds on this runtime. No single version does on Node 20, 22
 * and 24 (measured, see README "Node versions"): 12.x (`node::ObjectWrap`) aborts the process
 * under GC on Node 24 (`Assertion failed: (env) != nullptr` in `Statement::~Statement`), and
 * 13.x (Node-API) crashes as soon as Node 20 loads it. So the package carries both: 13.x as
 * `better-sqlite3` for Node >= 22, 12.x as the alias `better-sqlite3-node20` for Node 20.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.filename);

export const SQLITE_PACKAGE =
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20';

/**
 * Built (dist/store/sqlite/binding.cjs), the package's JavaScript as one bundle in dist/vendor/ (scripts/
 * build.mjs): its ~14 files took ~5 ms to load; from the sources, the package itself.
 */
export const Database = require(
  import.meta.filename.endsWith('.cjs') ? `../../vendor/${SQLITE_PACKAGE}.cjs` : SQLITE_PACKAGE,
) as typeof BetterSqlite3;
// eslint-disable-next-line @typescript-eslint/no-redeclare
export type Database = BetterSqlite3.Database;

/**
 * The addon's path, handed to better-sqlite3 so it skips the `bindings` package's search of
 * a dozen candidate paths at every start (12.x); undefined lets better-sqlite3 find its own
 * (13.x loads its bundled prebuild).
 */
export const NATIVE_BINDING = (() => {
  try {
    return require.resolve(`${SQLITE_PACKAGE}/build/Release/better_sqlite3.node`);
  } catch {
    return undefined;
  }
})();

/** better-sqlite3's constructor option for {@link NATIVE_BINDING} (none when it finds its own). */
export const BINDING: { nativeBinding?: string } = NATIVE_BINDING
  ? { nativeBinding: NATIVE_BINDING }
  : {};
