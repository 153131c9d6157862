/**
 * The per-user folder of compiled-code caches (runtime/code-cache.ts):
 * `$XDG_CACHE_HOME/muvee-dingtalk/code-cache/<node>-<arch>-<install>/<command>/`, by default
 * under `~/.cache`: about 0.5 MB a command, one folder per Node version and place the tool is
 * installed in. `MUVEE_DINGTALK_CODE_CACHE=off` turns it off; deleting it is always safe.
 *
 * V8 runs the code in a cache it accepts, so a cache is read only from a folder nobody else can
 * write: the folder and every folder above it belong to this user or to root, and none is
 * writable by others unless it is sticky (as /tmp is: others cannot rename what is ours in it).
 * Otherwise there is no cache (a slower start, nothing else). The folder is keyed by the Node
 * version (V8 refuses another's cache anyway), the install's folder, and the command (each
 * compiles its own functions: a cache made by `--version` would lack a login's). Each file
 * starts with the build's stamp (dist/.build-stamp): V8 checks a source's length, not its
 * text, so a rebuilt bundle of the same length must not meet the old one's cache; an update
 * or a rebuild replaces the files in place.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';

export interface UserCodeCache {
  /** The cache file of a bundle, from its path under dist/. */
  file(relativePath: string): string;
  /** The build's stamp, which begins every cache file of this build (16 bytes). */
  stamp: Buffer;
}

/** The folder for this run's caches, made if need be; undefined when none is safe or wanted. */
export function userCodeCache(
  dist: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): UserCodeCache | undefined {
  if (env.MUVEE_DINGTALK_CODE_CACHE === 'off') return undefined;
  const uid = process.getuid?.();
  const home = cacheHome(env);
  if (uid === undefined || home === undefined) return undefined;
  let build: string;
  try {
    build = readFileSync(join(dist, '.build-stamp'), 'utf8').slice(0, 16);
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{16}$/.test(build)) return undefined;
  const folder = join(
    home,
    'muvee-dingtalk',
    'code-cache',
    `${process.version}-${process.arch}-${fnv1a(dist)}`,
    commandKey(dist, args),
  );
  try {
    // Most runs: the folder is there, and one walk up from it judges it.
    if (!existsSync(folder)) {
      // Judged before anything is made: no folder of ours is left where we would not read it
      // (e.g. root's run with another user's HOME).
      if (!safeAncestors(uid, existingAncestor(folder))) return undefined;
      mkdirSync(folder, { recursive: true, mode: 0o700 });
    }
    if (!onlyWritableBy(uid, folder)) return undefined;
  } catch {
    return undefined;
  }
  return {
    file: (relativePath) => join(folder, `${relativePath.split(sep).join('~')}.v8cache`),
    stamp: Buffer.from(build, 'latin1'),
  };
}

/** Pure: a short name for the install's folder (not a secret, nor a defence: a name). */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** `$XDG_CACHE_HOME` when it is an absolute path (the XDG rule), else `$HOME/.cache`. */
function cacheHome(env: NodeJS.ProcessEnv): string | undefined {
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return env.XDG_CACHE_HOME;
  return env.HOME && isAbsolute(env.HOME) ? join(env.HOME, '.cache') : undefined;
}

/** Pure but for one look per word: the first argument naming a command of dist/commands/. */
export function commandKey(dist: string, args: readonly string[]): string {
  const word = args.find(
    (arg) => /^[a-z][a-z-]{1,30}$/.test(arg) && existsSync(join(dist, 'commands', `${arg}.cjs`)),
  );
  return word ?? 'other';
}

/**
 * The folder, its real path's every folder up to `/`: owned by `uid` or root, and writable by
 * nobody else unless sticky (the folder itself: owned by `uid`, and writable by nobody else).
 */
export function onlyWritableBy(uid: number, folder: string): boolean {
  const path = realpathSync.native(folder);
  const own = lstatSync(path);
  if (!own.isDirectory() || own.uid !== uid || (own.mode & 0o022) !== 0) return false;
  return dirname(path) === path || safeAncestors(uid, dirname(path));
}

/** `path` and every folder above it: owned by `uid` or root, writable by others only if sticky. */
function safeAncestors(uid: number, path: string): boolean {
  for (let at = realpathSync.native(path); ; at = dirname(at)) {
    const stat = lstatSync(at);
    if (stat.uid !== uid && stat.uid !== 0) return false;
    if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) return false;
    if (dirname(at) === at) return true;
  }
}

/** The nearest of `path` and the folders above it that exists. */
function existingAncestor(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}
