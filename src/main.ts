/**
 * The entry point of the built CLI (bin/muvee-dingtalk.js calls `main`): start-up shortcuts
 * from `runtime/` (prerendered help, compiled-code caches), then the program on the real
 * process. Everything else is in program.ts, which tests run in-process.
 */
import { join } from 'node:path';
import { enableCodeCache, saveCodeCache } from './runtime/code-cache.js';
import { outputPending, writeFd } from './runtime/fd.js';
import { prerendered } from './runtime/prerendered.js';

export { enableCodeCache };

/**
 * Runs the command line. `exitWhenDone` (the bin): once a command is over (its output
 * written, its servers and files closed), exit at once rather than let Node tear the V8 heap
 * down and wait for background compilation (1-8 ms of a login, issue 22; verify-token with a
 * database: its SQLite addon's clean-up too); output still queued for a full pipe is left to
 * drain as before.
 */
export async function main(
  argv: string[] = process.argv,
  options: { exitWhenDone?: boolean } = {},
): Promise<number> {
  const args = argv.slice(2);
  const text = prerendered(args, join(import.meta.dirname, 'help.json'));
  if (text !== undefined) {
    writeFd(1, text);
    process.exitCode = 0;
    return 0;
  }
  // Built (dist/main.cjs): serve our modules from compiled-code caches (runtime/code-cache.ts).
  if (import.meta.filename.endsWith('.cjs')) {
    enableCodeCache(import.meta.dirname, { args });
  }
  const fast = await fastPath(args);
  const exitCode = fast ?? (await program(args));
  process.exitCode = exitCode;
  // Interrupted: said and reported; work the command left pending must not keep the process.
  if (exitCode === 130) process.exit(130);
  // A command's first run keeps what it compiled (runtime/code-cache.ts).
  saveCodeCache(exitCode);
  if (options.exitWhenDone && !outputPending()) process.exit(exitCode);
  return exitCode;
}

/** A plain verify-token runs without commander (runtime/fast-verify-token.ts); else undefined. */
async function fastPath(args: string[]): Promise<number | undefined> {
  if (!args.includes('verify-token')) return undefined;
  // One file in dist/, its process-io included (scripts/build.mjs, BUNDLES).
  const { fastVerifyToken } = await import('./runtime/fast-verify-token.js');
  return fastVerifyToken(args);
}

async function program(args: string[]): Promise<number> {
  const [{ runCli }, { processIo }] = await Promise.all([
    import('./program.js'),
    import('./runtime/process-io.js'),
  ]);
  return runCli(args, processIo());
}
