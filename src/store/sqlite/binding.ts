/**
 * better-sqlite3, the build that holds on this runtime. No single version does on Node 20, 22
 * and 24 (measured, see README "Node versions"): 12.x (`node::ObjectWrap`) aborts the process
 * under GC on Node 24 (`Assertion failed: (env) != nullptr` in `Statement::~Statement`), and
 * 13.x (Node-API) crashes as soon as Node 20 loads it. So the package carries both: 13.x as
 * `better-sqlite3` for Node >= 22, 12.x as the alias `better-sqlite3-node20` for Node 20.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
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
 * The addon's path, handed to better-sqlite3 so it skips its own search at every start: 12.x's
 * `bindings` package tries a dozen candidate paths; 13.x resolves its package through the
 * exports map and reads /proc/self/maps to tell musl (1-3 ms of a verify-token with a
 * database, on Node 22 and 24). The same choice as theirs, found directly; undefined (they
 * search as usual) when it is not where it is expected.
 */
export const NATIVE_BINDING = (() => {
  try {
    return addonPath();
  } catch {
    return undefined;
  }
})();

function addonPath(): string | undefined {
  const dir = packageDir(SQLITE_PACKAGE);
  if (dir === undefined) return undefined;
  // 13.x (lib/binding.js): a build made on purpose (Debug, Release), else its prebuild.
  const builds = SQLITE_PACKAGE === 'better-sqlite3' ? ['Debug', 'Release'] : ['Release'];
  for (const build of builds) {
    const file = join(dir, 'build', build, 'better_sqlite3.node');
    if (existsSync(file)) return file;
  }
  if (SQLITE_PACKAGE !== 'better-sqlite3') return undefined;
  const libc = process.platform === 'linux' ? linuxLibc() : process.platform;
  if (libc === undefined) return undefined;
  const target = `${libc === 'musl' ? 'linuxmusl' : process.platform}-${process.arch}`;
  const file = join(dir, 'prebuilds', `${target}.node`);
  return existsSync(file) ? file : undefined;
}

/**
 * The folder of package `name` where require() would look for it from here (its own list of
 * node_modules folders), without resolving the package's exports map.
 */
function packageDir(name: string): string | undefined {
  return require.resolve
    .paths(name)
    ?.map((folder) => join(folder, name))
    .find((candidate) => existsSync(join(candidate, 'package.json')));
}

/**
 * musl or glibc, from the program interpreter Node was linked with (its first 4 KiB); undefined
 * (better-sqlite3 decides) when unsure: a glibc Node on a system that also has musl's loader
 * (Alpine with gcompat) may run on musl, which better-sqlite3 tells from the loaded libraries.
 */
function linuxLibc(): 'musl' | 'glibc' | undefined {
  const fd = openSync(process.execPath, 'r');
  let text: string;
  try {
    const head = Buffer.alloc(4096);
    text = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
  if (text.includes('/ld-musl-')) return 'musl';
  if (!text.includes('/ld-linux')) return undefined;
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : '';
  return arch && !existsSync(`/lib/ld-musl-${arch}.so.1`) ? 'glibc' : undefined;
}

/** better-sqlite3's constructor option for {@link NATIVE_BINDING} (none when it finds its own). */
export const BINDING: { nativeBinding?: string } = NATIVE_BINDING
  ? { nativeBinding: NATIVE_BINDING }
  : {};
