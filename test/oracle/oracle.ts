/**
 * muvee-oracle (../shared/muvee-oracle): muvee's own Go code as a program, the reference for
 * every "what muvee would do". This module finds it, gives it a database with muvee's 50
 * migrations (muvee's own runner), and runs its commands.
 *
 * Where: `MUVEE_ORACLE` (the binary, or the folder holding it), else
 * `<repo>/../shared/muvee-oracle/muvee-oracle`. Where it is absent, `oracleUnavailable()` says
 * why, loudly, once, and the suites mark their tests skipped with that reason: never a silent
 * pass.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from '../helpers.ts';
import { pgUnavailable, type PgCluster } from '../pg/cluster.ts';

/** The muvee-oracle binary this run uses (it may not exist: see `oracleUnavailable`). */
export function oraclePath(): string {
  const override = process.env.MUVEE_ORACLE;
  if (override) {
    const abs = resolve(override);
    return existsSync(abs) && statSync(abs).isDirectory() ? join(abs, 'muvee-oracle') : abs;
  }
  return resolve(ROOT, '..', 'shared', 'muvee-oracle', 'muvee-oracle');
}

/** muvee's migrations, beside the binary. */
export function oracleMigrations(): string {
  return join(dirname(oraclePath()), 'migrations');
}

let warned = false;
/** Why muvee-oracle cannot run here (undefined when it can); warns once on the console. */
export function oracleUnavailable(): string | undefined {
  let reason: string | undefined;
  const path = oraclePath();
  if (!existsSync(path))
    reason = `muvee-oracle not found at ${path} (set MUVEE_ORACLE to the binary or its folder)`;
  else if (!existsSync(oracleMigrations()))
    reason = `muvee's migrations not found at ${oracleMigrations()}`;
  else reason = pgUnavailable();
  if (reason && !warned) {
    warned = true;
    console.warn(`\n!!!!! muvee-oracle comparisons SKIPPED: ${reason} !!!!!\n`);
  }
  return reason;
}

export interface OracleResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment muvee reads; muvee refuses to start without a provider, so a client id is set. */
export function oracleEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DINGTALK_CLIENT_ID: 'dingoracle',
    DINGTALK_CLIENT_SECRET: 'oracle-secret',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `muvee-oracle <args>` to its end, with `input` on stdin. */
export function runOracle(
  args: string[],
  env: Record<string, string | undefined>,
  input = '',
): Promise<OracleResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(oraclePath(), args, {
      env: oracleEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolveRun({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** A new database in `cluster` with muvee's 50 migrations applied by muvee's own runner. */
export async function createOracleDatabase(cluster: PgCluster, name: string): Promise<string> {
  await cluster.createEmptyDatabase(name);
  const url = cluster.url(name);
  const r = spawnSync(oraclePath(), ['migrate', oracleMigrations()], {
    env: oracleEnv({ DATABASE_URL: url }),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`muvee-oracle migrate failed: ${r.stderr}${r.error ?? ''}`);
  return url;
}

export interface OracleServer {
  url: string;
  stop(): Promise<void>;
}

/** `muvee-oracle serve`: muvee's routes on loopback until `stop()`. */
export function serveOracle(env: Record<string, string | undefined>): Promise<OracleServer> {
  return new Promise((resolveServe, reject) => {
    const child = spawn(oraclePath(), ['serve'], {
      env: oracleEnv({ HARNESS_LISTEN: '127.0.0.1:0', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('close', () => done());
        child.kill('SIGKILL');
      });
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        try {
          resolveServe({ url: (JSON.parse(out.slice(0, nl)) as { url: string }).url, stop });
        } catch (error) {
          void stop();
          reject(error as Error);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`muvee-oracle serve ended (${code}): ${err}`)));
  });
}
