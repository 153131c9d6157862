/**
 * `login`: what muvee does when someone clicks "Continue with DingTalk", from a terminal.
 * The flow itself is `login/flow.ts`; this declares the command, turns its flags into the
 * flow's inputs and prints the outcome (`login/report.ts`).
 */
import {
  commandConfig,
  defineCommand,
  httpTimeoutOption,
  option,
  type Context,
  type OptionValues,
} from '../command.js';
import { systemBrowser } from '../login/browser.js';
import { runLoginFlow, sqliteStore } from '../login/flow.js';
import { chooseProvider, sessionSecret } from '../login/provider.js';
import { resolve } from 'node:path';
import { requireBaseUrls } from '../config.js';
import { reportLogin } from '../login/report.js';
import { RULES, type Rules } from '../dingtalk/identity.js';
import { CliError } from '../errors.js';

/** Where emulator runs store their demo users unless `--db` names a database for the run. */
const EMULATOR_DB = 'muvee-dingtalk-emulator.db';

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
  listen: option.string(
    '--listen <host:port>',
    'where the callback listener binds (default: host and port of DINGTALK_REDIRECT_URL)',
  ),
  timeout: option.seconds(
    '--timeout <seconds>',
    'give up waiting for the callback after this long',
    300,
    { min: 1, max: 86400 },
  ),
  httpTimeout: httpTimeoutOption,
  store: option.negatable('--no-store', 'do not write the user to the local database'),
  useJwtSecret: option.flag(
    '--use-jwt-secret',
    'with --emulator: sign with JWT_SECRET (default: a random per-run secret, so demo users never get a real session)',
  ),
  showMobile: option.flag('--show-mobile', "show the profile's mobile number unmasked"),
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
  const { out, io } = context;
  const config = commandConfig(context);
  if (!options.emulator) requireBaseUrls(config);
  // Ctrl-C from the very start (reading the signal installs the handlers): nothing is stored.
  const { signal } = io;
  const browser = options.browser !== false;
  const provider = await chooseProvider(config, {
    emulator: options.emulator,
    autoApprove: options.autoApprove,
    browser,
  });
  try {
    const jwt = sessionSecret(config, provider, options.useJwtSecret === true);
    // An emulator run writes its demo users into the configured database only when this run
    // names it (--db); otherwise into a file of its own beside the working directory.
    const dbFile =
      provider.emulator && context.globals.db === undefined
        ? resolve(io.cwd, EMULATOR_DB)
        : config.dbFile;
    const dbPath =
      provider.emulator && context.globals.db === undefined ? `./${EMULATOR_DB}` : config.dbPath;
    const outcome = await runLoginFlow({
      config,
      provider,
      jwtSecret: jwt.secret,
      options: {
        rules: rulesOf(options.rules ?? config.rules),
        timeoutSeconds: options.timeout,
        listen: options.listen,
        httpTimeoutSeconds: options.httpTimeout,
      },
      out,
      signal,
      openBrowser: browser ? systemBrowser(out) : undefined,
      paste: () => io.stdin(),
      openStore: options.store !== false ? sqliteStore(dbFile, signal) : undefined,
      beforeFirstRequest: io.beforeFirstRequest,
    });
    reportLogin(out, outcome, {
      dbPath,
      showMobile: options.showMobile === true,
      baseDomain: config.baseDomain,
      demoSecret: jwt.demo,
      emulator: provider.emulator !== undefined,
    });
  } finally {
    await provider.emulator?.close();
  }
}
