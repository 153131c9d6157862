/**
 * Compiled-code caches for this tool's own bundles, so a start does not re-parse and
 * re-compile them (measured: `check-config` 1.55× → 1.25× of `node -e 0`, bench/RESULTS.md).
 *
 * V8 can store, after a run, every function the run compiled (`Script#createCachedData`), and
 * accepts such a cache only from its own version, under the same flags, for a source of the
 * same length; it silently recompiles otherwise.
 *
 * - **Per user, per command** (runtime/user-code-cache.ts): what a command's first run compiled
 *   is kept in a folder only this user can write, keyed by the Node version, the install and the
 *   command (each compiles other functions; a cache of them all costs every command its
 *   reading); each file carries the build's stamp. Later runs of that command use it.
 * - **Beside the bundles, Node 20 only** (`dist/**\/*.cjs.v8cache`, trained by the build running
 *   the light commands): read when there is no per-user folder to use. Read only, so they have
 *   the same trust as the code beside them.
 *
 * Node's own `module.enableCompileCache()` (Node ≥ 22.1) is not used: it keeps only what is
 * compiled while a file loads (a login compiled most of its bundle again: 10–14 ms of CPU),
 * and its default folder is in the shared temporary directory, where another local user could
 * plant a cache (V8 runs the code in it).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module as NodeModule } from 'node:module';
import { dirname, sep } from 'node:path';
import { Script } from 'node:vm';
import { userCodeCache } from './user-code-cache.js';
import { wasmFlagsChanged } from './wasm.js';

interface CompilableModule {
  exports: unknown;
  _compile(content: string, filename: string, ...rest: unknown[]): unknown;
}

// Named imports: a namespace import is copied property by property in the bundle (~0.3 ms).
const Module = NodeModule as unknown as {
  prototype: CompilableModule;
  wrap(source: string): string;
};

/** A cache as read: V8's data, and whether a run that succeeded (exit 0) made it. */
interface Cached {
  data: Buffer;
  complete: boolean;
}

/** Where a bundle's cache is and how it is read; whether it is written after the run, and how. */
interface Place {
  file(filename: string): string;
  read(file: string): Cached | undefined;
  /**
   * Written at the end of the run (its exit code): training, or a per-user cache to improve.
   * `complete`: the offered cache's flag; undefined when none was offered.
   */
  keep(script: Script, complete: boolean | undefined, exitCode: number): boolean;
  write(file: string, data: Buffer, exitCode: number): void;
}

let enabled = false;
/** Every bundle compiled this run, and its cache's flag (undefined: none was offered). */
const loaded: [Script, string, Place, boolean | undefined][] = [];

/**
 * Serves `<dir>/**\/*.cjs` from compiled-code caches (see above). `args` (the command line)
 * key the per-user caches; `train` (the build, Node 20) writes the caches beside the files when
 * the process exits. Idempotent.
 */
export function enableCodeCache(
  dir: string,
  options: { train?: boolean; args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): void {
  if (enabled) return;
  enabled = true;
  const root = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const place = choosePlace(root, options);
  if (!place) return;
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(
    this: CompilableModule,
    content,
    filename,
    ...rest
  ) {
    // Code compiled under changed V8 flags could not use a cache made under the start-up ones.
    const file =
      filename.startsWith(root) && filename.endsWith('.cjs') && !wasmFlagsChanged()
        ? place.file(filename)
        : undefined;
    if (file === undefined) return compile.call(this, content, filename, ...rest);
    const cached = place.read(file);
    const script = new Script(Module.wrap(content), { filename, cachedData: cached?.data });
    loaded.push([script, file, place, cached?.complete]);
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    const require = createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  if (options.train) process.once('exit', () => saveCodeCache(0));
}

function choosePlace(
  root: string,
  options: { train?: boolean; args?: readonly string[]; env?: NodeJS.ProcessEnv },
): Place | undefined {
  const beside = (filename: string) => `${filename}.v8cache`;
  if (options.train) {
    return {
      file: beside,
      read: readWhole,
      keep: () => true,
      write: (file, data) => writeFileSync(file, data),
    };
  }
  const cache = userCodeCache(root, options.args ?? [], options.env);
  if (!cache) {
    // No per-user folder to use: on Node 20, the caches the build trained (read only).
    const builtin = (NodeModule as { enableCompileCache?: unknown }).enableCompileCache;
    return typeof builtin === 'function'
      ? undefined
      : { file: beside, read: readWhole, keep: () => false, write: () => {} };
  }
  const { stamp } = cache;
  return {
    file: (filename) => cache.file(filename.slice(root.length)),
    // The stamp, then whether a run that succeeded made it (1) or not (0), then V8's data.
    // Another build's cache (the stamp first) is no cache: V8 would take it for a same-length file.
    read: (file) => {
      const data = read(file);
      const head = stamp.length + 1;
      return data && data.length > head && stamp.equals(data.subarray(0, stamp.length))
        ? { data: data.subarray(head), complete: data[stamp.length] === 1 }
        : undefined;
    },
    // None, or refused (another V8's, a flag changed); or made by a run that ended early (an
    // error, a usage message: it lacks what the command's work compiles) and this one is the
    // first to succeed. So a cache improves once, and is not written at every run.
    keep: (script, complete, exitCode) =>
      complete === undefined || script.cachedDataRejected === true || (!complete && exitCode === 0),
    // Replaced whole: a run reading it meanwhile sees the old cache or the new, never half.
    write: (file, data, exitCode) => {
      const temporary = `${file}.${process.pid}.tmp`;
      const flag = Buffer.of(exitCode === 0 ? 1 : 0);
      writeFileSync(temporary, Buffer.concat([stamp, flag, data]), { mode: 0o600 });
      renameSync(temporary, file);
    },
  };
}

function readWhole(file: string): Cached | undefined {
  const data = read(file);
  return data && { data, complete: true };
}

function read(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Writes the caches this run made or improved (the command is over, with `exitCode`: every
 * function it needed is compiled). Nothing to do on most runs; best effort (a cache that
 * cannot be written is simply not there).
 */
export function saveCodeCache(exitCode: number): void {
  const scripts = loaded
    .splice(0)
    .filter(([script, , place, complete]) => place.keep(script, complete, exitCode));
  if (scripts.length === 0) return;
  // A cache carries the V8 flags it was made under and is refused under others; a login turns
  // on --liftoff-only mid-run (runtime/wasm.ts), so go back to start-up flags first.
  // (node:v8 is required here only: loading it costs ~4 ms at every start.)
  if (wasmFlagsChanged()) {
    const v8 = createRequire(import.meta.filename)('node:v8') as typeof import('node:v8');
    v8.setFlagsFromString('--no-liftoff-only --liftoff --wasm-tier-up --wasm-dynamic-tiering');
  }
  for (const [script, file, place] of scripts) {
    try {
      place.write(file, script.createCachedData(), exitCode);
    } catch {
      // best effort: the next run compiles this file again and tries once more
    }
  }
}
