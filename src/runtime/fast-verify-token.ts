/**
 * `verify-token` from the bin without commander: its arguments are few and simple, and
 * building commander (and loading command.ts, which loads it) is a measurable part of a run
 * that should cost little more than `node -e 0` (bench/RESULTS.md). Only the plain forms are
 * read here; anything else (help, `--opt=value`, `--`, an unknown or invalid option, a second
 * token) returns undefined and the program (program.ts) runs it with commander, which then
 * decides and words any error. An error of the command itself is printed by program.ts's
 * printer, loaded only then.
 */
import type { Context, GlobalOptions, Io } from '../cli/command.js';
import { Output } from '../cli/output.js';
import { verifyToken, type VerifyTokenOptions } from '../commands/verify-token.js';
import { processIo } from './process-io.js';
import { untilInterrupted } from '../cli/interrupt.js';

export interface FastArgs {
  globals: GlobalOptions;
  token: string;
  options: VerifyTokenOptions;
}

/** Pure: the arguments of a plain `verify-token` run, or undefined for commander to read. */
export function fastVerifyTokenArgs(args: string[]): FastArgs | undefined {
  const globals: GlobalOptions = { json: false, color: true };
  const options: VerifyTokenOptions = { leeway: 0 };
  let command = false;
  let token: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      return next === undefined || next.startsWith('-') ? undefined : next;
    };
    if (arg === '--json') globals.json = true;
    else if (arg === '--no-color') globals.color = false;
    else if (arg === '--env-file' || arg === '--db') {
      const path = value();
      if (path === undefined) return undefined;
      if (arg === '--db') globals.db = path;
      else globals.envFile = path;
    } else if (arg === '--leeway' && command) {
      // The same rule as option.seconds (command.ts); commander words the error otherwise.
      const text = value();
      if (text === undefined || !/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
      const seconds = Number(text);
      if (!Number.isFinite(seconds) || seconds > Number.MAX_SAFE_INTEGER) return undefined;
      options.leeway = seconds;
    } else if (arg === '--each' && command) options.each = true;
    else if (arg === '--decode' && command) options.decode = true;
    else if (!command && arg === 'verify-token') command = true;
    else if (command && token === undefined && (arg === '-' || !arg.startsWith('-'))) token = arg;
    else return undefined;
  }
  return command ? { globals, token: token ?? '-', options } : undefined;
}

/**
 * Runs a plain `verify-token` (on the real process unless `io` is given); undefined when the
 * arguments are for commander to read.
 */
export async function fastVerifyToken(args: string[], io?: Io): Promise<number | undefined> {
  const parsed = fastVerifyTokenArgs(args);
  if (!parsed) return undefined;
  io ??= processIo();
  const { globals } = parsed;
  const out = new Output({
    json: globals.json,
    color: globals.color,
    env: io.env,
    stdout: io.stdout,
    stderr: io.stderr,
  });
  const context: Context = { out, io, globals };
  try {
    return (
      (await untilInterrupted(
        (watchedIo) => verifyToken({ ...context, io: watchedIo }, parsed.token, parsed.options),
        io,
        'verify-token',
      )) ?? 0
    );
  } catch (error) {
    const { reportError } = await import('../program.js');
    return reportError(error, out, io.env);
  }
}
