/**
 * Issue 21 against muvee's own code: `check-config --muvee` and `verify-token --muvee` asking
 * `muvee-oracle serve` (muvee's handlers and Middleware, on a PostgreSQL database with muvee's
 * 50 migrations). Every case is a configuration a deployment really gets wrong; the expected
 * status of each check is what muvee's answer means. Skipped loudly without the oracle or
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mintSessionToken } from '../src/muvee/session.ts';
import { runCli, tempDir, type RunResult } from './helpers.ts';
import {
  createOracleDatabase,
  oracleUnavailable,
  runOracle,
  serveOracle,
  type OracleServer,
} from './oracle/oracle.ts';
import { startCluster, type PgCluster } from './pg/cluster.ts';

const skip = oracleUnavailable();

const SECRET = 'deploy-oracle-secret-0123456789abcdef0123';
const OTHER_SECRET = 'another-secret-9876543210fedcba9876543210';
const CLIENT_ID = 'dingdeployoracle0001';
const ADMIN = 'admin@corp.example';
const PENDING = 'pending@corp.example';

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail';
  message: string;
}

const statuses = (checks: Check[]) =>
  Object.fromEntries(checks.filter((c) => c.id.startsWith('muvee-')).map((c) => [c.id, c.status]));
const byId = (checks: Check[], id: string) => {
  const check = checks.find((c) => c.id === id);
  assert.ok(check, `no check ${id} in ${checks.map((c) => c.id).join(', ')}`);
  return check;
};

describe('against muvee-oracle serve (muvee’s own handlers)', { skip }, () => {
  let cluster: PgCluster;
  let db: string;
  let muvee: OracleServer;
  let adminId: string;
  let pendingId: string;
  let cwd: string;
  const servers: OracleServer[] = [];

  before(async () => {
    cluster = await startCluster();
    db = await createOracleDatabase(cluster, 'deploy');
    // Two users as muvee keeps them: an admin, and a member waiting for approval.
    const [admin] = await cluster.sql<{ id: string }>(
      `INSERT INTO users (email, name) VALUES ($1, 'Admin') RETURNING id`,
      [ADMIN],
      'deploy',
    );
    const [pending] = await cluster.sql<{ id: string }>(
      `INSERT INTO users (email, name) VALUES ($1, 'Pending') RETURNING id`,
      [PENDING],
      'deploy',
    );
    adminId = admin!.id;
    pendingId = pending!.id;
    await cluster.sql(
      `INSERT INTO platform_members (user_id, role, authorized) VALUES ($1, 'admin', true), ($2, 'member', false)`,
      [adminId, pendingId],
      'deploy',
    );
    muvee = await serve({});
    cwd = tempDir();
  });
  after(async () => {
    for (const server of servers) await server.stop();
    cluster?.stop();
  });

  /** muvee-oracle serve with muvee's environment (DINGTALK_REDIRECT_URL: its own by default). */
  async function serve(env: Record<string, string>): Promise<OracleServer> {
    const server = await serveOracle({
      DATABASE_URL: db,
      JWT_SECRET: SECRET,
      DINGTALK_CLIENT_ID: CLIENT_ID,
      DINGTALK_CLIENT_SECRET: 'oracle-app-secret',
      ADMIN_EMAILS: ADMIN,
      ...env,
    });
    servers.push(server);
    return server;
  }

  /** This tool's configuration: the same as muvee's unless a case changes it. */
  const local = (server: OracleServer, extra: Record<string, string | undefined> = {}) => ({
    DINGTALK_CLIENT_ID: CLIENT_ID,
    DINGTALK_CLIENT_SECRET: 'x'.repeat(64),
    DINGTALK_REDIRECT_URL: `${server.url}/auth/dingtalk/callback`,
    JWT_SECRET: SECRET,
    ADMIN_EMAILS: ADMIN,
    ...extra,
  });

  async function checkConfig(
    args: string[],
    env: Record<string, string | undefined>,
  ): Promise<{ run: RunResult; checks: Check[]; ok: boolean }> {
    const run = await runCli(['check-config', '--json', ...args], { env, cwd });
    const doc = JSON.parse(run.stdout) as { ok: boolean; checks: Check[] };
    // Nothing secret, ever: not JWT_SECRET, not the probe session, not the database password.
    for (const text of [run.stdout, run.stderr]) {
      assert.ok(!text.includes(SECRET) && !text.includes(OTHER_SECRET), 'JWT_SECRET printed');
      assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ/, 'a token printed');
      assert.ok(!text.includes(cluster.superPassword), 'the database password printed');
    }
    return { run, checks: doc.checks, ok: doc.ok };
  }

  test('a consistent deployment: every muvee check passes, the session is accepted as the admin', async () => {
    const { run, checks, ok } = await checkConfig(['--muvee', muvee.url, '--db', db], local(muvee));
    assert.equal(run.code, 0, run.stdout);
    assert.equal(ok, true);
    assert.deepEqual(statuses(checks), {
      'muvee-url': 'pass',
      'muvee-reachable': 'pass',
      'muvee-dingtalk-enabled': 'pass',
      'muvee-login': 'pass',
      'muvee-client-id': 'pass',
      // the oracle's callback is plain http on loopback: fine here, said so
      'muvee-redirect-https': 'warn',
      'muvee-redirect-path': 'pass',
      'muvee-redirect-host': 'pass',
      'muvee-redirect-url': 'pass',
      'muvee-authorize-params': 'pass',
      'muvee-state-cookie': 'pass',
      'muvee-callback-state': 'pass',
      'muvee-session': 'pass',
      'muvee-session-user': 'pass',
    });
    assert.match(
      byId(checks, 'muvee-session').message,
      /accepts sessions signed with this JWT_SECRET/,
    );
    assert.match(
      byId(checks, 'muvee-session').message,
      /'admin@corp\.example': 200, 'admin', authorized/,
    );
    assert.match(byId(checks, 'muvee-callback-state').message, /400 'invalid state'/);
  });

  test('the user comes from DATABASE_URL (muvee’s own variable) when no --db is given', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee', muvee.url],
      local(muvee, { DATABASE_URL: db }),
    );
    assert.equal(run.code, 0, run.stdout);
    assert.equal(byId(checks, 'muvee-session').status, 'pass');
    assert.match(byId(checks, 'muvee-session').message, /admin@corp\.example/);
  });

  test('--muvee-user by email, a pending member: accepted, muvee and the database agree it is not authorized', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee', muvee.url, '--db', db, '--muvee-user', PENDING],
      local(muvee),
    );
    assert.equal(run.code, 0, run.stdout);
    assert.match(byId(checks, 'muvee-session').message, /'member', not authorized \(pending\)/);
    assert.equal(byId(checks, 'muvee-session-user').status, 'pass');
  });

  test('MUVEE_URL stands for --muvee', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee-user', adminId],
      local(muvee, { MUVEE_URL: muvee.url }),
    );
    assert.equal(run.code, 0, run.stdout);
    assert.equal(byId(checks, 'muvee-session').status, 'pass');
  });

  test('another AppKey on one side: muvee-client-id fails, naming both', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee', muvee.url],
      local(muvee, { DINGTALK_CLIENT_ID: 'dingrotatedappkey002' }),
    );
    assert.equal(run.code, 7);
    const check = byId(checks, 'muvee-client-id');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /'dingdeployoracle0001'.*'dingrotatedappkey002'/);
  });

  test('muvee’s callback on another host: redirect host and URL fail; BASE_DOMAIN admits the host', async () => {
    const elsewhere = await serve({
      DINGTALK_REDIRECT_URL: 'https://login.corp-muvee.example/auth/dingtalk/callback',
    });
    const env = local(elsewhere);
    const first = await checkConfig(['--muvee', elsewhere.url], env);
    assert.equal(first.run.code, 7);
    assert.equal(byId(first.checks, 'muvee-redirect-https').status, 'pass');
    assert.equal(byId(first.checks, 'muvee-redirect-path').status, 'pass');
    assert.equal(byId(first.checks, 'muvee-redirect-host').status, 'fail');
    assert.match(
      byId(first.checks, 'muvee-redirect-host').message,
      /'login\.corp-muvee\.example' is not the muvee URL's host/,
    );
    assert.equal(byId(first.checks, 'muvee-redirect-url').status, 'fail');
    const based = await checkConfig(['--muvee', elsewhere.url], {
      ...env,
      BASE_DOMAIN: 'corp-muvee.example',
      DINGTALK_REDIRECT_URL: 'https://login.corp-muvee.example/auth/dingtalk/callback',
    });
    assert.equal(byId(based.checks, 'muvee-redirect-host').status, 'pass');
    assert.match(byId(based.checks, 'muvee-redirect-host').message, /under BASE_DOMAIN/);
    assert.equal(byId(based.checks, 'muvee-redirect-url').status, 'pass');
  });

  test('muvee’s callback over plain http on a public host, another path: both fail with the fix', async () => {
    const wrong = await serve({
      DINGTALK_REDIRECT_URL: 'http://muvee.corp.example/oauth/callback',
    });
    const { run, checks } = await checkConfig(['--muvee', wrong.url], local(wrong));
    assert.equal(run.code, 7);
    assert.equal(byId(checks, 'muvee-redirect-https').status, 'fail');
    assert.equal(byId(checks, 'muvee-redirect-path').status, 'fail');
    assert.match(
      byId(checks, 'muvee-redirect-path').message,
      /set DINGTALK_REDIRECT_URL in muvee's environment/,
    );
  });

  test('another JWT_SECRET, no database: muvee-session fails naming both causes', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee', muvee.url, '--muvee-user', adminId],
      local(muvee, { JWT_SECRET: OTHER_SECRET }),
    );
    assert.equal(run.code, 7);
    const check = byId(checks, 'muvee-session');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      /either muvee runs with another JWT_SECRET, or that user is not in its database/,
    );
  });

  test('another JWT_SECRET, the user in the connected database: it is the secret', async () => {
    const { run, checks } = await checkConfig(
      ['--muvee', muvee.url, '--db', db],
      local(muvee, { JWT_SECRET: OTHER_SECRET }),
    );
    assert.equal(run.code, 7);
    const check = byId(checks, 'muvee-session');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      /who is in the connected database .*: muvee runs with another JWT_SECRET/,
    );
  });

  test('a user muvee does not have: 401, and the connected database does not have them either', async () => {
    const nobody = randomUUID();
    const bare = await checkConfig(['--muvee', muvee.url, '--muvee-user', nobody], local(muvee));
    assert.equal(bare.run.code, 7);
    assert.match(
      byId(bare.checks, 'muvee-session').message,
      /either muvee runs with another JWT_SECRET/,
    );
    const withDb = await checkConfig(
      ['--muvee', muvee.url, '--muvee-user', nobody, '--db', db],
      local(muvee),
    );
    assert.equal(withDb.run.code, 7);
    assert.match(
      byId(withDb.checks, 'muvee-session').message,
      /does not have either: most likely muvee has no such user/,
    );
    const byEmail = await checkConfig(
      ['--muvee', muvee.url, '--muvee-user', 'ghost@corp.example', '--db', db],
      local(muvee),
    );
    assert.equal(byId(byEmail.checks, 'muvee-session').status, 'fail');
    assert.match(
      byId(byEmail.checks, 'muvee-session').message,
      /'ghost@corp\.example' is not in postgres:/,
    );
  });

  test('no user and no database, or no JWT_SECRET: the session check warns what to add', async () => {
    const noUser = await checkConfig(['--muvee', muvee.url], local(muvee));
    assert.equal(byId(noUser.checks, 'muvee-session').status, 'warn');
    assert.match(byId(noUser.checks, 'muvee-session').message, /pass --muvee-user/);
    const noSecret = await checkConfig(
      ['--muvee', muvee.url, '--db', db],
      local(muvee, { JWT_SECRET: undefined }),
    );
    assert.equal(byId(noSecret.checks, 'muvee-session').status, 'warn');
    assert.match(byId(noSecret.checks, 'muvee-session').message, /JWT_SECRET is not set here/);
  });

  test('muvee down: muvee-reachable fails (connection refused) and nothing more is asked', async () => {
    const down = await serve({});
    await down.stop();
    const { run, checks } = await checkConfig(['--muvee', down.url, '--db', db], local(down));
    assert.equal(run.code, 7);
    assert.deepEqual(statuses(checks), { 'muvee-url': 'pass', 'muvee-reachable': 'fail' });
    assert.match(byId(checks, 'muvee-reachable').message, /refused the connection/);
  });

  test('--format github: annotations for what fails, a table appended to $GITHUB_STEP_SUMMARY', async () => {
    const dir = tempDir();
    const summary = join(dir, 'summary.md');
    const run = await runCli(
      ['check-config', '--muvee', muvee.url, '--db', db, '--format', 'github'],
      { env: { ...local(muvee, { JWT_SECRET: OTHER_SECRET }), GITHUB_STEP_SUMMARY: summary }, cwd },
    );
    assert.equal(run.code, 7);
    assert.match(
      run.stdout,
      /^::error title=check-config muvee-session::the deployed muvee refused a session/m,
    );
    assert.match(run.stdout, /^::warning title=check-config muvee-redirect-https::/m);
    assert.match(run.stdout, /^✓ muvee-client-id {2}muvee's client_id is DINGTALK_CLIENT_ID/m);
    assert.match(run.stdout, /^failed: \d+ passed, \d+ warning\(s\), 1 failed$/m);
    const table = readFileSync(summary, 'utf8');
    assert.match(table, /^### muvee-dingtalk check-config: failed$/m);
    assert.match(table, /^\| ❌ \| `muvee-session` \| the deployed muvee refused/m);
    assert.ok(!table.includes(OTHER_SECRET));
  });

  test('--format junit: one testcase per check, the failure as <failure>', async () => {
    const run = await runCli(
      ['check-config', '--muvee', muvee.url, '--format', 'junit', '--muvee-user', randomUUID()],
      { env: local(muvee), cwd },
    );
    assert.equal(run.code, 7);
    assert.match(run.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
    assert.match(run.stdout, / failures="1" /);
    assert.match(
      run.stdout,
      /<testcase classname="check-config" name="muvee-session">\n {6}<failure type="failure" message="the deployed muvee refused/,
    );
    assert.match(
      run.stdout,
      /<testcase classname="check-config" name="muvee-callback-state">\n {6}<system-out>/,
    );
    assert.equal(run.stderr, '');
  });

  test('verify-token --muvee: muvee’s own token, accepted by both', async () => {
    const minted = await runOracle(
      ['mint'],
      { DATABASE_URL: db, JWT_SECRET: SECRET },
      `${adminId} ${ADMIN} admin\n`,
    );
    const token = minted.stdout.trim();
    const run = await runCli(['verify-token', '--json', '--muvee', muvee.url, '-'], {
      env: { JWT_SECRET: SECRET },
      input: token,
      cwd,
    });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.valid, true);
    assert.equal(doc.muvee.accepts, true);
    assert.equal(doc.muvee.agrees, true);
    assert.equal(doc.muvee.user.id, adminId);
    const text = await runCli(['verify-token', '--muvee', muvee.url, '-'], {
      env: { JWT_SECRET: SECRET },
      input: token,
      cwd,
    });
    assert.equal(text.code, 0);
    assert.match(
      text.stdout,
      /✓ deployed muvee: http:\/\/127\.0\.0\.1:\d+ accepts this token \(GET \/api\/me: 200/,
    );
  });

  test('verify-token --muvee: locally valid, refused by muvee (another secret there): stated, exit 5', async () => {
    const { token } = mintSessionToken({ uid: adminId, email: ADMIN, role: 'admin' }, OTHER_SECRET);
    const run = await runCli(['verify-token', '--muvee', muvee.url, '-'], {
      env: { JWT_SECRET: OTHER_SECRET },
      input: token,
      cwd,
    });
    assert.equal(run.code, 5);
    assert.match(run.stdout, /✓ valid muvee session token/);
    assert.match(run.stdout, /✗ deployed muvee: .* refuses this token/);
    assert.match(
      run.stdout,
      /⚠ disagreement: this tool finds the token valid, but the deployed muvee refuses it/,
    );
    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token));
  });

  test('verify-token --muvee: signed with muvee’s secret, not ours: bad signature here, accepted there', async () => {
    const { token } = mintSessionToken({ uid: adminId, email: ADMIN, role: 'admin' }, SECRET);
    const run = await runCli(['verify-token', '--json', '--muvee', muvee.url, '-'], {
      env: { JWT_SECRET: OTHER_SECRET },
      input: token,
      cwd,
    });
    assert.equal(run.code, 5);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.reason, 'bad-signature');
    assert.equal(doc.muvee.accepts, true);
    assert.equal(doc.muvee.agrees, false);
    assert.match(doc.muvee.disagreement, /signed with the JWT_SECRET the deployed muvee runs with/);
  });

  test('verify-token --muvee: a forged token, refused by both (they agree); muvee down is exit 4', async () => {
    const { token } = mintSessionToken(
      { uid: randomUUID(), email: 'x@y.example', role: 'admin' },
      'forger-'.repeat(6),
    );
    const run = await runCli(['verify-token', '--json', '--muvee', muvee.url, '-'], {
      env: { JWT_SECRET: SECRET },
      input: token,
      cwd,
    });
    assert.equal(run.code, 5);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.muvee.accepts, false);
    assert.equal(doc.muvee.agrees, true);
    const down = await serve({});
    await down.stop();
    const good = mintSessionToken({ uid: adminId, email: ADMIN, role: 'admin' }, SECRET).token;
    const unreachable = await runCli(['verify-token', '--muvee', down.url, '-'], {
      env: { JWT_SECRET: SECRET },
      input: good,
      cwd,
    });
    assert.equal(unreachable.code, 4);
    assert.match(unreachable.stdout, /✓ valid muvee session token/);
    assert.match(unreachable.stdout, /⚠ deployed muvee: .*refused the connection/);
  });
});
