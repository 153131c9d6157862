/**
 * Issue 21: the README's GitHub Actions and GitLab CI jobs run as written. Their commands are
 * taken from the README's YAML blocks (all but `npm ci`, already done) and run with bash in the
 * checkout, with the job's variables pointing at a local muvee (muvee-oracle serve: muvee's own
 * handlers on a database with its migrations) and the DingTalk emulator (for --live; the one
 * addition: DINGTALK_API_BASE/LOGIN_BASE, which a real job leaves unset). Skipped loudly
 * without muvee-oracle or PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { baseEnv, ROOT, tempDir } from './helpers.ts';
import {
  createOracleDatabase,
  oracleUnavailable,
  serveOracle,
  type OracleServer,
} from './oracle/oracle.ts';
import { startCluster, type PgCluster } from './pg/cluster.ts';

const skip = oracleUnavailable();
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The ```yaml block that follows `heading` in the README. */
function yamlAfter(heading: string): string {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has no '${heading}'`);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `no yaml block after '${heading}'`);
  return block[1]!;
}

/** GitHub: each step's `run:` and the names its `env:` maps to `${{ vars.X }}`/`${{ secrets.X }}`. */
function githubSteps(yaml: string): { run: string; env: string[] }[] {
  const steps: { run: string; env: string[] }[] = [];
  let env: string[] = [];
  for (const line of yaml.split('\n')) {
    const variable = /^\s+([A-Z_]+): \$\{\{ (vars|secrets)\.([A-Z_]+) \}\}$/.exec(line);
    if (variable) {
      assert.equal(variable[1], variable[3], `${line}: the job's variable keeps its name`);
      env.push(variable[1]!);
    }
    const run = /^\s+(?:- )?run: (.+)$/.exec(line);
    if (run) {
      steps.push({ run: run[1]!, env });
      env = [];
    }
    if (/^\s+- /.test(line) && !run) env = [];
  }
  return steps;
}

/** GitLab: the `script:` lines. */
function gitlabScript(yaml: string): string[] {
  const script = /script:\n((?:\s+- .+\n)+)/.exec(yaml);
  assert.ok(script, 'no script: in the GitLab job');
  return script[1]!
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\s+- /, ''));
}

describe("the README's CI jobs, run as written", { skip }, () => {
  const SECRET = 'ci-jobs-secret-0123456789abcdef0123456789';
  let cluster: PgCluster;
  let muvee: OracleServer;
  let emulator: Emulator;
  let user: string;
  const clientId = 'dingcijobsapp0000001';
  const clientSecret = 'ci-jobs-app-secret-'.padEnd(64, 'x');

  before(async () => {
    cluster = await startCluster();
    const db = await createOracleDatabase(cluster, 'cijobs');
    const [row] = await cluster.sql<{ id: string }>(
      `INSERT INTO users (email, name) VALUES ('ops@corp.example', 'Ops') RETURNING id`,
      [],
      'cijobs',
    );
    user = row!.id;
    await cluster.sql(
      `INSERT INTO platform_members (user_id, role, authorized) VALUES ($1, 'admin', true)`,
      [user],
      'cijobs',
    );
    muvee = await serveOracle({
      DATABASE_URL: db,
      JWT_SECRET: SECRET,
      DINGTALK_CLIENT_ID: clientId,
      DINGTALK_CLIENT_SECRET: clientSecret,
      DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
    });
    emulator = await startEmulator({
      clients: [
        {
          clientId,
          clientSecret,
          redirectUris: ['https://muvee.corp.example/auth/dingtalk/callback'],
        },
      ],
    });
  });
  after(async () => {
    await muvee?.stop();
    await emulator?.close();
    cluster?.stop();
  });

  /** The job's variables, as a project would set them for this muvee. */
  const variables = (extra: Record<string, string> = {}) => ({
    MUVEE_URL: muvee.url,
    DINGTALK_CLIENT_ID: clientId,
    DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
    BASE_DOMAIN: 'corp.example',
    ADMIN_EMAILS: 'ops@corp.example',
    MUVEE_CHECK_USER: user,
    DINGTALK_CLIENT_SECRET: clientSecret,
    JWT_SECRET: SECRET,
    ...extra,
  });

  /** bash -c, asynchronously: the emulator answers from this process meanwhile. */
  function sh(
    command: string,
    env: Record<string, string>,
  ): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', command], {
        cwd: ROOT,
        env: baseEnv({
          ...env,
          DINGTALK_API_BASE: emulator.url,
          DINGTALK_LOGIN_BASE: emulator.url,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  test('GitHub Actions: annotations, the summary table, red when a check fails', async () => {
    const steps = githubSteps(
      yamlAfter('GitHub Actions (`.github/workflows/muvee-deployment.yml`)'),
    );
    assert.deepEqual(
      steps.map((s) => s.run.split(' ').slice(0, 2).join(' ')),
      ['npm ci', 'npx muvee-dingtalk'],
    );
    const job = steps[1]!;
    const given = variables();
    assert.deepEqual(
      [...job.env].sort(),
      Object.keys(given).sort(),
      'the job sets exactly these variables',
    );
    const summary = join(tempDir(), 'summary.md');
    const green = await sh(job.run, { ...given, GITHUB_STEP_SUMMARY: summary });
    assert.equal(green.status, 0, `${green.stdout}\n${green.stderr}`);
    assert.match(
      green.stdout,
      /^✓ muvee-session {2}the deployed muvee accepts sessions signed with this JWT_SECRET/m,
    );
    assert.match(green.stdout, /^✓ muvee-redirect-url {2}/m);
    assert.match(green.stdout, /^::warning title=check-config api-base::/m);
    assert.match(readFileSync(summary, 'utf8'), /^### muvee-dingtalk check-config: ok$/m);
    const red = await sh(
      job.run,
      variables({ JWT_SECRET: 'rotated-on-one-side-only-0123456789abcdef' }),
    );
    assert.equal(red.status, 7);
    assert.match(
      red.stdout,
      /^::error title=check-config muvee-session::the deployed muvee refused a session/m,
    );
  });

  test('GitLab CI: a JUnit report the pipeline shows as tests', async (t) => {
    const yaml = yamlAfter('GitLab CI (`.gitlab-ci.yml`');
    const script = gitlabScript(yaml);
    assert.equal(script[0], 'npm ci');
    assert.match(yaml, /reports:\n\s+junit: check-config\.xml/);
    // GitLab runs the script in the checkout: the report lands there (removed after the test).
    t.after(() => rmSync(join(ROOT, 'check-config.xml'), { force: true }));
    const run = await sh(script[1]!, variables());
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const xml = readFileSync(join(ROOT, 'check-config.xml'), 'utf8');
    assert.match(xml, /<testsuites name="muvee-dingtalk check-config" tests="\d+" failures="0"/);
    assert.match(xml, /<testcase classname="check-config" name="muvee-session">/);
    const red = await sh(script[1]!, variables({ DINGTALK_CLIENT_ID: 'dingrotatedappkey0002' }));
    assert.equal(red.status, 7);
    assert.match(
      readFileSync(join(ROOT, 'check-config.xml'), 'utf8'),
      /name="muvee-client-id">\n\s+<failure type="failure" message="muvee signs in with client_id/,
    );
  });
});
