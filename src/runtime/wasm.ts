/**
 * undici parses HTTP with llhttp compiled to WebAssembly, and V8 keeps optimising that module
 * on background threads, which an exiting process must wait for: ~110–170 ms after a login
 * (bench/RESULTS.md). A CLI makes a handful of requests: the baseline compiler is plenty.
 *
 * Set just before the first DingTalk request, not at start (nor in the bin's shebang): a V8
 * flag that differs from Node's defaults makes Node's built-in code cache, and ours
 * (code-cache.ts), unusable for whatever is compiled afterwards. Only the bin does this
 * (`processIo().beforeFirstRequest`); in-process runs (tests) leave V8 alone.
 */
let done = false;

export async function baselineWasmCompilerOnly(): Promise<void> {
  if (done) return;
  done = true;
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--liftoff-only');
}
