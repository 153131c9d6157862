/**
 * The entry point (bin/muvee-dingtalk.js calls `main`). Plain `--help`, `<command> --help`,
 * `help <command>` and `--version` are answered from texts rendered at build time
 * (dist/help.json, by program.ts's `renderHelpTexts`), so they start without loading
 * commander; everything else runs the commander program.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enableCodeCache } from './code-cache.js';
import { writeFd } from './fd.js';

export { enableCodeCache };

export async function main(argv: string[] = process.argv): Promise<number> {
  const text = prerendered(argv.slice(2));
  if (text !== undefined) {
    writeFd(1, text);
    process.exitCode = 0;
    return 0;
  }
  // Built (dist/cli.cjs): serve the bundles from compiled-code caches (code-cache.ts).
  if (import.meta.url.endsWith('.cjs')) enableCodeCache(dirname(fileURLToPath(import.meta.url)));
  const { runProgram } = await import('./program.js');
  return runProgram(argv);
}

/** The stored answer for exactly these arguments, or undefined (then commander decides). */
export function prerendered(args: string[]): string | undefined {
  const key = helpKey(args);
  if (key === undefined) return undefined;
  try {
    const texts = JSON.parse(
      readFileSync(new URL('./help.json', import.meta.url), 'utf8'),
    ) as Record<string, string>;
    return texts[key];
  } catch {
    return undefined; // running from the sources: no help.json
  }
}

/** Pure: `['login', '--help']` → 'login'; `['--version']` → 'version'; anything else → undefined. */
export function helpKey(args: string[]): string | undefined {
  const isHelp = (a: string | undefined) => a === '--help' || a === '-h';
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return 'version';
  if (args.length === 1 && (isHelp(args[0]) || args[0] === 'help')) return '';
  if (
    args.length >= 2 &&
    isHelp(args.at(-1)) &&
    args.slice(0, -1).every((a) => /^[a-z][a-z-]*$/.test(a))
  ) {
    return args.slice(0, -1).join(' ');
  }
  if (
    args.length >= 2 &&
    args[0] === 'help' &&
    args.slice(1).every((a) => /^[a-z][a-z-]*$/.test(a))
  ) {
    return args.slice(1).join(' ');
  }
  return undefined;
}
