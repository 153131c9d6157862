/**
 * `login`: what muvee does when someone clicks "Continue with DingTalk", from a terminal.
 *
 * Flow: pick who plays DingTalk (the real one, or the in-process emulator) → bind the
 * callback listener → print the authorize URL and open the browser (or approve headlessly)
 * → wait for the callback, a pasted URL, the timeout or Ctrl-C → exchange the code → fetch
 * the profile → resolve the email → admit → role → store → mint the session → answer the
 * browser with the success page (only now) → print everything.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { get } from 'node:http';
import {
  commandConfig,
  defineCommand,
  httpTimeoutOption,
  option,
  type Context,
  type OptionValues,
} from '../command.js';
import {
  startCallbackServer,
  type AcceptedCallback,
  type CallbackServer,
} from '../callback-server.js';
import { CALLBACK_PATH } from '../checks.js';
import {
  isLoopbackHost,
  requireClientCredentials,
  requireJwtSecret,
  type Config,
} from '../config.js';
import {
  buildAuthorizeUrl,
  CallbackError,
  newState,
  parsePasted,
  type CallbackResult,
} from '../dingtalk/authorize.js';
import { DingTalkClient, type Credentials, type Profile } from '../dingtalk/client.js';
import { admit, maskMobile, resolveEmail, roleFor } from '../dingtalk/identity.js';
import type { Emulator } from '../emulator/server.js';
import { CliError, isCliError } from '../errors.js';
import { failurePage, successPage } from '../html.js';
import { humanDuration, type Output } from '../output.js';
import { mintSessionToken, sessionCookie, SESSION_TTL_SECONDS } from '../session.js';
import type { LoginResult } from '../store.js';

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

/** Where DingTalk lives for this run, and with which app credentials. */
interface Provider {
  loginBase: string;
  apiBase: string;
  credentials: Credentials;
  emulator: Emulator | undefined;
  /** Emulated user the tool approves as itself (no browser). */
  autoApprove: string | undefined;
}

async function run(context: Context, _args: string[], options: LoginOptions): Promise<void> {
  const { out } = context;
  const config = commandConfig(context);
  const cleanup: (() => unknown)[] = [];
  // Ctrl-C from the very start: whatever is open gets closed by `cleanup`, nothing is stored.
  const cancel = new AbortController();
  const interrupted = new Promise<never>((_resolve, reject) => {
    const onSigint = () => {
      cancel.abort();
      reject(new CliError('interrupted', 'login cancelled (Ctrl-C); nothing was stored'));
    };
    const { signal } = context.io;
    if (signal.aborted) return onSigint();
    signal.addEventListener('abort', onSigint, { once: true });
    cleanup.push(() => signal.removeEventListener('abort', onSigint));
  });
  interrupted.catch(() => {});
  try {
    const provider = await chooseProvider(config, options, cleanup);
    let jwtSecret = config.jwtSecret;
    let demoSecret = false;
    if (!provider.emulator) jwtSecret = requireJwtSecret(config);
    else if (!jwtSecret) {
      jwtSecret = randomBytes(32).toString('hex');
      demoSecret = true;
    }

    const state = newState();
    const { server, redirectUrl } = await bindListener(config, options, provider, state, out);
    if (server) cleanup.push(() => server.close());
    const authorizeUrl = buildAuthorizeUrl(
      { loginBase: provider.loginBase, clientId: provider.credentials.clientId, redirectUrl },
      state,
    );

    out.note(
      `${out.c.bold('Sign in with DingTalk')}${provider.emulator ? out.c.dim(' (emulator)') : ''}: open this URL in a browser:`,
    );
    out.note(`  ${authorizeUrl}`);
    const aborts: Promise<never>[] = [interrupted];
    if (provider.autoApprove) {
      out.note(out.c.dim(`emulator: approving as '${provider.autoApprove}' without a browser`));
      aborts.push(approveHeadlessly(authorizeUrl));
    } else if (options.browser !== false) {
      await openBrowser(authorizeUrl, out);
    }

    const accepted = await waitForCallback({
      server,
      state,
      timeoutSeconds: options.timeout,
      out,
      aborts,
      cleanup,
      pasteFallback: provider.autoApprove === undefined,
      stdin: context.io.stdin,
    });
    const dingtalk = new DingTalkClient({
      apiBase: provider.apiBase,
      timeoutMs: options.httpTimeout * 1000,
    });
    cleanup.push(() => dingtalk.close());
    let outcome: Outcome;
    try {
      outcome = await Promise.race([
        completeLogin(accepted.result, {
          config,
          options,
          provider,
          dingtalk,
          jwtSecret,
          out,
          signal: cancel.signal,
        }),
        interrupted,
      ]);
    } catch (error) {
      await accepted.respond?.(
        pageStatus(error),
        failurePage('Sign-in failed', isCliError(error) ? error.message : 'unexpected error'),
      );
      throw error;
    }
    await accepted.respond?.(
      200,
      successPage({ email: outcome.email, role: outcome.role, nick: outcome.profile.nick }),
    );
    report(outcome, { out, config, demoSecret, emulator: provider.emulator !== undefined });
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

async function chooseProvider(
  config: Config,
  options: LoginOptions,
  cleanup: (() => unknown)[],
): Promise<Provider> {
  if (!options.emulator) {
    if (options.autoApprove !== undefined) {
      throw new CliError(
        'usage',
        '--auto-approve only works with --emulator (real DingTalk needs a person to approve)',
      );
    }
    return {
      loginBase: config.loginBase,
      apiBase: config.apiBase,
      credentials: requireClientCredentials(config),
      emulator: undefined,
      autoApprove: undefined,
    };
  }
  const [{ startEmulator }, users] = await Promise.all([
    import('../emulator/server.js'),
    import('../emulator/users.js'),
  ]);
  // No browser can open (CI, no display): approve the default user ourselves, so
  // `login --emulator` completes unattended. --no-browser means someone else opens the URL.
  const cannotOpen = config.runtime.ci || !config.runtime.hasDisplay;
  const autoApprove =
    options.autoApprove === true
      ? users.DEFAULT_USER
      : typeof options.autoApprove === 'string'
        ? options.autoApprove
        : options.browser !== false && cannotOpen
          ? users.DEFAULT_USER
          : undefined;
  const emulator = await startEmulator({ autoApprove });
  cleanup.push(() => emulator.close());
  return {
    loginBase: emulator.url,
    apiBase: emulator.url,
    credentials: { clientId: users.EMULATOR_CLIENT_ID, clientSecret: users.EMULATOR_CLIENT_SECRET },
    emulator,
    autoApprove,
  };
}

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:0`, `:8080` or `8080`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new CliError('usage', `--listen '${text}' is not host:port; use e.g. 127.0.0.1:8080`);
  }
  return { host: match[1] || '127.0.0.1', port };
}

async function bindListener(
  config: Config,
  options: LoginOptions,
  provider: Provider,
  state: string,
  out: Output,
): Promise<{ server: CallbackServer | undefined; redirectUrl: string }> {
  if (provider.emulator) {
    // A free port each run, registered with the emulator, so runs can go side by side.
    const server = await startCallbackServer({
      host: '127.0.0.1',
      port: 0,
      path: CALLBACK_PATH,
      expectedState: state,
    });
    const redirectUrl = `http://127.0.0.1:${server.port}${CALLBACK_PATH}`;
    provider.emulator.registerRedirectUri(redirectUrl);
    return { server, redirectUrl };
  }
  let redirect: URL;
  try {
    redirect = new URL(config.redirectUrl);
  } catch {
    throw new CliError(
      'config',
      `DINGTALK_REDIRECT_URL '${config.redirectUrl}' is not a URL; set it to the callback registered in the DingTalk console`,
    );
  }
  const defaultPort = redirect.protocol === 'https:' ? 443 : 80;
  const target = options.listen
    ? parseListen(options.listen)
    : isLoopbackHost(redirect.hostname)
      ? { host: redirect.hostname, port: Number(redirect.port || defaultPort) }
      : undefined;
  if (!target) {
    out.note(
      out.c.yellow(
        `DINGTALK_REDIRECT_URL is on '${redirect.hostname}', not this machine, so DingTalk will send the browser there.\n` +
          'When the browser lands on that page (it may fail to load), copy the whole URL from the address bar\n' +
          'and paste it here, then press Enter. (Or use --listen host:port behind a tunnel.)',
      ),
    );
    return { server: undefined, redirectUrl: config.redirectUrl };
  }
  if (options.listen && !isLoopbackHost(target.host)) {
    out.warn(
      `listening on ${target.host}, which is not loopback: other machines can reach the callback listener`,
    );
  }
  if (redirect.protocol === 'https:' && !options.listen) {
    throw new CliError(
      'config',
      `DINGTALK_REDIRECT_URL '${config.redirectUrl}' is https on loopback, but the listener speaks plain http; use http://localhost:<port>${CALLBACK_PATH} for local logins`,
    );
  }
  const server = await startCallbackServer({
    ...target,
    path: redirect.pathname,
    expectedState: state,
  });
  return { server, redirectUrl: config.redirectUrl };
}

async function openBrowser(url: string, out: Output): Promise<void> {
  try {
    const { default: open } = await import('open');
    const child = await open(url);
    child.on('error', () => out.warn('could not open a browser; open the URL above yourself'));
    child.unref();
  } catch {
    out.warn('could not open a browser; open the URL above yourself');
  }
}

/** Plays the browser for the emulator: follow its redirect to our own listener. */
function approveHeadlessly(authorizeUrl: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const fail = (why: string) =>
      reject(
        new CliError(
          'internal',
          `the emulator's headless approval failed (${why}); run with --no-browser and open the URL yourself`,
        ),
      );
    get(authorizeUrl, { agent: false }, (res) => {
      res.resume();
      const location = res.headers.location;
      if (res.statusCode !== 302 || !location)
        return fail(`authorize answered HTTP ${res.statusCode}`);
      // The listener answers only when the login is over; that response is the "browser" page.
      get(location, { agent: false }, (page) => page.resume()).on('error', () => {});
    }).on('error', (error) => fail(error.message));
  });
}

interface Waiting {
  result: CallbackResult;
  respond: AcceptedCallback['respond'] | undefined;
}

/** Races the callback, a pasted URL or code, the timeout and the aborts (Ctrl-C, headless failure). */
async function waitForCallback(input: {
  server: CallbackServer | undefined;
  state: string;
  timeoutSeconds: number;
  out: Output;
  aborts: Promise<never>[];
  cleanup: (() => unknown)[];
  pasteFallback: boolean;
  stdin: () => NodeJS.ReadableStream;
}): Promise<Waiting> {
  const { out, timeoutSeconds } = input;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const waits: Promise<Waiting>[] = [...input.aborts];
  if (input.server)
    waits.push(input.server.accepted.then((a) => ({ result: a.result, respond: a.respond })));

  let stopSpinner = () => {};
  const pasteHint = input.pasteFallback ? '; or paste the URL the browser landed on' : '';
  if (out.interactive) {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    let i = 0;
    const stream = out.errorStream;
    const timer = setInterval(() => {
      const left = humanDuration((deadline - Date.now()) / 1000);
      stream.write(
        `\r\x1b[2K${frames[i++ % frames.length]} waiting for DingTalk (${left} left; Ctrl-C to cancel${pasteHint})`,
      );
    }, 120);
    stopSpinner = () => {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
      stopSpinner = () => {};
    };
    input.cleanup.push(() => stopSpinner());
  } else {
    out.note(
      out.c.dim(
        `waiting up to ${humanDuration(timeoutSeconds)} for the callback${pasteHint ? ` (${pasteHint.slice(2)})` : ''}`,
      ),
    );
  }

  // Nobody pastes when the tool approves itself (and opening stdin costs ~8 ms).
  if (input.pasteFallback)
    waits.push(readPasted(input.stdin, input.state, out, input.cleanup, () => stopSpinner()));
  waits.push(
    new Promise<never>((_resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CliError(
              'timeout',
              `no callback within ${humanDuration(timeoutSeconds)}; approve in the browser sooner, or raise --timeout`,
            ),
          ),
        timeoutSeconds * 1000,
      );
      input.cleanup.push(() => clearTimeout(timer));
    }),
  );
  try {
    return await Promise.race(waits);
  } finally {
    stopSpinner();
  }
}

/** The paste fallback: each stdin line is a redirected URL or a bare code. */
function readPasted(
  openStdin: () => NodeJS.ReadableStream,
  state: string,
  out: Output,
  cleanup: (() => unknown)[],
  onInput: () => void,
): Promise<Waiting> {
  return new Promise<Waiting>((resolve) => {
    let stdin: NodeJS.ReadableStream & { destroy?: () => void };
    try {
      stdin = openStdin();
    } catch {
      return; // no stdin at all: the callback or the timeout decides
    }
    let buffer = '';
    const onData = (chunk: Buffer) => {
      onInput();
      buffer += chunk.toString('utf8');
      if (buffer.length > 64 * 1024) buffer = buffer.slice(-64 * 1024);
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line === '') continue;
        try {
          return resolve({ result: parsePasted(line, state), respond: undefined });
        } catch (error) {
          if (!(error instanceof CallbackError)) throw error;
          out.warn(
            `not accepted: ${error.message}; paste the whole URL the browser landed on, or the code`,
          );
        }
      }
    };
    stdin.on('data', onData);
    stdin.on('error', () => {});
    cleanup.push(() => {
      stdin.off('data', onData);
      stdin.pause();
      stdin.destroy?.();
    });
  });
}

interface Outcome {
  profile: Profile;
  email: string;
  emailSource: 'profile' | 'synthetic';
  emailNote: string | undefined;
  admission: { admitted: boolean; reason: string };
  role: 'admin' | 'member';
  stored: LoginResult | undefined;
  token: string;
  exp: number;
  uid: string;
}

/** Exchange → profile → email → admission → role → store → session. */
async function completeLogin(
  result: CallbackResult,
  ctx: {
    config: Config;
    options: LoginOptions;
    provider: Provider;
    dingtalk: DingTalkClient;
    jwtSecret: string;
    out: Output;
    /** Aborted by Ctrl-C: the flow may still be running, but must not write after it. */
    signal: AbortSignal;
  },
): Promise<Outcome> {
  const { config, out } = ctx;
  if (result.kind === 'error') {
    const denied = result.error === 'access_denied';
    throw new CliError(
      denied ? 'consent-denied' : 'dingtalk-refused',
      `DingTalk ended the login with error '${result.error}'${result.description ? ` (${result.description})` : ''}; ` +
        (denied
          ? 'the user denied consent: run login again and approve'
          : 'check the app settings in the DingTalk console'),
      { details: { error: result.error } },
    );
  }
  // Load (never open) the store before the first request: its code must be compiled before
  // the client changes V8 flags, or its compiled-code cache is refused (code-cache.ts).
  const storeModule = ctx.options.store !== false ? import('../store.js') : undefined;
  storeModule?.catch(() => {});
  const userToken = await ctx.dingtalk.exchangeCode(result.code, ctx.provider.credentials);
  const profile = await ctx.dingtalk.getProfile(userToken.accessToken);
  const resolved = resolveEmail(profile);
  const admission = admit(resolved.email, config.allowedDomains.items);
  const role = roleFor(resolved.email, config.adminEmails.items);
  if (!admission.admitted) {
    if (!out.json) printProfile(out, profile, resolved, admission, role);
    throw new CliError(
      'policy-denied',
      `muvee would refuse ${resolved.email}: ${admission.reason}; add the domain to ALLOWED_DOMAINS, or sign in with another account. Nothing was stored`,
      { details: { email: resolved.email } },
    );
  }
  let stored: LoginResult | undefined;
  if (storeModule) {
    const { Store } = await storeModule;
    if (ctx.signal.aborted)
      throw new CliError('interrupted', 'login cancelled (Ctrl-C); nothing was stored');
    const store = Store.open(config.dbFile);
    try {
      stored = store.recordLogin({
        email: resolved.email,
        name: typeof profile.nick === 'string' ? profile.nick : '',
        avatarUrl: typeof profile.avatarUrl === 'string' ? profile.avatarUrl : '',
        admin: role === 'admin',
        unionId: profile.unionId,
      });
    } finally {
      store.close();
    }
  }
  const uid = stored?.user.id ?? randomUUID();
  const { token, claims } = mintSessionToken(
    { uid, email: resolved.email, role: stored?.user.role ?? role },
    ctx.jwtSecret,
  );
  return {
    profile,
    email: resolved.email,
    emailSource: resolved.source,
    emailNote: resolved.note,
    admission,
    role: stored?.user.role ?? role,
    stored,
    token,
    exp: claims.exp,
    uid,
  };
}

function pageStatus(error: unknown): number {
  const code = isCliError(error) ? error.exitCode : 1;
  return code === 3 || code === 6 ? 403 : code === 4 ? 502 : 500;
}

function printProfile(
  out: Output,
  profile: Profile,
  resolved: { email: string; source: string; note: string | undefined },
  admission: { admitted: boolean; reason: string },
  role: string,
): void {
  const { c } = out;
  const show = (value: unknown) =>
    value === undefined || value === '' ? c.dim('—') : String(value);
  out.line(c.bold('Profile') + c.dim(' (GET /v1.0/contact/users/me)'));
  out.table([
    ['nick', show(profile.nick)],
    ['unionId', show(profile.unionId)],
    ['openId', show(profile.openId)],
    ['email', show(profile.email)],
    [
      'mobile',
      typeof profile.mobile === 'string' && profile.mobile
        ? maskMobile(profile.mobile)
        : c.dim('—'),
    ],
    ['avatarUrl', show(profile.avatarUrl)],
    ['stateCode', show(profile.stateCode)],
  ]);
  out.line();
  out.line(c.bold('What muvee would do'));
  out.table([
    [
      'email',
      `${resolved.email} ${c.dim(resolved.source === 'profile' ? '(from the profile)' : `(synthetic: ${resolved.note ?? 'no email'})`)}`,
    ],
    [
      'admitted',
      admission.admitted
        ? `${c.green('yes')}: ${admission.reason}`
        : `${c.red('no')}: ${admission.reason}`,
    ],
    ['role', `${role} ${c.dim(role === 'admin' ? '(in ADMIN_EMAILS)' : '(not in ADMIN_EMAILS)')}`],
  ]);
}

function report(
  outcome: Outcome,
  ctx: { out: Output; config: Config; demoSecret: boolean; emulator: boolean },
): void {
  const { out, config } = ctx;
  const { c } = out;
  const cookie = sessionCookie(outcome.token);
  if (out.json) {
    const { stored } = outcome;
    out.document({
      email: outcome.email,
      emailSource: outcome.emailSource,
      admitted: outcome.admission.admitted,
      role: outcome.role,
      profile: outcome.profile,
      user: stored
        ? {
            id: stored.user.id,
            email: stored.user.email,
            name: stored.user.name,
            avatarUrl: stored.user.avatarUrl,
            role: stored.user.role,
            createdAt: stored.user.createdAt,
          }
        : null,
      sessionToken: outcome.token,
    });
  }
  out.line(`${c.green('✓')} Signed in with DingTalk${ctx.emulator ? c.dim(' (emulator)') : ''}`);
  out.line();
  printProfile(
    out,
    outcome.profile,
    { email: outcome.email, source: outcome.emailSource, note: outcome.emailNote },
    outcome.admission,
    outcome.role,
  );
  const stored = outcome.stored;
  const userRows: [string, string][] = stored
    ? [
        ['id', stored.user.id],
        [
          'status',
          stored.created
            ? c.green(`new user, stored in ${config.dbPath}`)
            : `existing user updated in ${config.dbPath} (created ${stored.user.createdAt})`,
        ],
        [
          'name',
          `${stored.user.name}${stored.user.nameOverridden ? c.dim(' (overridden by the user: not refreshed)') : ''}`,
        ],
        [
          'avatar',
          `${stored.user.avatarUrl || c.dim('—')}${stored.user.avatarOverridden ? c.dim(' (overridden by the user: not refreshed)') : ''}`,
        ],
        [
          'role',
          `${stored.user.role}${stored.promoted ? c.green(' (promoted to admin by ADMIN_EMAILS)') : ''}`,
        ],
      ]
    : [
        [
          'status',
          c.yellow(
            `not stored (--no-store); the token's uid ${outcome.uid} belongs to no stored user`,
          ),
        ],
      ];
  if (stored?.previousEmailForUnionId) {
    userRows.push([
      'note',
      c.yellow(
        `this DingTalk account (unionId ${outcome.profile.unionId}) was stored before as ${stored.previousEmailForUnionId}; its email changed`,
      ),
    ]);
  }
  out.line();
  out.line(c.bold('Stored user'));
  out.table(userRows);
  const site = config.baseDomain ? `https://${config.baseDomain}/` : 'http://localhost:8080/';
  out.line();
  out.line(c.bold('Session') + c.dim(` (HS256, expires in ${humanDuration(SESSION_TTL_SECONDS)})`));
  out.table([
    ['cookie', cookie],
    ['curl', `curl -H 'Cookie: muvee_session=${outcome.token}' ${site}`],
    ...(ctx.demoSecret
      ? []
      : ([['check', `muvee-dingtalk verify-token 'muvee_session=${outcome.token}'`]] as [
          string,
          string,
        ][])),
  ]);
  if (ctx.demoSecret) {
    out.line();
    out.line(
      c.yellow(
        '⚠ JWT_SECRET is not set, so a random secret made for this run signed the token: muvee will not accept it. Set JWT_SECRET to sign real sessions.',
      ),
    );
  }
}
