/**
 * The command line: commander wiring, global options, and the one place that prints errors
 * and sets the exit code. Commands live in `commands/` and are imported only when run, so
 * a command loads nothing it does not use. (`cli.ts` answers plain `--help`/`--version`
 * from texts this module renders at build time, without loading commander.)
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, debugRequested, isCliError } from './errors.js';
import { Output } from './output.js';

export interface GlobalOptions {
  envFile?: string;
  db?: string;
  json: boolean;
  color: boolean;
}

export interface Context {
  out: Output;
  globals: GlobalOptions;
}

/** Set by the build (scripts/build.mjs); absent when the sources run directly. */
declare const __MUVEE_DINGTALK_VERSION__: string | undefined;

function version(): string {
  return typeof __MUVEE_DINGTALK_VERSION__ === 'string' ? __MUVEE_DINGTALK_VERSION__ : '0.0.0-dev';
}

const seconds =
  (name: string, min = 0) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(
        `${name} must be a number of seconds ≥ ${min}, got '${value}'`,
      );
    }
    return n;
  };

/** `--http-timeout`: how long one DingTalk API call may take (login, check-config --live). */
const httpTimeoutOption = () =>
  new Option('--http-timeout <seconds>', 'give up on a DingTalk API call after this long')
    .default(10)
    .argParser(seconds('--http-timeout', 0.1));

const collect = (value: string, previous: string[] = []) => [...previous, value];

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(
  run: (load: () => Promise<CommandModule>, args: unknown[], command: Command) => Promise<void>,
  only?: string,
): Command {
  const program = new Command('muvee-dingtalk')
    .description(
      'Run muvee\'s "Sign in with DingTalk" from a terminal: the OAuth2 flow, the user muvee would ' +
        'create, its session token, and a check of the configuration for CI.',
    )
    .version(version(), '-V, --version', 'print the version')
    .option('--env-file <path>', 'read variables from this file (default: ./.env when present)')
    .option(
      '--db <path>',
      'the SQLite user store (overrides MUVEE_DINGTALK_DB; default ./muvee-dingtalk.db)',
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

  const commands: Record<string, () => void> = {
    login: () => {
      program
        .command('login')
        .description(
          'sign in with DingTalk like muvee does: browser, callback, profile, user, session token',
        )
        .option(
          '--emulator',
          'run the whole flow against the built-in DingTalk emulator (no credentials needed)',
        )
        .option(
          '--auto-approve [user]',
          'with --emulator: approve as this emulated user without a browser (default zhangsan)',
        )
        .option('--no-browser', 'do not open a browser; only print the authorize URL')
        .option(
          '--listen <host:port>',
          'where the callback listener binds (default: host and port of DINGTALK_REDIRECT_URL)',
        )
        .addOption(
          new Option('--timeout <seconds>', 'give up waiting for the callback after this long')
            .default(300)
            .argParser(seconds('--timeout', 1)),
        )
        .addOption(httpTimeoutOption())
        .option('--no-store', 'do not write the user to the local database')
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk login --emulator',
            'muvee-dingtalk login --emulator --auto-approve lisi --json',
            'muvee-dingtalk login                      # real DingTalk, with .env filled in',
            'muvee-dingtalk login --no-browser --timeout 600   # headless: open the URL elsewhere, paste the result',
          ) +
            `
    The authorize URL is always printed on stderr. If the browser lands on a page that does not
    load (e.g. the redirect URL is muvee's real domain), paste that page's full URL into the terminal.`,
        )
        .action((...args) =>
          run(() => import('./commands/login.js'), args, args.at(-1) as Command),
        );
    },
    'verify-token': () => {
      program
        .command('verify-token')
        .description("check a muvee session token (HS256 with JWT_SECRET, muvee's claims)")
        .argument(
          '[token]',
          "the JWT, 'muvee_session=<jwt>', a Cookie header value, or '-' to read stdin",
          '-',
        )
        .addOption(
          new Option('--leeway <seconds>', 'tolerate this much clock skew for exp/nbf')
            .default(0)
            .argParser(seconds('--leeway')),
        )
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk verify-token - < token.txt      # from stdin: keeps the token out of shell history',
            "muvee-dingtalk verify-token 'muvee_session=eyJ...; theme=dark'",
            'muvee-dingtalk verify-token eyJhbGciOiJIUzI1NiIs... --leeway 30 --json',
          ),
        )
        .action((...args) =>
          run(() => import('./commands/verify-token.js'), args, args.at(-1) as Command),
        );
    },
    'mint-token': () => {
      program
        .command('mint-token')
        .description('sign a muvee session token for a stored user (--email) or explicit claims')
        .option(
          '--email <email>',
          'the user (looked up in the local database unless --uid is given)',
        )
        .option('--uid <uuid>', 'explicit user id (claims are then taken from the flags)')
        .addOption(new Option('--role <role>', 'explicit role').choices(['admin', 'member']))
        .option('--ttl <duration>', 'lifetime: 7d, 12h, 30m or seconds', '7d')
        .option('--cookie', 'print the whole muvee_session Set-Cookie value')
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk mint-token --email zhangsan@corp.example',
            'muvee-dingtalk mint-token --uid 7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a --email a@corp.example --role admin --ttl 1h --cookie',
          ),
        )
        .action((...args) =>
          run(() => import('./commands/mint-token.js'), args, args.at(-1) as Command),
        );
    },
    users: () => {
      const users = program
        .command('users')
        .description('list or show the users of the local database')
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk users list',
            'muvee-dingtalk users show zhangsan@corp.example --json',
          ),
        );
      users
        .command('list', { isDefault: true })
        .description('one line per user')
        .addHelpText('after', examples('muvee-dingtalk users list --db ./team.db'))
        .action((...args) =>
          run(() => import('./commands/users.js'), args, args.at(-1) as Command),
        );
      users
        .command('show')
        .description('one user in full, by email or id')
        .argument('<email-or-id>', 'the email or the user id (UUID)')
        .addHelpText('after', examples('muvee-dingtalk users show zhangsan@corp.example'))
        .action((...args) =>
          run(() => import('./commands/users.js'), args, args.at(-1) as Command),
        );
    },
    'check-config': () => {
      program
        .command('check-config')
        .description('validate the configuration, one line per check (CI smoke test)')
        .option('--live', 'also ask DingTalk whether DINGTALK_CLIENT_ID/SECRET are valid')
        .addOption(httpTimeoutOption())
        .option('--strict', 'warnings fail too')
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk check-config',
            'muvee-dingtalk check-config --live --strict --json   # in CI',
          ),
        )
        .action((...args) =>
          run(() => import('./commands/check-config.js'), args, args.at(-1) as Command),
        );
    },
    emulator: () => {
      program
        .command('emulator')
        .description('run a local DingTalk (login page and API) for demos and CI')
        .addOption(
          new Option('--port <port>', 'port on 127.0.0.1 (0: any free port)')
            .default(0)
            .argParser(seconds('--port')),
        )
        .option('--users <file>', 'emulated users from a JSON file (default: the built-in set)')
        .option(
          '--auto-approve [user]',
          'approve at once as this user instead of showing the login page',
        )
        .option(
          '--client-id <appkey>',
          'the AppKey it accepts (default: DINGTALK_CLIENT_ID, else the demo app)',
        )
        .option(
          '--client-secret <secret>',
          'the AppSecret it accepts (default: DINGTALK_CLIENT_SECRET, else the demo secret)',
        )
        .option(
          '--redirect-uri <url>',
          'a registered callback (repeatable; default: DINGTALK_REDIRECT_URL)',
          collect,
        )
        .option(
          '--fault <endpoint=spec>',
          'inject a fault, e.g. userAccessToken=500, usersMe=html, accessToken=latency:15000 (repeatable)',
          collect,
        )
        .addHelpText(
          'after',
          examples(
            'muvee-dingtalk emulator --port 9900',
            'muvee-dingtalk emulator --port 9900 --auto-approve lisi &   # then, in CI:\n' +
              '    DINGTALK_API_BASE=http://127.0.0.1:9900 muvee-dingtalk check-config --live',
          ),
        )
        .action((...args) =>
          run(() => import('./commands/emulator.js'), args, args.at(-1) as Command),
        );
    },
  };
  // Only the command being run is built (a few ms each); all of them for help or a typo.
  const selected = only !== undefined && Object.hasOwn(commands, only) ? only : undefined;
  for (const [name, add] of Object.entries(commands)) {
    if (selected === undefined || selected === name) add();
  }

  return program;
}

export interface CommandModule {
  run: (
    context: Context,
    args: unknown[],
    options: Record<string, unknown>,
    command: Command,
  ) => Promise<number | void>;
}

/** Prints an error the one way: a red ✗ line with the fix, or `{ "error": ... }` under --json. */
export function reportError(error: unknown, out: Output): number {
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
  out.note(`${out.c.red('✗')} ${cliError.message}`);
  // Read here, not from config: an error may come before (or from) loading the configuration.
  if (debugRequested(process.env)) {
    const origin =
      cliError.code === 'internal' && cliError.cause instanceof Error ? cliError.cause : cliError;
    if (origin.stack) out.note(out.c.dim(origin.stack));
  }
  return cliError.exitCode;
}

/**
 * Every help text, rendered at 80 columns, keyed by command path ('' for the program,
 * 'users list', ...), plus 'version'. The build stores them in dist/help.json.
 */
export function renderHelpTexts(): Record<string, string> {
  const texts: Record<string, string> = { version: `${version()}\n` };
  const visit = (command: Command, path: string[]) => {
    let text = '';
    command.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => 80 });
    command.outputHelp();
    texts[path.join(' ')] = text;
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(
    buildProgram(async () => {}),
    [],
  );
  return texts;
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

/** Runs the CLI. Never throws; sets `process.exitCode` and also returns it. */
export async function runProgram(argv: string[] = process.argv): Promise<number> {
  const json = argv.includes('--json');
  const out = new Output({ json, color: !argv.includes('--no-color'), env: process.env });
  let exitCode = 0;
  const program = buildProgram(
    async (load, args, command) => {
      const globals = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      const context: Context = {
        out: new Output({
          json: Boolean(globals.json),
          color: globals.color !== false,
          env: process.env,
        }),
        globals,
      };
      const module = await load();
      exitCode = (await module.run(context, args.slice(0, -2), command.opts(), command)) ?? 0;
    },
    commandNameIn(argv.slice(2)),
  );
  program.exitOverride();
  program.configureOutput({ outputError: () => {} });
  for (const sub of program.commands) {
    sub.exitOverride();
    sub.configureOutput({ outputError: () => {} });
    for (const nested of sub.commands) {
      nested.exitOverride();
      nested.configureOutput({ outputError: () => {} });
    }
  }
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.exitCode === 0 ||
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version'
      ) {
        exitCode = 0;
      } else if (error.code === 'commander.help') {
        // Run without a command: commander printed the help; that is still a usage error.
        exitCode = 2;
      } else {
        exitCode = reportError(
          new CliError(
            'usage',
            `${error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}; see 'muvee-dingtalk --help'`,
          ),
          out,
        );
      }
    } else {
      exitCode = reportError(error, out);
    }
  }
  process.exitCode = exitCode;
  return exitCode;
}
