/**
 * The command line: commander built from the command declarations (commands/index.ts), the
 * global options, and the one place that prints errors and turns them into exit codes.
 *
 * `runCli(args, io)` runs the whole CLI against injected streams and environment, so tests
 * run it in-process; the bin calls it through `cli.ts` with the real process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  InvalidArgument,
  type CommandSpec,
  type Context,
  type GlobalOptions,
  type Io,
} from './cli/command.js';
import { COMMANDS } from './commands/index.js';
import { CliError, debugRequested, isCliError } from './cli/errors.js';
import { Output, block, line } from './cli/output.js';
import { safe } from './cli/sanitize.js';
import { untilInterrupted } from './cli/interrupt.js';

/** Set by the build (scripts/build.mjs); absent when the sources run directly. */
declare const __MUVEE_DINGTALK_VERSION__: string | undefined;

export function version(): string {
  return typeof __MUVEE_DINGTALK_VERSION__ === 'string' ? __MUVEE_DINGTALK_VERSION__ : '0.0.0-dev';
}

const GLOBAL_HELP = `
Global options (before or after the command):
  --env-file <path>  read variables from this file (default: ./.env when present)
  --env <path>       the same; use it with npx, whose Node reads --env-file itself
  --db <path>        the SQLite user store (default: MUVEE_DINGTALK_DB or ./muvee-dingtalk.db)
  --json             exactly one JSON document on stdout; everything else on stderr
  --no-color         no colours in the output`;

function examples(lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

type Runner = (spec: CommandSpec, args: string[], command: Command) => Promise<void>;

/** Pure: Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

/** One commander command (and its subcommands) from a declaration. */
function addCommand(parent: Command, spec: CommandSpec, runner: Runner): void {
  const command = parent.command(spec.name).description(spec.summary);
  for (const argument of spec.arguments ?? []) {
    command.argument(argument.name, argument.description, argument.defaultValue);
  }
  for (const [key, declared] of Object.entries(spec.options ?? {})) {
    const option = new Option(declared.flags, declared.description);
    if (declared.defaultValue !== undefined)
      option.default(declared.defaultValue, declared.defaultDescription);
    const parse = declared.parse;
    if (parse)
      option.argParser((value: string, previous: unknown) => {
        try {
          return parse(value, previous);
        } catch (error) {
          // Commander words its own class as every other option error.
          if (error instanceof InvalidArgument) throw new InvalidArgumentError(error.message);
          throw error;
        }
      });
    if (declared.choices) option.choices(declared.choices);
    // The key `run` reads must be the one commander fills (`--http-timeout` → httpTimeout).
    if (option.attributeName() !== key) {
      throw new Error(`${spec.name}: option ${declared.flags} is declared as '${key}'`);
    }
    command.addOption(option);
  }
  command.addHelpText('after', examples(spec.examples) + (spec.notes ? `\n${spec.notes}\n` : ''));
  if (spec.subcommands) {
    for (const sub of spec.subcommands) addCommand(command, sub, runner);
    // Reached only when no subcommand matched: the default one for none, else a usage error
    // with a suggestion (commander would hand `users lst` to the default as an argument).
    const fallback = spec.subcommands.find((sub) => sub.isDefault);
    command.allowExcessArguments(true).action(async () => {
      const [name] = command.args;
      if (name === undefined && fallback) return runner(fallback, [], command);
      const names = spec.subcommands!.map((sub) => sub.name);
      const near = names.find((n) => editDistance(n, name ?? '') <= 2);
      throw new CliError(
        'usage',
        `${name === undefined ? 'no' : `unknown`} ${spec.name} subcommand${name === undefined ? '' : ` '${name}'`}${near ? ` (did you mean ${near}?)` : ''}; one of ${names.join(', ')}`,
      );
    });
  } else {
    command.addHelpText('after', GLOBAL_HELP);
    command.action(async (...args: unknown[]) => {
      await runner(spec, args.slice(0, -2) as string[], args.at(-1) as Command);
    });
  }
  command.exitOverride();
  command.configureOutput({ outputError: () => {} });
}

/** The commander program for these declarations (all of them for help, one to run it). */
export function buildProgram(specs: CommandSpec[], runner: Runner, io?: Io): Command {
  const program = new Command('muvee-dingtalk')
    .description(
      'Run muvee\'s "Sign in with DingTalk" from a terminal: the OAuth2 flow, the user muvee would ' +
        'create, its session token, and a check of the configuration for CI.',
    )
    .version(version(), '-V, --version', 'print the version')
    .option('--env-file <path>', 'read variables from this file (default: ./.env when present)')
    .option('--env <path>', 'the same as --env-file, for npx (Node reads --env-file itself)')
    .option(
      '--db <path>',
      "the SQLite user store, or muvee's PostgreSQL as env:DATABASE_URL (a variable: keeps the password out of ps); overrides MUVEE_DINGTALK_DB; default ./muvee-dingtalk.db",
    )
    .option('--json', 'print exactly one JSON document on stdout; everything else on stderr')
    .option('--no-color', 'no colours in the output')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Start here (no DingTalk app needed, a built-in emulator plays DingTalk):
  $ npx muvee-dingtalk login --emulator

Configuration comes from flags, then the environment, then ./.env (see .env.example).
Exit codes: 0 ok, 2 usage/config, 3 DingTalk refused, 4 DingTalk unreachable or timeout,
5 token rejected, 6 denied by ALLOWED_DOMAINS, 7 a check failed, 130 interrupted.
Run 'muvee-dingtalk <command> --help' for each command's options and an example.
`,
    );
  program.exitOverride();
  program.configureOutput({
    outputError: () => {},
    // Help and version go through the injected sinks (a closed pipe is handled there).
    ...(io
      ? { writeOut: (s: string) => io.stdout.write(s), writeErr: (s: string) => io.stderr.write(s) }
      : {}),
  });
  for (const spec of specs) addCommand(program, spec, runner);
  if (io) {
    const visit = (command: Command) => {
      command.configureOutput({
        outputError: () => {},
        writeOut: (s: string) => io.stdout.write(s),
        writeErr: (s: string) => io.stderr.write(s),
      });
      command.commands.forEach(visit);
    };
    program.commands.forEach(visit);
  }
  return program;
}

/** Every declaration, in the order of the list. */
export async function allCommands(): Promise<CommandSpec[]> {
  const modules = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return modules.map((module) => module.command);
}

/** Pure: the first word that is not a global option (`--db x login` → login). */
export function commandNameIn(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--env-file' || arg === '--db') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * `--env <path>` is `--env-file <path>` under another name: Node scans every argument of its
 * own command line for `--env-file` (Node 20 to 24), so `npx muvee-dingtalk --env-file x`
 * is read, or refused with exit 9, by the Node that runs npx before this tool starts.
 */
function envFileAlias(globals: GlobalOptions & { env?: string }): GlobalOptions {
  const { env, ...rest } = globals;
  if (env === undefined) return rest;
  if (rest.envFile !== undefined && rest.envFile !== env) {
    throw new CliError('usage', '--env and --env-file name two files; pass one of them');
  }
  return { ...rest, envFile: env };
}

/** Prints an error the one way: a red ✗ line with the fix, or `{ "error": ... }` under --json. */
export function reportError(error: unknown, out: Output, env: NodeJS.ProcessEnv): number {
  const cliError = isCliError(error)
    ? error
    : new CliError(
        'internal',
        `unexpected error: ${error instanceof Error ? error.message : String(error)}; rerun with DEBUG=muvee-dingtalk and report it`,
        { cause: error },
      );
  if (out.json) {
    out.document({
      error: {
        code: cliError.code,
        message: cliError.message,
        ...(cliError.details ? { details: cliError.details } : {}),
      },
    });
  }
  // Messages quote untrusted values (DingTalk's error text, config values): sanitised.
  out.note(line`${out.c.red('✗')} ${safe(cliError.message)}`);
  // Read here, not from config: an error may come before (or from) loading the configuration.
  if (debugRequested(env)) {
    const origin =
      cliError.code === 'internal' && cliError.cause instanceof Error ? cliError.cause : cliError;
    if (origin.stack) out.note(out.c.dim(block`${origin.stack}`));
  }
  return cliError.exitCode;
}

/**
 * Runs the CLI on `args` (without `node` and the script). Never throws: returns the exit code.
 * Only the named command's module is loaded; help and typos load them all.
 */
export async function runCli(args: string[], io: Io): Promise<number> {
  const outputFor = (json: boolean, color: boolean) =>
    new Output({ json, color, env: io.env, stdout: io.stdout, stderr: io.stderr });
  const out = outputFor(args.includes('--json'), !args.includes('--no-color'));
  let exitCode = 0;
  try {
    const name = commandNameIn(args);
    const specs =
      name !== undefined && Object.hasOwn(COMMANDS, name)
        ? [(await COMMANDS[name]!()).command]
        : await allCommands();
    const program = buildProgram(
      specs,
      async (spec, positional, command) => {
        const globals = envFileAlias(command.optsWithGlobals() as GlobalOptions & { env?: string });
        const context: Context = {
          out: outputFor(Boolean(globals.json), globals.color !== false),
          io,
          globals,
        };
        const run = (watchedIo: Io) =>
          spec.run!({ ...context, io: watchedIo }, positional, command.opts() as never);
        const path = command.parent?.parent
          ? `${command.parent.name()} ${command.name()}`
          : command.name();
        exitCode = (await untilInterrupted(run, io, path)) ?? 0;
      },
      io,
    );
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) return reportError(error, out, io.env);
    if (
      error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
    )
      return 0;
    // Run without a command: commander printed the help; that is still a usage error.
    if (error.code === 'commander.help') return 2;
    return reportError(
      new CliError(
        'usage',
        `${error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}; see 'muvee-dingtalk --help'`,
      ),
      out,
      io.env,
    );
  }
  return exitCode;
}

/**
 * Every help text, rendered at 80 columns, keyed by command path ('' for the program,
 * 'users list', ...), plus 'version'. The build stores them in dist/help.json.
 */
export async function renderHelpTexts(): Promise<Record<string, string>> {
  const texts: Record<string, string> = { version: `${version()}\n` };
  const visit = (command: Command, path: string[]) => {
    let text = '';
    command.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => 80 });
    command.outputHelp();
    texts[path.join(' ')] = text;
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(
    buildProgram(await allCommands(), async () => {}),
    [],
  );
  return texts;
}
