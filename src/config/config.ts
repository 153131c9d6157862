/**
 * Configuration: the one place that reads `process.env` and the `.env` file.
 *
 * Flow: read the env file (default `./.env` when present, or `--env-file`) with dotenv's
 * parser → layer the process environment over it → layer command-line flags over that →
 * normalise into one typed {@link Config}. Loading never fails on a missing or malformed
 * variable (so `check-config` can report it); commands ask for what they need with the
 * `require*` helpers, which throw a `config` error naming the fix.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { goTrimSpace } from '../muvee/go-strings.js';
export {
  announceDb,
  database,
  describeDb,
  EMULATOR_DB,
  emulatorOwnDb,
  type DbSource,
} from './db-choice.js';
import { databaseOf, readingEmulatorDb, type DbChoice, type Source } from './db-choice.js';
import { argvPasswordWarning, DB_FROM_ENV } from './db-target.js';
import { CliError, debugRequested } from '../cli/errors.js';

export const VARIABLES = [
  'DINGTALK_CLIENT_ID',
  'DINGTALK_CLIENT_SECRET',
  'DINGTALK_REDIRECT_URL',
  'BASE_DOMAIN',
  'ALLOWED_DOMAINS',
  'ADMIN_EMAILS',
  'JWT_SECRET',
  'MUVEE_DINGTALK_DB',
  'DATABASE_URL',
  'DINGTALK_LOGIN_BASE',
  'DINGTALK_API_BASE',
  'MUVEE_DINGTALK_RULES',
  'MUVEE_URL',
] as const;
export type VariableName = (typeof VARIABLES)[number];
export type { Source };

export const DEFAULTS = {
  DINGTALK_REDIRECT_URL: 'http://localhost:8080/auth/dingtalk/callback',
  MUVEE_DINGTALK_DB: './muvee-dingtalk.db',
  DINGTALK_LOGIN_BASE: 'https://login.dingtalk.com',
  DINGTALK_API_BASE: 'https://api.dingtalk.com',
} as const satisfies Partial<Record<VariableName, string>>;

/** A list variable split on commas; `emptyItems` counts `a,,b`-style holes. */
export interface ListValue {
  items: string[];
  emptyItems: number;
}

export interface EnvFileInfo {
  path: string;
  /** Whether the file was found (a missing default `./.env` is not an error). */
  loaded: boolean;
  /**
   * Lines dotenv would silently drop or cut short: `{ line: 3, text: 'JWT_SECRET …', why }`.
   * `text` never holds a value (a malformed line is often a secret).
   */
  malformed: { line: number; text: string; why?: string }[];
  /** Names that look like ours but are not (typos such as `DINGTALK_CLIENTID`). */
  unknown: string[];
}

export interface Config extends DbChoice {
  clientId: string | undefined;
  clientSecret: string | undefined;
  redirectUrl: string;
  baseDomain: string | undefined;
  allowedDomains: ListValue;
  adminEmails: ListValue;
  jwtSecret: string | undefined;
  /** `--db` carried a password on the command line: the warning every command prints. */
  dbArgvWarning?: string | undefined;
  loginBase: string;
  apiBase: string;
  /** Base URLs that carried `user:password@` (removed from loginBase/apiBase: never printed). */
  baseCredentials: VariableName[];
  /**
   * MUVEE_DINGTALK_RULES: which ALLOWED_DOMAINS rule login verdicts follow, `documented`
   * (default) or `server`; as written (check-config flags anything else).
   */
  rules: string | undefined;
  /** MUVEE_URL: the deployed muvee `check-config` asks (as `--muvee` does); as written. */
  muveeUrl: string | undefined;
  /** Where each variable came from. */
  sources: Record<VariableName, Source>;
  /** Variables whose value had leading or trailing whitespace (trimmed here). */
  trimmed: VariableName[];
  envFile: EnvFileInfo;
  runtime: Runtime;
}

/** Facts about the process that are not configuration but still come from the environment. */
export interface Runtime {
  debug: boolean;
  ci: boolean;
  /** A graphical session exists, so `open` has a chance (Linux needs DISPLAY or WAYLAND_DISPLAY). */
  hasDisplay: boolean;
  /** GitHub Actions' `$GITHUB_STEP_SUMMARY` file (check-config --format github appends to it). */
  githubStepSummary?: string;
}

export interface ConfigFlags {
  envFile?: string | undefined;
  db?: string | undefined;
}

export interface LoadOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  platform?: NodeJS.Platform;
}

/** Reads and layers every source. Throws only when an explicit `--env-file` cannot be read. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const flags = options.flags ?? {};
  const envFile = readEnvFile(flags.envFile, cwd);
  const flagValues: Partial<Record<VariableName, string>> = {};
  if (flags.db !== undefined && flags.db.trim() === '') {
    // `--db "$DATABASE_URL"` with the variable unset must not fall back to a local file.
    throw new CliError(
      'usage',
      '--db \'\' is empty (was it given an unset variable, e.g. --db "$DATABASE_URL"?); give a SQLite file path or a postgres:// URL, or leave --db out',
    );
  }
  if (flags.db !== undefined) flagValues.MUVEE_DINGTALK_DB = dbFlag(flags.db, env, envFile.values);
  return {
    ...resolveConfig({
      flags: flagValues,
      env,
      fileValues: envFile.values,
      envFile: envFile.info,
      platform: options.platform ?? process.platform,
      cwd,
    }),
    dbArgvWarning: argvPasswordWarning(flags.db),
  };
}

/**
 * Pure: the `--db` value: as given, or with `env:NAME` the variable NAME from the environment,
 * else the env file (so muvee's password stays out of the process list).
 */
export function dbFlag(
  flag: string,
  env: NodeJS.ProcessEnv,
  fileValues: Record<string, string>,
): string {
  const named = DB_FROM_ENV.exec(flag.trim());
  if (!named) return flag;
  const name = named[1]!;
  const value = env[name] || fileValues[name];
  if (!value) {
    throw new CliError(
      'usage',
      `--db env:${name} names the variable ${name}, which is not set; export it, put it in the env file, or name another variable`,
    );
  }
  return value;
}

/** Pure: layers flag > environment > env file > default and normalises. */
export function resolveConfig(input: {
  flags: Partial<Record<VariableName, string>>;
  env: NodeJS.ProcessEnv;
  fileValues: Record<string, string>;
  envFile: EnvFileInfo;
  platform?: NodeJS.Platform;
  /** The working directory a relative MUVEE_DINGTALK_DB is resolved against. */
  cwd?: string;
}): Config {
  const sources = {} as Record<VariableName, Source>;
  const trimmed: VariableName[] = [];
  // JWT_SECRET is used as its raw bytes, as muvee does (whitespace included: trimming it
  // here would make each side reject the other's tokens); every other value is trimmed.
  const pick = (name: VariableName, raw = false): string | undefined => {
    const layers: [Source, string | undefined][] = [
      ['flag', input.flags[name]],
      ['env', input.env[name]],
      ['env-file', input.fileValues[name]],
    ];
    for (const [source, rawValue] of layers) {
      if (rawValue === undefined) continue;
      const value = rawValue.trim();
      if (value !== rawValue) trimmed.push(name);
      // An empty value counts as unset, as it does for muvee.
      if (value === '') continue;
      sources[name] = source;
      return raw ? (rawValue as string) : value;
    }
    sources[name] = 'default';
    return undefined;
  };
  const withDefault = (name: keyof typeof DEFAULTS): string => pick(name) ?? DEFAULTS[name];

  const bases = {
    DINGTALK_LOGIN_BASE: withDefault('DINGTALK_LOGIN_BASE'),
    DINGTALK_API_BASE: withDefault('DINGTALK_API_BASE'),
  };
  const platform = input.platform ?? process.platform;
  return {
    clientId: pick('DINGTALK_CLIENT_ID'),
    clientSecret: pick('DINGTALK_CLIENT_SECRET'),
    redirectUrl: withDefault('DINGTALK_REDIRECT_URL'),
    baseDomain: pick('BASE_DOMAIN')?.toLowerCase(),
    // Raw, as muvee reads them: split on ',' and each item trimmed by Go's TrimSpace.
    allowedDomains: splitList(pick('ALLOWED_DOMAINS', true)),
    adminEmails: splitList(pick('ADMIN_EMAILS', true)),
    jwtSecret: pick('JWT_SECRET', true),
    ...databaseOf(pick, sources, input.envFile.path, input.cwd ?? process.cwd()),
    loginBase: withoutCredentials(bases.DINGTALK_LOGIN_BASE).replace(/\/+$/, ''),
    apiBase: withoutCredentials(bases.DINGTALK_API_BASE).replace(/\/+$/, ''),
    baseCredentials: (['DINGTALK_LOGIN_BASE', 'DINGTALK_API_BASE'] as const).filter(
      (name) => withoutCredentials(bases[name]) !== bases[name],
    ),
    rules: pick('MUVEE_DINGTALK_RULES'),
    muveeUrl: pick('MUVEE_URL'),
    sources,
    trimmed,
    envFile: input.envFile,
    runtime: {
      debug: debugRequested(input.env),
      ci: isTruthy(input.env.CI),
      hasDisplay:
        platform === 'darwin' ||
        platform === 'win32' ||
        Boolean(input.env.DISPLAY || input.env.WAYLAND_DISPLAY),
      ...(input.env.GITHUB_STEP_SUMMARY
        ? { githubStepSummary: input.env.GITHUB_STEP_SUMMARY }
        : {}),
    },
  };
}

/**
 * Pure, as muvee splits its lists: `"a.com, B.com,,"` → `{ items: ['a.com', 'B.com'],
 * emptyItems: 2 }` (items trimmed by Go's strings.TrimSpace, which keeps U+FEFF and removes
 * U+0085; empty ones dropped; nothing lower-cased).
 */
export function splitList(value: string | undefined): ListValue {
  if (value === undefined) return { items: [], emptyItems: 0 };
  const parts = value.split(',').map(goTrimSpace);
  const items = parts.filter((part) => part !== '');
  return { items, emptyItems: parts.length - items.length };
}

/** Pure: a URL without its `user:password@` part (any other text is returned as it is). */
export function withoutCredentials(text: string): string {
  // No '@', no user:password part (WHATWG URL): no URL parsed at every start.
  if (!text.includes('@')) return text;
  try {
    const url = new URL(text);
    if (url.username === '' && url.password === '') return text;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return text;
  }
}

/** Throws when a base URL carried credentials: they would never be sent, only leak in output. */
export function requireBaseUrls(config: Config): void {
  const name = config.baseCredentials[0];
  if (name) {
    throw new CliError(
      'config',
      `${name} has a user:password@ part, which this tool never sends (and never prints); remove it, and give the proxy its credentials another way`,
    );
  }
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function readEnvFile(
  explicitPath: string | undefined,
  cwd: string,
): { values: Record<string, string>; info: EnvFileInfo } {
  const path = resolve(cwd, explicitPath ?? '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (explicitPath === undefined && code === 'ENOENT') {
      return { values: {}, info: { path, loaded: false, malformed: [], unknown: [] } };
    }
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code ?? String(error)})`;
    throw new CliError(
      'config',
      `env file '${path}' ${why}; pass an existing file to --env-file, or leave it out to use ./.env`,
      { cause: error },
    );
  }
  const values = parseDotenv(text);
  const known = new Set<string>(VARIABLES);
  const unknown = Object.keys(values).filter(
    (name) => /^(DINGTALK_|MUVEE_)/.test(name) && !known.has(name),
  );
  return { values, info: { path, loaded: true, malformed: findMalformedLines(text), unknown } };
}

/**
 * Pure: the lines of a `.env` text that dotenv would silently drop. Multi-line quoted values
 * are followed to their closing quote so their inner lines are not reported.
 */
export function findMalformedLines(text: string): { line: number; text: string; why?: string }[] {
  const malformed: { line: number; text: string; why?: string }[] = [];
  // Only the leading name of a line is ever shown: the rest may be a secret.
  const nameOf = (line: string) => {
    const name = /^(?:export\s+)?([\w.-]{1,60})/.exec(line)?.[1];
    return name ? `${name} …` : '…';
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let openQuote: string | undefined;
  lines.forEach((raw, index) => {
    if (openQuote !== undefined) {
      if (raw.includes(openQuote)) openQuote = undefined;
      return;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?[\w.-]+\s*[=:]\s*(.*)$/.exec(line);
    if (!match) {
      malformed.push({ line: index + 1, text: nameOf(line) });
      return;
    }
    const value = match[1] ?? '';
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) {
      openQuote = quote;
    } else if (quote !== '"' && quote !== "'" && quote !== '`' && /\S#/.test(value)) {
      // dotenv ends an unquoted value at '#': `JWT_SECRET=abc#def` is read as `abc`.
      malformed.push({
        line: index + 1,
        text: nameOf(line),
        why: "has an unquoted '#', where dotenv cuts the value short; quote the value",
      });
    }
  });
  return malformed;
}

/**
 * The configuration of one run: the global `--env-file`/`--db` flags over the run's
 * environment and working directory; a malformed `.env` line is a `config` error unless
 * tolerated (check-config reports it instead). Every command reads its configuration here.
 */
export function runConfig(
  globals: { envFile?: string | undefined; db?: string | undefined },
  io: { env: NodeJS.ProcessEnv; cwd: string },
  options: { tolerateEnvFile?: boolean; reading?: boolean } = {},
): Config {
  const config = loadConfig({
    flags: { envFile: globals.envFile, db: globals.db },
    env: io.env,
    cwd: io.cwd,
  });
  if (!options.tolerateEnvFile) assertEnvFileWellFormed(config);
  return options.reading ? readingEmulatorDb(config, io.cwd) : config;
}

/** Throws the `config` error every command uses when the env file has lines dotenv drops. */
export function assertEnvFileWellFormed(config: Config): void {
  const first = config.envFile.malformed[0];
  if (first) {
    throw new CliError(
      'config',
      first.why
        ? `env file '${config.envFile.path}' line ${first.line} (${first.text}) ${first.why}`
        : `env file '${config.envFile.path}' line ${first.line} (${first.text}) is not NAME=value; fix or remove that line (see .env.example)`,
    );
  }
}

export function requireClientCredentials(config: Config): {
  clientId: string;
  clientSecret: string;
} {
  if (!config.clientId) {
    throw new CliError(
      'config',
      'DINGTALK_CLIENT_ID is not set; copy .env.example to .env and fill in the AppKey from the DingTalk developer console (or use --emulator)',
    );
  }
  if (!config.clientSecret) {
    throw new CliError(
      'config',
      'DINGTALK_CLIENT_SECRET is not set; copy the AppSecret from the DingTalk developer console into .env (or use --emulator)',
    );
  }
  return { clientId: config.clientId, clientSecret: config.clientSecret };
}

/** The insecure placeholder muvee ships with; a session signed with it is forgeable by anyone. */
export const DEFAULT_JWT_SECRET = 'change-me-in-production';
/** Both placeholders muvee ships: its default, and the one in its `.env.example`. */
export const PLACEHOLDER_JWT_SECRETS = [DEFAULT_JWT_SECRET, 'change-me-to-a-random-secret'];
export const MIN_JWT_SECRET_BYTES = 32;

/** A warning for a JWT_SECRET with surrounding whitespace (used as is, like muvee does). */
export function jwtSecretWhitespace(config: Config): string | undefined {
  const secret = config.jwtSecret;
  return secret !== undefined && secret !== secret.trim()
    ? `JWT_SECRET has leading or trailing whitespace; it is used as is (${Buffer.byteLength(secret)} bytes), as muvee does: remove it on both sides if it is a mistake`
    : undefined;
}

/** JWT_SECRET, or a `config` error with the fix (and `alternative`, another way out). */
export function requireJwtSecret(config: Config, alternative?: string): string {
  if (!config.jwtSecret) {
    throw new CliError(
      'config',
      `JWT_SECRET is not set; set it to muvee's JWT_SECRET (at least 32 bytes, e.g. \`openssl rand -hex 32\`) in .env or the environment${alternative ? `, ${alternative}` : ''}`,
    );
  }
  return config.jwtSecret;
}

/** Is `host` one of the loopback names the callback listener may bind to? */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
