/**
 * Plain `--help`, `<command> --help`, `help <command>` and `--version` answered from texts the
 * build rendered (dist/help.json, by program.ts's `renderHelpTexts`), so they start without
 * loading commander or any command. Running from the sources there is no help.json, and
 * commander answers.
 */
import { readFileSync } from 'node:fs';

/** The stored answer for exactly these arguments, or undefined (then commander decides). */
export function prerendered(args: string[], helpFile: string): string | undefined {
  const key = helpKey(args);
  if (key === undefined) return undefined;
  try {
    return (JSON.parse(readFileSync(helpFile, 'utf8')) as Record<string, string>)[key];
  } catch {
    return undefined;
  }
}

/** Pure: `['login', '--help']` → 'login'; `['--version']` → 'version'; anything else → undefined. */
export function helpKey(args: string[]): string | undefined {
  const isHelp = (a: string | undefined) => a === '--help' || a === '-h';
  const words = (list: string[]) => list.every((a) => /^[a-z][a-z-]*$/.test(a));
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return 'version';
  if (args.length === 1 && (isHelp(args[0]) || args[0] === 'help')) return '';
  if (args.length >= 2 && isHelp(args.at(-1)) && words(args.slice(0, -1))) {
    return args.slice(0, -1).join(' ');
  }
  if (args.length >= 2 && args[0] === 'help' && words(args.slice(1))) {
    return args.slice(1).join(' ');
  }
  return undefined;
}
