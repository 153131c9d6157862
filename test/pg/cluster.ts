/**
 * A throwaway PostgreSQL cluster for the tests: Debian's binaries (/usr/lib/postgresql/N/bin,
 * or MUVEE_DINGTALK_PG_BIN), `initdb` into a temp dir, `pg_ctl start` on a free loopback port
 * with password (SCRAM) authentication, optionally TLS with a self-signed certificate, and
 * `pg_ctl stop` + removal at the end (also when the process exits early).
 *
 * As root, initdb and the server run as the `postgres` OS user (initdb refuses root) in a dir
 * owned by it. Without the binaries, `pgUnavailable()` says why, loudly, and the suites mark
 * their tests skipped with that reason; they never pass silently.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT } from '../helpers.ts';

export const SCHEMA_SQL = readFileSync(join(ROOT, 'test/fixtures/muvee-schema.sql'), 'utf8');
const SUPERUSER = 'muvee_test_super';

/** The bin dir holding pg_ctl and initdb (highest version first), or undefined. */
export function findPgBin(): string | undefined {
  const override = process.env.MUVEE_DINGTALK_PG_BIN;
  if (override) return existsSync(join(override, 'pg_ctl')) ? override : undefined;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, 'bin'))
    .find((dir) => existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb')));
}

/** The OS user the server runs as: ourselves, or `postgres` when we are root. */
function serverUser(): { uid: number; gid: number } | undefined | 'none' {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return 'none';
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

let warned = false;
/**
 * Why the PostgreSQL tests cannot run here (undefined when they can). Warns once on the
 * console, so a skipped suite is never mistaken for a green one.
 */
export function pgUnavailable(): string | undefined {
  let reason: string | undefined;
  if (!findPgBin())
    reason =
      'PostgreSQL binaries not found (no pg_ctl/initdb under /usr/lib/postgresql/*/bin; set MUVEE_DINGTALK_PG_BIN or `apt-get install -y postgresql`)';
  else if (serverUser() === 'none')
    reason = 'running as root and there is no `postgres` OS user to run initdb and the server';
  if (reason && !warned) {
    warned = true;
    console.warn(`\n!!!!! PostgreSQL tests SKIPPED: ${reason} !!!!!\n`);
  }
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  port: number;
  superUser: string;
  superPassword: string;
  /** A URL for `database` as `user` (default: the superuser). */
  url(database: string, user?: string, password?: string): string;
  /** Runs SQL as the superuser in `database` (default postgres). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** A new database with muvee's schema (copied from a template made once). */
  createMuveeDatabase(name: string): Promise<string>;
  /** A new empty database. */
  createEmptyDatabase(name: string): Promise<string>;
  /** Every row of muvee's five tables, in a stable order (for "nothing changed" checks). */
  snapshot(database: string): Promise<string>;
  /** `pg_dump --data-only` of the database (as the superuser). */
  dumpData(database: string): string;
  stop(): void;
  ssl: boolean;
}

export interface StartOptions {
  /** Turn TLS on with a self-signed certificate (needs openssl). */
  ssl?: boolean;
}

/** Starts a cluster. Call only when `pgUnavailable()` is undefined. */
export async function startCluster(options: StartOptions = {}): Promise<PgCluster> {
  const bin = findPgBin()!;
  const owner = serverUser();
  const as: SpawnSyncOptions = owner && owner !== 'none' ? { uid: owner.uid, gid: owner.gid } : {};
  const dir = serverDir(owner, as);
  const run = (cmd: string, args: string[], extra: SpawnSyncOptions = {}) => {
    const r = spawnSync(join(bin, cmd), args, {
      ...as,
      cwd: dir,
      env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
      encoding: 'utf8',
      ...extra,
    });
    if (r.status !== 0)
      throw new Error(
        `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ''}`,
      );
    return r.stdout as string;
  };
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const superPassword = `super-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pwfile');
  let started = false;
  const stop = () => {
    if (started) {
      spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], {
        ...as,
        cwd: dir,
        stdio: 'ignore',
      });
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', stop);
  };
  process.on('exit', stop);
  try {
    writeFileSync(pwfile, superPassword, { mode: 0o600 });
    if (owner && owner !== 'none') chownSync(pwfile, owner.uid, owner.gid);
    run('initdb', [
      '-D',
      data,
      '-U',
      SUPERUSER,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const ssl = options.ssl === true && makeCertificate(data, owner);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        run('pg_ctl', [
          '-D',
          data,
          '-l',
          log,
          '-w',
          '-t',
          '30',
          '-o',
          [
            `-p ${port}`,
            "-c listen_addresses='127.0.0.1'",
            `-k ${dir}`,
            '-c fsync=off',
            '-c synchronous_commit=off',
            '-c full_page_writes=off',
            '-c max_connections=60',
            ...(ssl ? ['-c ssl=on'] : []),
          ].join(' '),
          'start',
        ]);
        started = true;
        break;
      } catch (error) {
        if (attempt >= 3) {
          const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
          throw new Error(`${(error as Error).message}\n${tail}`);
        }
      }
    }
    const url = (database: string, user = SUPERUSER, password = superPassword) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    const sql = async <R extends pg.QueryResultRow>(
      text: string,
      params: unknown[] = [],
      database = 'postgres',
    ): Promise<R[]> => {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      try {
        return (await client.query<R>(text, params)).rows;
      } finally {
        await client.end();
      }
    };
    await sql('CREATE DATABASE muvee_template');
    await sql(SCHEMA_SQL, [], 'muvee_template');
    const cluster: PgCluster = {
      port,
      superUser: SUPERUSER,
      superPassword,
      ssl,
      url,
      sql,
      async createMuveeDatabase(name) {
        await sql(`CREATE DATABASE "${name}" TEMPLATE muvee_template`);
        return name;
      },
      async createEmptyDatabase(name) {
        await sql(`CREATE DATABASE "${name}"`);
        return name;
      },
      async snapshot(database) {
        const tables = [
          'users',
          'platform_members',
          'invitations',
          'system_settings',
          'oauth_accounts',
        ];
        const parts: string[] = [];
        for (const table of tables) {
          const rows = await sql<{ r: string }>(
            `SELECT row_to_json(t)::text AS r FROM ${table} t ORDER BY 1`,
            [],
            database,
          );
          parts.push(`${table}: ${rows.map((r) => r.r).join('\n')}`);
        }
        return parts.join('\n');
      },
      dumpData(database) {
        // Without the \restrict lines: newer pg_dumps put a random key there on each run.
        return run('pg_dump', ['--data-only', '--no-owner', url(database)])
          .split('\n')
          .filter((line) => !/^\\(un)?restrict /.test(line))
          .join('\n');
      },
      stop,
    };
    return cluster;
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * A dir the server's user owns and can reach: under os.tmpdir() unless that is private to us
 * (then /tmp, /var/tmp).
 */
function serverDir(
  owner: { uid: number; gid: number } | undefined | 'none',
  as: SpawnSyncOptions,
): string {
  for (const base of [...new Set([tmpdir(), '/tmp', '/var/tmp'])]) {
    if (!existsSync(base)) continue;
    const dir = mkdtempSync(join(base, 'muvee-dingtalk-pg-'));
    if (owner && owner !== 'none') chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
    if (spawnSync('test', ['-w', dir, '-a', '-x', dir], as).status === 0) return dir;
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('no temp dir the PostgreSQL server user can use');
}

/** server.crt / server.key for CN=127.0.0.1 in the data dir; false when openssl is missing. */
function makeCertificate(
  data: string,
  owner: { uid: number; gid: number } | undefined | 'none',
): boolean {
  const crt = join(data, 'server.crt');
  const key = join(data, 'server.key');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      key,
      '-out',
      crt,
    ],
    { stdio: 'ignore' },
  );
  if (r.status !== 0) return false;
  chmodSync(key, 0o600);
  if (owner && owner !== 'none') {
    chownSync(key, owner.uid, owner.gid);
    chownSync(crt, owner.uid, owner.gid);
  }
  return true;
}
