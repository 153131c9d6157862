/**
 * The static checks of `check-config`, pure: a {@link Config} in, one {@link Check} per
 * line out, each with the fix in its message. Only the DB path check touches the disk,
 * through the `probe` passed in.
 */
import {
  PLACEHOLDER_JWT_SECRETS,
  isLoopbackHost,
  MIN_JWT_SECRET_BYTES,
  type Config,
  type ListValue,
} from './config.js';
import { admit } from '../muvee/identity.js';
import { isListedEmail } from '../muvee/shapes.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
}

/** How the DB path looks on disk; supplied by the command so this module stays pure. */
export interface DbProbe {
  /** Which engine the configured database is (store/index.ts `probeDb` says; default SQLite). */
  kind?: 'sqlite' | 'postgres';
  /** `undefined` when the path can be written (or created), else why not. */
  problem: string | undefined;
  exists: boolean;
}

export const CALLBACK_PATH = '/auth/dingtalk/callback';
const APPKEY = /^ding[a-z0-9]{10,32}$/i;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$/i;

const pass = (id: string, message: string): Check => ({ id, status: 'pass', message });
const warn = (id: string, message: string): Check => ({ id, status: 'warn', message });
const fail = (id: string, message: string): Check => ({ id, status: 'fail', message });

export function runStaticChecks(config: Config, db: DbProbe): Check[] {
  return [
    ...envFileChecks(config),
    clientIdCheck(config.clientId),
    clientSecretCheck(config.clientSecret),
    ...redirectChecks(config),
    jwtSecretCheck(config.jwtSecret),
    ...listChecks(config),
    ...baseUrlChecks(config),
    db.kind === 'postgres'
      ? pass(
          'db-path',
          `the store is muvee's PostgreSQL at ${config.dbPath}; its schema is checked on connect, and nothing is written without --apply`,
        )
      : dbCheck(config.dbPath, db),
    ...(config.rules !== undefined && config.rules !== 'documented' && config.rules !== 'server'
      ? [
          fail(
            'rules',
            `MUVEE_DINGTALK_RULES '${config.rules}' is not documented or server; unset it or pick one`,
          ),
        ]
      : []),
  ];
}

function envFileChecks(config: Config): Check[] {
  const { envFile, trimmed } = config;
  const checks: Check[] = [];
  if (!envFile.loaded) {
    checks.push(pass('env-file', `no env file at ${envFile.path}; using the environment only`));
  } else if (envFile.malformed.length > 0) {
    const lines = envFile.malformed.map((m) => m.line).join(', ');
    const cut = envFile.malformed.find((m) => m.why);
    checks.push(
      fail(
        'env-file',
        cut
          ? `${envFile.path}: line ${cut.line} (${cut.text}) ${cut.why}`
          : `${envFile.path}: line ${lines} is not NAME=value and is ignored; fix it (see .env.example)`,
      ),
    );
  } else {
    checks.push(pass('env-file', `read ${envFile.path}`));
  }
  if (envFile.unknown.length > 0) {
    checks.push(
      warn(
        'env-unknown',
        `${envFile.path} sets ${envFile.unknown.join(', ')}, which nothing reads; a typo? (see .env.example)`,
      ),
    );
  }
  const ignored = trimmed.filter((name) => name !== 'JWT_SECRET');
  if (ignored.length > 0) {
    checks.push(
      warn(
        'whitespace',
        `${ignored.join(', ')} had leading or trailing whitespace, ignored here; remove it so muvee reads the same value`,
      ),
    );
  }
  if (trimmed.includes('JWT_SECRET') && config.jwtSecret !== undefined) {
    checks.push(
      warn(
        'jwt-secret-whitespace',
        'JWT_SECRET has leading or trailing whitespace; muvee (and this tool) use it as is, byte for byte: remove it on both sides if it is a mistake',
      ),
    );
  }
  return checks;
}

function clientIdCheck(clientId: string | undefined): Check {
  if (!clientId) {
    return fail(
      'client-id',
      'DINGTALK_CLIENT_ID is not set; copy the AppKey (Client ID) from the DingTalk developer console, 应用凭证',
    );
  }
  if (!APPKEY.test(clientId)) {
    return warn(
      'client-id',
      `DINGTALK_CLIENT_ID '${clientId}' does not look like an AppKey ('ding' then 10–32 letters or digits); check you copied the AppKey, not the AgentId or AppSecret`,
    );
  }
  return pass('client-id', `DINGTALK_CLIENT_ID '${clientId}' looks like an AppKey`);
}

function clientSecretCheck(secret: string | undefined): Check {
  if (!secret) {
    return fail(
      'client-secret',
      'DINGTALK_CLIENT_SECRET is not set; copy the AppSecret (Client Secret) from the DingTalk developer console',
    );
  }
  if (/\s/.test(secret)) {
    return fail(
      'client-secret',
      `DINGTALK_CLIENT_SECRET (${secret.length} chars) contains whitespace; copy it again from the console`,
    );
  }
  if (secret.length < 32) {
    return warn(
      'client-secret',
      `DINGTALK_CLIENT_SECRET is ${secret.length} chars; DingTalk AppSecrets are 64, so check it is complete`,
    );
  }
  return pass('client-secret', `DINGTALK_CLIENT_SECRET is set (${secret.length} chars)`);
}

function redirectChecks(config: Config): Check[] {
  const raw = config.redirectUrl;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [
      fail(
        'redirect-url',
        `DINGTALK_REDIRECT_URL '${raw}' is not a URL; use https://<muvee domain>${CALLBACK_PATH}`,
      ),
    ];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return [
      fail(
        'redirect-url',
        `DINGTALK_REDIRECT_URL '${raw}' must be http or https; use https://<muvee domain>${CALLBACK_PATH}`,
      ),
    ];
  }
  const loopback = isLoopbackHost(url.hostname);
  const checks: Check[] = [
    pass(
      'redirect-url',
      `DINGTALK_REDIRECT_URL '${raw}' parses${config.sources.DINGTALK_REDIRECT_URL === 'default' ? ' (the default)' : ''}`,
    ),
  ];
  if (url.protocol === 'https:') {
    checks.push(pass('redirect-https', 'the redirect URL uses https'));
  } else if (loopback) {
    checks.push(
      warn(
        'redirect-https',
        `the redirect URL is plain http on loopback: fine for local tests, but muvee in production needs https://<muvee domain>${CALLBACK_PATH}`,
      ),
    );
  } else {
    checks.push(
      fail(
        'redirect-https',
        `the redirect URL is plain http on '${url.hostname}', so the code crosses the network in clear; use https`,
      ),
    );
  }
  checks.push(
    url.pathname === CALLBACK_PATH
      ? pass('redirect-path', `the redirect path is muvee's ${CALLBACK_PATH}`)
      : fail(
          'redirect-path',
          `the redirect path is '${url.pathname}', but muvee serves the callback at ${CALLBACK_PATH}; change it here and in the console`,
        ),
  );
  checks.push(
    url.search === '' && url.hash === ''
      ? pass('redirect-query', 'the redirect URL has no query or fragment')
      : fail(
          'redirect-query',
          `the redirect URL has a ${url.search ? 'query' : 'fragment'} ('${url.search || url.hash}'); DingTalk adds its own parameters, so remove it`,
        ),
  );
  if (url.username || url.password) {
    checks.push(
      fail(
        'redirect-credentials',
        'the redirect URL contains a user name or password; remove them',
      ),
    );
  }
  checks.push(hostCheck(url.hostname, loopback, config.baseDomain));
  return checks;
}

function hostCheck(host: string, loopback: boolean, baseDomain: string | undefined): Check {
  if (baseDomain === undefined) {
    return loopback
      ? pass(
          'redirect-host',
          `the redirect host is loopback (${host}); set BASE_DOMAIN to check a production redirect`,
        )
      : warn(
          'redirect-host',
          `BASE_DOMAIN is not set, so the redirect host '${host}' cannot be checked against muvee's domain; set BASE_DOMAIN`,
        );
  }
  if (!HOSTNAME.test(baseDomain)) {
    return fail(
      'redirect-host',
      `BASE_DOMAIN '${baseDomain}' is not a domain name; set it to muvee's domain, e.g. muvee.example.com`,
    );
  }
  const h = host.toLowerCase();
  if (h === baseDomain || h.endsWith(`.${baseDomain}`)) {
    return pass(
      'redirect-host',
      `the redirect host '${host}' is under BASE_DOMAIN '${baseDomain}'`,
    );
  }
  if (loopback) {
    return warn(
      'redirect-host',
      `the redirect host is loopback (${host}), not under BASE_DOMAIN '${baseDomain}': fine for local tests, not for production`,
    );
  }
  return fail(
    'redirect-host',
    `the redirect host '${host}' is not under BASE_DOMAIN '${baseDomain}'; muvee only receives callbacks on its own domain`,
  );
}

/** Also used by `mint-token` to warn about the secret it signs with. */
export function jwtSecretCheck(secret: string | undefined): Check {
  if (!secret) {
    return fail(
      'jwt-secret',
      "JWT_SECRET is not set; set it to muvee's JWT_SECRET (generate one with `openssl rand -hex 32`)",
    );
  }
  if (PLACEHOLDER_JWT_SECRETS.includes(secret.trim())) {
    return fail(
      'jwt-secret',
      `JWT_SECRET is muvee's placeholder '${secret.trim()}', so anyone can forge sessions; generate one with \`openssl rand -hex 32\``,
    );
  }
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_JWT_SECRET_BYTES) {
    return warn(
      'jwt-secret',
      `JWT_SECRET is only ${bytes} bytes; use at least ${MIN_JWT_SECRET_BYTES} (\`openssl rand -hex 32\`)`,
    );
  }
  return pass('jwt-secret', `JWT_SECRET is set (${bytes} bytes)`);
}

function listChecks(config: Config): Check[] {
  const allowed = config.allowedDomains;
  const admins = config.adminEmails;
  const domainsShape = listShape(
    'allowed-domains',
    'ALLOWED_DOMAINS',
    allowed,
    (d) => HOSTNAME.test(d),
    'domains',
    'list bare domains like corp.example',
  );
  const emailsShape = listShape(
    'admin-emails',
    'ADMIN_EMAILS',
    admins,
    isListedEmail,
    'emails',
    'separate addresses with commas',
  );
  const refused = admins.items.filter((email) => !admit(email, allowed.items).admitted);
  return [
    domainsShape ??
      (allowed.items.length === 0
        ? pass('allowed-domains', 'ALLOWED_DOMAINS is empty: every email domain is admitted')
        : pass('allowed-domains', `ALLOWED_DOMAINS admits ${allowed.items.join(', ')}`)),
    emailsShape ??
      (admins.items.length === 0
        ? warn(
            'admin-emails',
            'ADMIN_EMAILS is empty: nobody becomes admin by logging in; add your email',
          )
        : refused.length > 0
          ? warn(
              'admin-emails',
              `ADMIN_EMAILS lists ${refused.join(', ')}, whose domain ALLOWED_DOMAINS refuses, so they can never log in`,
            )
          : pass('admin-emails', `ADMIN_EMAILS makes ${admins.items.length} address(es) admin`)),
  ];
}

/** A comma list's own shape: entries that are not `what` fail, stray commas warn. */
function listShape(
  id: string,
  name: string,
  list: ListValue,
  valid: (item: string) => boolean,
  what: string,
  fix: string,
): Check | undefined {
  const bad = list.items.filter((item) => !valid(item));
  if (bad.length > 0) {
    return fail(
      id,
      `${name} has entries that are not ${what}: ${bad.map((b) => `'${b}'`).join(', ')}; ${fix}`,
    );
  }
  if (list.emptyItems > 0 && list.items.length > 0) {
    return warn(id, `${name} has ${list.emptyItems} empty item(s) (stray commas); remove them`);
  }
  return undefined;
}

function baseUrlChecks(config: Config): Check[] {
  const checks: Check[] = config.baseCredentials.map((name) =>
    fail(
      name === 'DINGTALK_LOGIN_BASE' ? 'login-base' : 'api-base',
      `${name} has a user:password@ part, which is never sent (nor shown); remove it`,
    ),
  );
  for (const [name, value] of [
    ['DINGTALK_LOGIN_BASE', config.loginBase],
    ['DINGTALK_API_BASE', config.apiBase],
  ] as const) {
    if (config.sources[name] === 'default') continue;
    const id = name === 'DINGTALK_LOGIN_BASE' ? 'login-base' : 'api-base';
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      checks.push(fail(id, `${name} '${value}' is not a URL; unset it to use DingTalk itself`));
      continue;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      checks.push(fail(id, `${name} '${value}' must be http or https`));
    } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      checks.push(
        warn(
          id,
          `${name} '${value}' is plain http off this machine, so secrets cross the network in clear; use https`,
        ),
      );
    } else {
      checks.push(
        warn(
          id,
          `${name} points at ${url.origin} instead of DingTalk (an emulator or proxy); unset it for production`,
        ),
      );
    }
  }
  return checks;
}

function dbCheck(path: string, db: DbProbe): Check {
  if (db.problem)
    return fail(
      'db-path',
      `MUVEE_DINGTALK_DB '${path}' ${db.problem}; fix it or pass --db <writable path>`,
    );
  return pass(
    'db-path',
    `MUVEE_DINGTALK_DB '${path}' is writable${db.exists ? '' : ' (will be created)'}`,
  );
}
