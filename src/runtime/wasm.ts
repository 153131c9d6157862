/**
 * undici parses HTTP with llhttp compiled to WebAssembly, and V8 keeps optimising that module
 * on background threads, which an exiting process must wait for: ~110–170 ms after a login
 * (bench/RESULTS.md). A CLI makes a handful of requests: the baseline compiler is plenty.
 *
 * Set just before the first DingTalk request, not at start (nor in the bin's shebang): a V8
 * flag that differs from Node's defaults makes a compiled-code cache (code-cache.ts) unusable
 * for whatever is compiled afterwards. Only the bin does this (`processIo().beforeFirstRequest`);
 * in-process runs (tests) leave V8 alone.
 */

// On the global object: dist/ holds more than one copy of this file (main.cjs has one).
const CHANGED = Symbol.for('muvee-dingtalk.wasm-flags-changed');
const state = globalThis as { [CHANGED]?: boolean };

/** Whether V8's flags differ from the start-up ones (code compiled now cannot use a cache). */
export function wasmFlagsChanged(): boolean {
  return state[CHANGED] === true;
}

export async function baselineWasmCompilerOnly(): Promise<void> {
  if (state[CHANGED]) return;
  state[CHANGED] = true;
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--liftoff-only');
}
