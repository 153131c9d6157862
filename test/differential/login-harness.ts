/**
 * Runs one login scenario (login-scenarios.ts) through muvee's own code (`muvee-oracle login`)
 * and through this tool's built CLI (`login --db postgres://… --apply`, after its dry run), each
 * on a fresh database with muvee's 50 migrations, against the scripted DingTalk
 * (fake-dingtalk.ts), and reduces each side to what can be compared: signed in or not (and
 * why), the code exchanged, the session token's claims, and the rows of users,
 * platform_members, invitations and system_settings with ids replaced by the email they point
 * to.
 *
 * `classify` then says agree / stricter (refused, saying what muvee does instead) / looser
 * (lets in what muvee does not) / silent (any other difference).
 */
import { createHash } from 'node:crypto';
import { AUTHORIZE_URL, freePort, http, runBin, startBin, type RunResult } from '../helpers.ts';
import { createOracleDatabase, runOracle } from '../oracle/oracle.ts';
import type { PgCluster } from '../pg/cluster.ts';
import type { FakeDingTalk, FakeScript } from './fake-dingtalk.ts';
import {
  DEFAULT_CALLBACK,
  GOOD_EXCHANGE,
  type LoginScenario,
  type ScenarioEnv,
  type SetupStep,
} from './login-scenarios.ts';

export const DIFF_JWT_SECRET = 'differential-jwt-secret-0123456789abcdef012345';
/** The app both sides use (muvee-oracle's oracleEnv sets the same). */
const CLIENT_ID = 'dingoracle';
const CLIENT_SECRET = 'oracle-secret';
const TOOL_TIMEOUT_SECONDS = '10';

export interface NormalClaims {
  alg: string;
  keys: string[];
  /** The email of the users row whose id is the token's uid (in that side's database). */
  uidUser: string | null;
  email: unknown;
  role: unknown;
  ttl: number | null;
}

export interface Rows {
  users: {
    email: string | null;
    name: string;
    avatar_url: string;
    role: string;
    authorized: boolean;
    name_overridden: boolean;
    avatar_overridden: boolean;
  }[];
  platform_members: { user: string | null; role: string; authorized: boolean }[];
  /** The stored emails (who invited is not compared: the tool's `admin invite` names nobody). */
  invitations: string[];
  settings: Record<string, string>;
  oauth_accounts: number;
}

export interface Side {
  outcome: 'signed-in' | 'not-invited' | 'failed';
  /** muvee: the callback's answer; the tool: its error code and message. */
  reason: string;
  /** The tool: what it says muvee would do instead (the error's `details.muvee`). */
  muveeNote?: string;
  exchangedCodes: string[];
  claims: NormalClaims | null;
  /** muvee's Middleware accepts the session token against this side's database. */
  muveeAcceptsToken?: boolean;
  rows: Rows;
  /** Setup steps that failed on this side (each one a disagreement). */
  setupErrors?: string[];
}

export interface DryRunCheck {
  /** Every table byte for byte unchanged by the dry run. */
  wroteNothing: boolean;
  /** Where the dry run's prediction differs from what --apply then did. */
  mispredicted: string[];
}

export interface ToolRun {
  side: Side;
  dryRun: DryRunCheck;
}

export type Verdict = 'agree' | 'stricter' | 'looser' | 'silent';

/** A stable fingerprint of a scenario row: a recorded outcome is only used for the same row. */
export function scenarioHash(s: LoginScenario): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 16);
}

const dbName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

let counter = 0;
const templates = new WeakMap<PgCluster, Promise<string>>();
/**
 * A fresh database with muvee's 50 migrations: muvee's own runner migrates one template per
 * cluster (createOracleDatabase), each database is a copy of it (a migration run costs ~1 s).
 */
export async function freshDatabase(cluster: PgCluster, prefix: string): Promise<string> {
  let template = templates.get(cluster);
  if (!template) {
    template = createOracleDatabase(cluster, `oracle_template_${process.pid}`).then(dbName);
    templates.set(cluster, template);
  }
  const name = `${prefix}_${process.pid}_${++counter}`;
  await cluster.sql(`CREATE DATABASE "${name}" TEMPLATE "${await template}"`);
  return cluster.url(name);
}

export async function readRows(cluster: PgCluster, url: string): Promise<Rows> {
  const db = dbName(url);
  const users = await cluster.sql<Record<string, unknown>>(
    `SELECT id::text AS id, email, name, avatar_url, role, authorized, name_overridden, avatar_overridden FROM users`,
    [],
    db,
  );
  const byId = new Map(users.map((u) => [u.id as string, u.email as string | null]));
  const members = await cluster.sql<{ user_id: string; role: string; authorized: boolean }>(
    'SELECT user_id::text AS user_id, role, authorized FROM platform_members',
    [],
    db,
  );
  const invitations = await cluster.sql<{ email: string }>('SELECT email FROM invitations', [], db);
  const settings = await cluster.sql<{ key: string; value: string }>(
    'SELECT key, value FROM system_settings',
    [],
    db,
  );
  const oauth = await cluster.sql<{ n: string }>(
    'SELECT count(*)::text AS n FROM oauth_accounts',
    [],
    db,
  );
  const byKey =
    <T>(f: (x: T) => string) =>
    (a: T, b: T) =>
      f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0;
  return {
    users: users
      .map((u) => ({
        email: u.email as string | null,
        name: u.name as string,
        avatar_url: u.avatar_url as string,
        role: u.role as string,
        authorized: u.authorized as boolean,
        name_overridden: u.name_overridden as boolean,
        avatar_overridden: u.avatar_overridden as boolean,
      }))
      .sort(byKey((u) => u.email ?? '')),
    platform_members: members
      .map((m) => ({ user: byId.get(m.user_id) ?? null, role: m.role, authorized: m.authorized }))
      .sort(byKey((m) => m.user ?? '')),
    invitations: invitations.map((i) => i.email).sort(),
    settings: Object.fromEntries(settings.map((s) => [s.key, s.value]).sort()),
    oauth_accounts: Number(oauth[0]?.n ?? 0),
  };
}

function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function normalClaims(cluster: PgCluster, url: string, token: string): Promise<NormalClaims> {
  const [h, p] = token.split('.');
  const header = decodeSegment(h ?? '');
  const claims = decodeSegment(p ?? '');
  let uidUser: string | null = null;
  if (typeof claims.uid === 'string') {
    const rows = await cluster.sql<{ email: string }>(
      'SELECT email FROM users WHERE id::text = $1',
      [claims.uid],
      dbName(url),
    );
    uidUser = rows[0]?.email ?? null;
  }
  return {
    alg: String(header.alg),
    keys: Object.keys(claims).sort(),
    uidUser,
    email: claims.email,
    role: claims.role,
    ttl:
      typeof claims.exp === 'number' && typeof claims.iat === 'number'
        ? claims.exp - claims.iat
        : null,
  };
}

/** muvee's own verdict on a session token, against the database at `url`. */
export async function muveeAccepts(url: string, token: string): Promise<boolean> {
  const r = await runOracle(
    ['judge'],
    { DATABASE_URL: url, JWT_SECRET: DIFF_JWT_SECRET },
    `${token}\n`,
  );
  if (r.status !== 0) throw new Error(`muvee-oracle judge failed: ${r.stderr}`);
  const verdict = JSON.parse(r.stdout.trim().split('\n')[0] ?? '{}') as {
    accepted?: boolean;
    mwBearer?: number;
  };
  return verdict.accepted === true && verdict.mwBearer === 200;
}

function scriptFor(s: Pick<LoginScenario, 'callback' | 'exchange' | 'profile'>): FakeScript {
  return {
    callback: s.callback ?? DEFAULT_CALLBACK,
    exchange: s.exchange ?? GOOD_EXCHANGE,
    profile: s.profile,
  };
}

const setupLogin = (body: string) => scriptFor({ profile: { status: 200, body } });

// --- muvee's side ------------------------------------------------------------------------------

interface OracleHop {
  url: string;
  status: number;
  location?: string;
  body?: string;
}

async function oracleLogin(
  fake: FakeDingTalk,
  url: string,
  script: FakeScript,
  env: ScenarioEnv,
): Promise<{
  outcome: Side['outcome'];
  reason: string;
  token: string | undefined;
  codes: string[];
}> {
  fake.set(script);
  const r = await runOracle(['login'], {
    DATABASE_URL: url,
    HARNESS_FAKE: fake.host,
    JWT_SECRET: DIFF_JWT_SECRET,
    ALLOWED_DOMAINS: env.ALLOWED_DOMAINS,
    ADMIN_EMAILS: env.ADMIN_EMAILS,
  });
  if (r.status !== 0) throw new Error(`muvee-oracle login failed (${r.status}): ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { sessionToken?: string; hops: OracleHop[] };
  const callback = doc.hops.find((h) => h.url.includes('/auth/dingtalk/callback'));
  const codes = [...fake.calls().exchangedCodes];
  if (!callback) return { outcome: 'failed', reason: 'no callback', token: undefined, codes };
  if (callback.status === 302 && doc.sessionToken)
    return { outcome: 'signed-in', reason: '', token: doc.sessionToken, codes };
  if (callback.status === 302 && callback.location?.includes('error=not_invited'))
    return { outcome: 'not-invited', reason: callback.location, token: undefined, codes };
  return {
    outcome: 'failed',
    reason: `${callback.status} ${(callback.body ?? callback.location ?? '').trim()}`,
    token: undefined,
    codes,
  };
}

async function oracleSetup(
  cluster: PgCluster,
  fake: FakeDingTalk,
  url: string,
  step: SetupStep,
): Promise<string | undefined> {
  const run = async (args: string[]) => {
    const r = await runOracle(args, { DATABASE_URL: url, JWT_SECRET: DIFF_JWT_SECRET });
    return r.status === 0 ? undefined : `${args.join(' ')}: ${r.stderr.trim()}`;
  };
  if ('mode' in step) return run(['setting', 'access_mode', step.mode]);
  if ('setting' in step) return run(['setting', ...step.setting]);
  if ('override' in step) return run(['override', step.override.email, step.override.name]);
  if ('invite' in step) {
    const first = await cluster.sql<{ id: string }>(
      'SELECT id::text AS id FROM users ORDER BY created_at LIMIT 1',
      [],
      dbName(url),
    );
    if (!first[0]) return 'invite: no user to invite with (put a login step first)';
    return run(['invite', step.invite, first[0].id]);
  }
  const r = await oracleLogin(fake, url, setupLogin(step.login), step.env ?? {});
  return r.outcome === 'signed-in' ? undefined : `setup login: ${r.outcome} ${r.reason}`;
}

/** The scenario through muvee's own code. */
export async function runOracleSide(
  cluster: PgCluster,
  fake: FakeDingTalk,
  scenario: LoginScenario,
): Promise<Side> {
  const url = await freshDatabase(cluster, 'oracle');
  const setupErrors: string[] = [];
  for (const step of scenario.setup ?? []) {
    const error = await oracleSetup(cluster, fake, url, step);
    if (error) setupErrors.push(error);
  }
  const r = await oracleLogin(fake, url, scriptFor(scenario), scenario.env ?? {});
  const side: Side = {
    outcome: r.outcome,
    reason: r.reason,
    exchangedCodes: r.codes,
    claims: r.token ? await normalClaims(cluster, url, r.token) : null,
    rows: await readRows(cluster, url),
  };
  if (r.token) side.muveeAcceptsToken = await muveeAccepts(url, r.token);
  if (setupErrors.length) side.setupErrors = setupErrors;
  await cluster.sql(`DROP DATABASE "${dbName(url)}"`);
  return side;
}

// --- this tool's side --------------------------------------------------------------------------

interface ToolDoc {
  email?: string;
  role?: string;
  admitted?: boolean;
  dryRun?: boolean;
  user?: {
    id: string | null;
    email: string;
    name: string;
    avatarUrl: string;
    role: string;
    authorized?: boolean;
  } | null;
  sessionToken?: string | null;
  session?: Record<string, unknown>;
  error?: { code: string; message: string; details?: { muvee?: unknown } };
}

async function toolLogin(
  fake: FakeDingTalk,
  url: string,
  script: FakeScript,
  env: ScenarioEnv,
  toolEnv: Record<string, string>,
  apply: boolean,
): Promise<{ run: RunResult; doc: ToolDoc; codes: string[] }> {
  fake.set(script);
  const redirect = `http://127.0.0.1:${await freePort()}/auth/dingtalk/callback`;
  const child = startBin(
    [
      'login',
      '--no-browser',
      '--json',
      '--db',
      url,
      ...(apply ? ['--apply'] : []),
      '--timeout',
      TOOL_TIMEOUT_SECONDS,
    ],
    {
      env: {
        DINGTALK_CLIENT_ID: CLIENT_ID,
        DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
        DINGTALK_REDIRECT_URL: redirect,
        DINGTALK_API_BASE: fake.url,
        DINGTALK_LOGIN_BASE: fake.url,
        JWT_SECRET: DIFF_JWT_SECRET,
        ALLOWED_DOMAINS: env.ALLOWED_DOMAINS,
        ADMIN_EMAILS: env.ADMIN_EMAILS,
        ...toolEnv,
      },
      timeoutMs: 60_000,
    },
  );
  child.stdin.end();
  try {
    const [, authorize] = await child.waitForStderr(AUTHORIZE_URL, 30_000);
    // The person at the browser: DingTalk's redirect, then the tool's callback listener.
    const approve = await http(authorize!);
    const location = approve.headers.location;
    if (typeof location === 'string') await http(location).catch(() => undefined);
  } catch {
    // The run ended before printing the URL: its output says why.
  }
  const run = await child.done;
  let doc: ToolDoc;
  try {
    doc = JSON.parse(run.stdout) as ToolDoc;
  } catch {
    doc = { error: { code: 'no-json', message: `${run.code} ${run.stderr.slice(-500)}` } };
  }
  return { run, doc, codes: [...fake.calls().exchangedCodes] };
}

async function toolSetup(
  fake: FakeDingTalk,
  url: string,
  step: SetupStep,
): Promise<string | undefined> {
  const cli = async (args: string[]) => {
    const r = await runBin([...args, '--db', url, '--apply', '--json'], { timeoutMs: 60_000 });
    return r.code === 0 ? undefined : `${args.join(' ')}: exit ${r.code} ${r.stdout}${r.stderr}`;
  };
  if ('mode' in step) return cli(['admin', 'access-mode', step.mode]);
  if ('invite' in step) return cli(['admin', 'invite', step.invite]);
  if ('override' in step)
    return cli(['admin', 'override', step.override.email, '--name', step.override.name]);
  if ('setting' in step) {
    // The tool has no equivalent (it refuses unknown modes): muvee's own SetSetting.
    const r = await runOracle(['setting', ...step.setting], { DATABASE_URL: url });
    return r.status === 0 ? undefined : `setting: ${r.stderr}`;
  }
  const r = await toolLogin(fake, url, setupLogin(step.login), step.env ?? {}, {}, true);
  return r.run.code === 0 ? undefined : `setup login: ${r.doc.error?.code} ${r.doc.error?.message}`;
}

function toolSide(doc: ToolDoc, run: RunResult): Pick<Side, 'outcome' | 'reason' | 'muveeNote'> {
  if (run.code === 0 && doc.error === undefined) return { outcome: 'signed-in', reason: '' };
  const note = doc.error?.details?.muvee;
  return {
    outcome:
      doc.error?.code === 'policy-denied' && /not_invited/.test(doc.error.message)
        ? 'not-invited'
        : 'failed',
    reason: `${doc.error?.code ?? `exit ${run.code}`}: ${doc.error?.message ?? run.stderr.slice(-300)}`,
    ...(typeof note === 'string' ? { muveeNote: note } : {}),
  };
}

/** What a dry run's document says --apply will do, next to what --apply's says it did. */
function prediction(doc: ToolDoc, run: RunResult, newUser: boolean): Record<string, unknown> {
  const user = doc.user ?? null;
  return {
    exit: run.code,
    error: doc.error?.code ?? null,
    email: doc.email ?? null,
    role: doc.role ?? null,
    admitted: doc.admitted ?? null,
    user: user && {
      ...user,
      id: newUser ? '(new)' : user.id,
      createdAt: undefined,
    },
  };
}

/** The scenario through this tool: its dry run, then `--apply`, on a fresh database. */
export async function runToolSide(
  cluster: PgCluster,
  fake: FakeDingTalk,
  scenario: LoginScenario,
  options: { judge: boolean },
): Promise<ToolRun> {
  const url = await freshDatabase(cluster, 'tool');
  const setupErrors: string[] = [];
  for (const step of scenario.setup ?? []) {
    const error = await toolSetup(fake, url, step);
    if (error) setupErrors.push(error);
  }
  const env = scenario.env ?? {};
  const toolEnv = scenario.toolEnv ?? {};
  const before = cluster.dumpData(dbName(url));
  const usersBefore = (await readRows(cluster, url)).users.map((u) => u.email);
  const dry = await toolLogin(fake, url, scriptFor(scenario), env, toolEnv, false);
  const wroteNothing = cluster.dumpData(dbName(url)) === before;
  const applied = await toolLogin(fake, url, scriptFor(scenario), env, toolEnv, true);
  const side: Side = {
    ...toolSide(applied.doc, applied.run),
    exchangedCodes: applied.codes,
    claims: applied.doc.sessionToken
      ? await normalClaims(cluster, url, applied.doc.sessionToken)
      : null,
    rows: await readRows(cluster, url),
  };
  if (options.judge && applied.doc.sessionToken)
    side.muveeAcceptsToken = await muveeAccepts(url, applied.doc.sessionToken);
  if (setupErrors.length) side.setupErrors = setupErrors;

  const newUser = applied.doc.email !== undefined && !usersBefore.includes(applied.doc.email);
  const mispredicted: string[] = [];
  const said = JSON.stringify(prediction(dry.doc, dry.run, newUser));
  const did = JSON.stringify(prediction(applied.doc, applied.run, newUser));
  if (dry.doc.dryRun !== true && dry.run.code === 0)
    mispredicted.push('the dry run did not say dryRun: true');
  if (said !== did) mispredicted.push(`dry run said ${said}, --apply did ${did}`);
  if (dry.doc.sessionToken) {
    // A token printed by a dry run must hold what --apply's token holds (and so verify).
    const dryClaims = await normalClaims(cluster, url, dry.doc.sessionToken);
    if (JSON.stringify(dryClaims) !== JSON.stringify(side.claims))
      mispredicted.push(
        `the dry run printed a token with ${JSON.stringify(dryClaims)}; --apply's holds ${JSON.stringify(side.claims)}`,
      );
  }
  await cluster.sql(`DROP DATABASE "${dbName(url)}"`);
  return { side, dryRun: { wroteNothing, mispredicted } };
}

// --- the comparison ----------------------------------------------------------------------------

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Where the tool lets in more than muvee does, in the rows. */
function looserRows(oracle: Rows, tool: Rows): string[] {
  const out: string[] = [];
  for (const m of tool.platform_members) {
    const o = oracle.platform_members.find((x) => x.user === m.user);
    if (!o) out.push(`a platform member ${JSON.stringify(m.user)} muvee does not create`);
    else {
      if (m.authorized && !o.authorized)
        out.push(`${JSON.stringify(m.user)} authorized where muvee leaves it pending`);
      if (m.role === 'admin' && o.role !== 'admin')
        out.push(`${JSON.stringify(m.user)} admin where muvee says member`);
    }
  }
  return out;
}

export interface Comparison {
  verdict: Verdict;
  differences: string[];
}

/** Compares the tool's side with muvee's. `muveeAcceptsToken` is compared when both have it. */
export function classify(oracle: Side, tool: Side): Comparison {
  const differences: string[] = [];
  const signedIn = (s: Side) => s.outcome === 'signed-in';
  if (tool.setupErrors?.length || oracle.setupErrors?.length)
    differences.push(
      `setup: muvee ${JSON.stringify(oracle.setupErrors ?? [])}, tool ${JSON.stringify(tool.setupErrors ?? [])}`,
    );
  if (!same(oracle.exchangedCodes, tool.exchangedCodes))
    differences.push(
      `exchanged codes: muvee ${JSON.stringify(oracle.exchangedCodes)}, tool ${JSON.stringify(tool.exchangedCodes)}`,
    );
  const looser = looserRows(oracle.rows, tool.rows);
  if (signedIn(tool) && !signedIn(oracle)) {
    looser.unshift(
      `the tool signs in where muvee ${oracle.outcome === 'not-invited' ? 'refuses (not invited)' : `fails (${oracle.reason})`}`,
    );
  }
  if (signedIn(tool) && signedIn(oracle)) {
    if (!same(oracle.claims, tool.claims))
      differences.push(
        `token: muvee ${JSON.stringify(oracle.claims)}, tool ${JSON.stringify(tool.claims)}`,
      );
    if (
      oracle.muveeAcceptsToken !== undefined &&
      tool.muveeAcceptsToken !== undefined &&
      oracle.muveeAcceptsToken !== tool.muveeAcceptsToken
    )
      differences.push(
        `muvee accepts the token: muvee's ${oracle.muveeAcceptsToken}, the tool's ${tool.muveeAcceptsToken}`,
      );
  }
  if (!same(oracle.rows, tool.rows) && !(signedIn(oracle) && !signedIn(tool)))
    differences.push(
      `rows: muvee ${JSON.stringify(oracle.rows)}, tool ${JSON.stringify(tool.rows)}`,
    );
  if (looser.length) return { verdict: 'looser', differences: [...looser, ...differences] };
  if (signedIn(oracle) && !signedIn(tool)) {
    differences.unshift(`muvee signs in; the tool refuses (${tool.reason})`);
    return tool.muveeNote
      ? { verdict: 'stricter', differences }
      : { verdict: 'silent', differences: [...differences, 'and does not say what muvee does'] };
  }
  return { verdict: differences.length ? 'silent' : 'agree', differences };
}
