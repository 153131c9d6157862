/**
 * Compiled-code cache for this tool's own bundles, so a start does not re-parse and
 * re-compile them (measured: `check-config` 1.55× → 1.25× of `node -e 0`, bench/RESULTS.md).
 *
 * Node >= 22.1 has this built in (`module.enableCompileCache`) and gets that. On Node 20 the
 * build writes V8 code caches beside the bundles (`dist/**\/*.cjs.v8cache`) by running the
 * light commands once in training mode; at run time they are only read. V8 checks each cache
 * against its own version, flags and the source, and silently recompiles on any mismatch
 * (another Node version, a rebuilt bundle), so a stale cache costs nothing but its read.
 * Nothing is ever written at run time, so the cache has the same trust as the code beside it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, sep } from 'node:path';
import { Script } from 'node:vm';

interface CompilableModule {
  exports: unknown;
  _compile(content: string, filename: string): unknown;
}

const Module = nodeModule.Module as unknown as {
  prototype: CompilableModule;
  wrap(source: string): string;
};

let enabled = false;

/**
 * Serves `<dir>/**\/*.cjs` from their `.v8cache` files; with `train`, also writes those caches
 * when the process exits (they then hold every function the run compiled). Idempotent.
 */
export function enableCodeCache(dir: string, options: { train?: boolean } = {}): void {
  if (enabled) return;
  enabled = true;
  const builtin = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof builtin === 'function' && !options.train) {
    builtin();
    return;
  }
  const root = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const compile = Module.prototype._compile;
  const trained: [Script, string][] = [];
  Module.prototype._compile = function compileWithCache(this: CompilableModule, content, filename) {
    if (!filename.startsWith(root) || !filename.endsWith('.cjs')) {
      return compile.call(this, content, filename);
    }
    const cacheFile = `${filename}.v8cache`;
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      if (!options.train) return compile.call(this, content, filename);
    }
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (options.train) trained.push([script, cacheFile]);
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    const require = nodeModule.createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  if (options.train) {
    process.once('exit', () => {
      // A cache carries the V8 flags it was made under and is refused under others; a login
      // turns on --liftoff-only mid-run (runtime/wasm.ts), so go back to start-up flags first.
      // (node:v8 is required here only: loading it costs ~4 ms at every start.)
      const v8 = nodeModule.createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
      v8.setFlagsFromString('--no-liftoff-only --liftoff --wasm-tier-up --wasm-dynamic-tiering');
      for (const [script, file] of trained) writeFileSync(file, script.createCachedData());
    });
  }
}
