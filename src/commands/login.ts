/**
 * `login`: what muvee does when someone clicks "Continue with DingTalk", from a terminal.
 * The flow itself is `login/flow.ts`; this declares the command, turns its flags into the
 * flow's inputs and prints the outcome (`login/report.ts`).
 */
import {
  commandConfig,
  defineCommand,
  httpTimeoutOption,
  InvalidArgument,
  option,
  type Context,
  type OptionValues,
} from '../cli/command.js';
import { systemBrowser } from '../login/browser.js';
import { interruptedError, runLoginFlow } from '../login/flow.js';
import { chooseProvider, sessionSecret } from '../login/provider.js';
import { resolve } from 'node:path';
import { announceDb, EMULATOR_DB, emulatorOwnDb, requireBaseUrls } from '../config/config.js';
import { loginStore, preflightLoginStore } from '../store/index.js';
import { NO_TOKEN_YET, reportLogin } from '../login/report.js';
import { RULES, type Rules } from '../muvee/identity.js';
import { CliError } from '../cli/errors.js';
import { isListenSpec } from '../login/listener.js';
import { Output, line, trusted } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';

function rulesOf(value: string | undefined): Rules {
  if (value === undefined) return 'documented';
  if (RULES.includes(value as Rules)) return value as Rules;
  throw new CliError(
    'config',
    `MUVEE_DINGTALK_RULES '${value}' is not documented or server; unset it or pick one`,
  );
}

const options = {
  emulator: option.flag(
    '--emulator',
    'run the whole flow against the built-in DingTalk emulator (no credentials needed)',
  ),
  autoApprove: option.optionalValue(
    '--auto-approve [user]',
    'with --emulator: approve as this emulated user without a browser (default zhangsan)',
  ),
  browser: option.negatable('--no-browser', 'do not open a browser; only print the authorize URL'),
  listen: {
    ...option.string(
      '--listen <host:port>',
      'where the callback listener binds (default: host and port of DINGTALK_REDIRECT_URL)',
    ),
    parse: (value: string) => {
      if (!isListenSpec(value))
        throw new InvalidArgument(
          `'${value}' is not host:port; use e.g. 127.0.0.1:8080, [::1]:8080 or 8080`,
        );
      return value;
    },
  },
  clientId: option.string(
    '--client-id <appkey>',
    "the app's AppKey for this run (overrides DINGTALK_CLIENT_ID; the secret only ever comes from the environment)",
  ),
  redirectUrl: {
    ...option.string(
      '--redirect-url <url>',
      'the callback registered in the console, for this run (overrides DINGTALK_REDIRECT_URL)',
    ),
    parse: (value: string) => {
      if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
        throw new InvalidArgument(
          `'${value}' is not an http(s) URL; use e.g. http://localhost:8080/auth/dingtalk/callback`,
        );
      return value;
    },
  },
  quiet: option.flag('--quiet', 'print only the session token on stdout (errors still on stderr)'),
  timeout: option.seconds(
    '--timeout <seconds>',
    'give up waiting for the callback after this long',
    300,
    { min: 1, max: 86400 },
  ),
  httpTimeout: httpTimeoutOption,
  store: option.negatable('--no-store', 'do not write the user to the local database'),
  apply: option.flag(
    '--apply',
    "with muvee's PostgreSQL (--db postgres://… or DATABASE_URL): write the login as muvee would (default: a dry run that writes nothing)",
  ),
  useJwtSecret: option.flag(
    '--use-jwt-secret',
    'with --emulator: sign with JWT_SECRET (default: a random per-run secret, so demo users never get a real session)',
  ),
  showMobile: option.flag('--show-mobile', "show the profile's mobile number unmasked"),
  verbose: option.flag(
    '--verbose',
    'print each DingTalk request and answer on stderr (secrets, codes and tokens redacted)',
  ),
  rules: option.choice(
    '--rules <rules>',
    "ALLOWED_DOMAINS as muvee's docs say (documented, the default) or as its server code does (server); default MUVEE_DINGTALK_RULES",
    RULES,
  ),
};
type LoginOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: 'login',
  summary: 'sign in with DingTalk like muvee does: browser, callback, profile, user, session token',
  options,
  examples: [
    'muvee-dingtalk login --emulator',
    'muvee-dingtalk login --emulator --auto-approve lisi --json',
    'muvee-dingtalk login                      # real DingTalk, with .env filled in',
    'muvee-dingtalk login --no-browser --timeout 600   # headless: open the URL elsewhere, paste the result',
  ],
  notes: `    The authorize URL is always printed on stderr. If the browser lands on a page that does not
    load (e.g. the redirect URL is muvee's real domain), paste that page's full URL into the terminal.`,
  run,
});

async function run(context: Context, _args: string[], options: LoginOptions): Promise<void> {
  const { io } = context;
  if (options.quiet && context.globals.json)
    throw new CliError('usage', '--quiet and --json ask for different stdout; pick one');
  if (options.useJwtSecret && !options.emulator)
    throw new CliError(
      'usage',
      '--use-jwt-secret is for --emulator runs (real DingTalk logins are always signed with JWT_SECRET); add --emulator or leave it out',
    );
  if (options.emulator && (options.clientId !== undefined || options.redirectUrl !== undefined))
    throw new CliError(
      'usage',
      '--client-id and --redirect-url are for real DingTalk; --emulator uses its demo app and a free loopback port',
    );
  // Flags, then the environment, then the env file: the two flags override for this run.
  const config = {
    ...commandConfig(context),
    ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    ...(options.redirectUrl !== undefined ? { redirectUrl: options.redirectUrl } : {}),
  };
  // --quiet: stdout holds the token alone; everything else a login prints goes to stderr.
  const out = options.quiet
    ? new Output({
        json: false,
        color: context.globals.color,
        env: io.env,
        stdout: io.stderr,
        stderr: io.stderr,
      })
    : context.out;
  if (!options.emulator) requireBaseUrls(config);
  // Everything that can be refused is refused before anything starts or opens.
  const rules = rulesOf(options.rules ?? config.rules);
  // An emulator run writes its demo users into the configured database only when this run
  // names it (--db); otherwise into a file of its own beside the working directory.
  const ownDb = options.emulator === true && context.globals.db === undefined;
  const dbFile = ownDb ? resolve(io.cwd, EMULATOR_DB) : config.dbFile;
  const dbPath = ownDb ? `./${EMULATOR_DB}` : config.dbPath;
  if (options.store !== false) {
    announceDb(out, ownDb ? emulatorOwnDb(config, io.cwd) : config);
  }
  // Ctrl-C from the very start (reading the signal installs the handlers): nothing is stored.
  const { signal } = io;
  // The store is judged now (a refused --apply, an unusable file), before anything starts.
  const store =
    options.store === false
      ? undefined
      : loginStore(dbFile, {
          apply: options.apply === true,
          signal,
          interrupted: interruptedError,
        });
  // Then what the store needs to work (the SQLite driver on this Node and the file's content;
  // muvee's PostgreSQL reachable, with its tables), before the listener binds or a browser opens.
  if (store) await preflightLoginStore(dbFile, dbPath, { signal, interrupted: interruptedError });
  const browser = options.browser !== false;
  const provider = await chooseProvider(config, {
    emulator: options.emulator,
    autoApprove: options.autoApprove,
    browser,
  });
  try {
    const jwt = sessionSecret(config, provider, options.useJwtSecret === true);
    const outcome = await runLoginFlow({
      config,
      provider,
      jwtSecret: jwt.secret,
      options: {
        rules,
        timeoutSeconds: options.timeout,
        listen: options.listen,
        httpTimeoutSeconds: options.httpTimeout,
      },
      out,
      signal,
      openBrowser: browser ? systemBrowser() : undefined,
      paste: () => io.stdin(),
      openStore: store,
      beforeFirstRequest: io.beforeFirstRequest,
      trace: options.verbose
        ? (await import('../dingtalk/trace.js')).verboseTracer(out)
        : undefined,
    });
    if (options.quiet) {
      out.note(line`${out.c.green('✓')} signed in as ${safe(outcome.email)} (${outcome.role})`);
      if (outcome.token === undefined) out.note(trusted(NO_TOKEN_YET));
      else io.stdout.write(`${outcome.token}\n`);
      return;
    }
    reportLogin(out, outcome, {
      dbPath,
      dryRun: store?.dryRun,
      showMobile: options.showMobile === true,
      baseDomain: config.baseDomain,
      demoSecret: jwt.demo,
      emulator: provider.emulator !== undefined,
      redirectUrl: config.redirectUrl,
      dbFlag: context.globals.db,
    });
  } finally {
    await provider.emulator?.close();
  }
}
