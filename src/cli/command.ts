/**
 * How a command declares itself, and what it receives when it runs.
 *
 * A command module exports `command = defineCommand({ name, summary, options, examples, run })`;
 * `commands/index.ts` lists the modules, and the program (program.ts), the build and the tests
 * all read that one list. Options are declared with the builders below, so `run` receives
 * them typed (`options.timeout` is a number) instead of cast from `Record<string, unknown>`.
 */
import { runConfig, type Config } from '../config/config.js';
import type { GlobalOptions, Io } from './io.js';
import type { Output } from './output.js';

export type { GlobalOptions, Io, Sink } from './io.js';

export interface Context {
  out: Output;
  io: Io;
  globals: GlobalOptions;
}

/**
 * A value an option's parser refuses: the program (program.ts) hands it to commander, which
 * words it as every other option error. Thrown instead of commander's own class, so that this
 * module (and verify-token's fast path through it) never loads commander.
 */
export class InvalidArgument extends Error {
  override readonly name = 'InvalidArgument';
}

/** The configuration for a command (config.ts `runConfig`). */
export function commandConfig(
  context: Context,
  options: { tolerateEnvFile?: boolean } = {},
): Config {
  const config = runConfig(context.globals, context.io, options);
  if (config.dbArgvWarning) context.out.warn(config.dbArgvWarning);
  return config;
}

// ---------------------------------------------------------------------------------------
// Options

/** One option: its commander flags and help, and (phantom) the type `run` receives. */
export interface OptionSpec<T> {
  flags: string;
  description: string;
  defaultValue?: T;
  /** Shown in help instead of the default value itself. */
  defaultDescription?: string;
  parse?: (value: string, previous: T) => T;
  choices?: readonly string[];
  /** Type only: the value `run` receives. */
  readonly __value?: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptionMap = Record<string, OptionSpec<any>>;
export type OptionValues<O extends OptionMap> = {
  [K in keyof O]: O[K] extends OptionSpec<infer T> ? T : never;
};

/** A number of seconds ≥ min (fractions allowed); a usage error otherwise. */
export function parseSeconds(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgument(
        `${name} must be a number of seconds ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}, got '${value}'`,
      );
    }
    return n;
  };
}

export const option = {
  /** `--emulator`: true when given. */
  flag: (flags: string, description: string): OptionSpec<boolean | undefined> => ({
    flags,
    description,
  }),
  /** `--no-browser`: true unless the `--no-…` flag is given. */
  negatable: (flags: `--no-${string}`, description: string): OptionSpec<boolean> => ({
    flags,
    description,
  }),
  /** `--listen <host:port>`: the text, or undefined. */
  string: (flags: string, description: string): OptionSpec<string | undefined> => ({
    flags,
    description,
  }),
  /** `--ttl <duration>` with a default. */
  stringWithDefault: (flags: string, description: string, defaultValue: string) =>
    ({ flags, description, defaultValue }) as OptionSpec<string>,
  /** `--auto-approve [user]`: the text, true when given bare, or undefined. */
  optionalValue: (flags: string, description: string): OptionSpec<string | true | undefined> => ({
    flags,
    description,
  }),
  /** `--timeout <seconds>`: a number of seconds within [min, max]. */
  seconds: (
    flags: string,
    description: string,
    defaultValue: number,
    range: { min?: number; max?: number } = {},
  ): OptionSpec<number> => ({
    flags,
    description,
    defaultValue,
    parse: parseSeconds(flags.split(' ')[0]!, range.min, range.max),
  }),
  /** `--port <port>`: 0–65535. */
  port: (flags: string, description: string, defaultValue: number): OptionSpec<number> => ({
    flags,
    description,
    defaultValue,
    parse: (value: string) => {
      const n = Number(value);
      if (!/^\d{1,5}$/.test(value.trim()) || n > 65535) {
        throw new InvalidArgument(`must be a port number 0–65535, got '${value}'`);
      }
      return n;
    },
  }),
  /** `--role <role>` with a fixed set of values. */
  choice: <C extends string>(
    flags: string,
    description: string,
    choices: readonly C[],
  ): OptionSpec<C | undefined> => ({ flags, description, choices }),
  /** `--fault <spec>`, repeatable: every value, in order. */
  list: (flags: string, description: string): OptionSpec<string[] | undefined> => ({
    flags,
    description,
    parse: (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  }),
};

/** `--http-timeout`: how long one DingTalk API call may take (login, check-config --live). */
export const httpTimeoutOption = option.seconds(
  '--http-timeout <seconds>',
  'give up on a DingTalk API call after this long',
  10,
  { min: 0.1, max: 3600 },
);

// ---------------------------------------------------------------------------------------
// Commands

export interface ArgumentSpec {
  /** `<email-or-id>` (required) or `[token]` (optional). */
  name: string;
  description: string;
  defaultValue?: string;
}

export interface CommandSpec<O extends OptionMap = OptionMap> {
  name: string;
  summary: string;
  arguments?: ArgumentSpec[];
  options?: O;
  /** Shown under "Examples:", each prefixed with `$ `. Every command has at least one. */
  examples: string[];
  /** More help text after the examples. */
  notes?: string;
  /** `users list` / `users show`: a command made of subcommands has no `run` of its own. */
  subcommands?: CommandSpec<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The subcommand run when none is named. */
  isDefault?: boolean;
  run?: (context: Context, args: string[], options: OptionValues<O>) => Promise<number | void>;
}

/** Declares a command; the identity function, there for the types. */
export function defineCommand<O extends OptionMap = Record<never, never>>(
  spec: CommandSpec<O>,
): CommandSpec<O> {
  return spec;
}

/** A module of `commands/`: its declaration. */
export interface CommandModule {
  command: CommandSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
