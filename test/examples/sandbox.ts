/**
 * The world the README's and `--help`'s examples run in (test/examples.test.ts), as one process
 * inside its own network and mount namespaces (started under `unshare`): only a loopback
 * interface exists, so nothing an example does can leave the machine, and fixed ports (8080,
 * 9000, 9900) are free whatever else runs on the host.
 *
 * Flow:
 * 1. bring `lo` up, check it is the only interface;
 * 2. bind-mount a hosts file: login.dingtalk.com, api.dingtalk.com and muvee.example.com are
 *    127.0.0.1, behind a TLS proxy on :443 whose certificate a throwaway CA signs
 *    (`NODE_EXTRA_CA_CERTS` in the examples' environment trusts it); any other name fails;
 * 3. DingTalk there is the built-in emulator (the demo app, plus `dingxxx` and the user alice);
 * 4. where PostgreSQL and muvee-oracle are (and we may run them), a cluster with a template
 *    database holding muvee's 50 migrations and two admins, and `muvee-oracle serve` on a copy
 *    of it as the deployed muvee.example.com;
 * 5. print one JSON line (what is there, what is not and why), then run the requests read from
 *    stdin (one JSON line each: a `bash -c` script, its folder and environment, a person who
 *    opens the printed authorize URL, a Ctrl-C once some text shows) and answer each with one
 *    JSON line; stdin's end stops everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer as createTlsServer } from 'node:tls';
import { startEmulator } from '../../src/emulator/server.ts';
import {
  BUILTIN_USERS,
  EMULATOR_CLIENT_ID,
  EMULATOR_CLIENT_SECRET,
} from '../../src/emulator/users.ts';
import { createOracleDatabase, oracleUnavailable, serveOracle } from '../oracle/oracle.ts';
import { pgUnavailable, startCluster, type PgCluster } from '../pg/cluster.ts';

export interface SandboxReady {
  ready: true;
  /** The CA the TLS proxy's certificate chains to (for NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Why there is no PostgreSQL with muvee's schema (undefined: there is). */
  noPostgres?: string;
  /** Why there is no deployed muvee at https://muvee.example.com (undefined: there is). */
  noMuvee?: string;
}

export interface Person {
  /** The emulated DingTalk user who approves on the login page (default zhangsan). */
  user?: string;
  /** Send the browser's callback request here (`host:port`) instead: a tunnel's far end. */
  via?: string;
  /**
   * On another machine: the browser's page after approval does not load there, so the person
   * pastes its URL into the terminal (the run's stdin) instead.
   */
  paste?: boolean;
}

export interface RunRequest {
  id: number;
  script: string;
  cwd: string;
  env: Record<string, string>;
  /** DATABASE_URL: a copy of muvee's database by this name (made at its first mention). */
  postgres?: string;
  /** That copy holds no user (muvee's migrations only). */
  emptyPostgres?: boolean;
  /** Someone who opens the authorize URL the run prints and approves. */
  person?: Person;
  /** Ctrl-C (SIGINT to the process group, as a terminal does) once stdout+stderr match this. */
  interruptOn?: string;
  timeoutMs: number;
}

export interface RunResponse {
  id: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  interrupted: boolean;
  /** What the person saw, or why they could not approve. */
  person?: string;
}

export const DINGTALK_HOSTS = ['login.dingtalk.com', 'api.dingtalk.com'];
export const MUVEE_HOST = 'muvee.example.com';
export const ALICE = 'alice@corp.example';
export const ADMIN = 'admin@corp.example';

const work = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-examples-world-'));
const stops: (() => unknown)[] = [];
// Also when the start fails half-way (the cluster removes itself the same way).
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function sh(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')}: ${r.stderr || r.error?.message || r.status}`);
  return r.stdout;
}

// 1. Loopback only.
sh('ip', ['link', 'set', 'lo', 'up']);
const interfaces = Object.keys(networkInterfaces());
if (interfaces.some((name) => name !== 'lo'))
  throw new Error(`not an isolated network namespace: interfaces ${interfaces.join(', ')}`);

// 2. Names, certificates, the TLS front door.
const hosts = join(work, 'hosts');
writeFileSync(
  hosts,
  `${readFileSync('/etc/hosts', 'utf8').trimEnd()}\n127.0.0.1 ${[...DINGTALK_HOSTS, MUVEE_HOST].join(' ')}\n`,
);
sh('mount', ['--bind', hosts, '/etc/hosts']);
const resolv = join(work, 'resolv.conf');
writeFileSync(resolv, 'nameserver 127.0.0.1\n');
sh('mount', ['--bind', resolv, '/etc/resolv.conf']);
const caFile = join(work, 'ca.pem');
const key = join(work, 'key.pem');
const cert = join(work, 'cert.pem');
sh('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', join(work, 'ca-key.pem'), '-out', caFile, '-days', '2', '-subj', '/CN=muvee-dingtalk examples CA',
]); // prettier-ignore
sh('openssl', [
  'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', key, '-out', join(work, 'leaf.csr'), '-subj', `/CN=${MUVEE_HOST}`,
]); // prettier-ignore
writeFileSync(
  join(work, 'ext.cnf'),
  `subjectAltName=${[...DINGTALK_HOSTS, MUVEE_HOST].map((h) => `DNS:${h}`).join(',')}\n`,
);
sh('openssl', [
  'x509', '-req', '-in', join(work, 'leaf.csr'), '-CA', caFile, '-CAkey', join(work, 'ca-key.pem'),
  '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', join(work, 'ext.cnf'),
]); // prettier-ignore
const ca = readFileSync(caFile);
const backends = new Map<string, number>();
const front = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (socket) => {
  const port = backends.get(socket.servername || '');
  if (!port) {
    socket.destroy();
    return;
  }
  const upstream = connect(port, '127.0.0.1');
  socket.pipe(upstream).pipe(socket);
  const end = () => {
    socket.destroy();
    upstream.destroy();
  };
  socket.on('error', end);
  upstream.on('error', end);
});
await new Promise<void>((resolve, reject) => {
  front.once('error', reject);
  front.listen(443, '127.0.0.1', resolve);
});
stops.push(() => front.close());

// 3. DingTalk.
const emulator = await startEmulator({
  users: [
    ...BUILTIN_USERS,
    {
      id: 'alice',
      nick: 'Alice',
      unionId: 'UALICE0001',
      openId: 'OALICE0001',
      email: ALICE,
      mobile: '13800000001',
    },
  ],
  clients: [
    {
      clientId: EMULATOR_CLIENT_ID,
      clientSecret: EMULATOR_CLIENT_SECRET,
      redirectUris: [
        'http://localhost:8080/auth/dingtalk/callback',
        `https://${MUVEE_HOST}/auth/dingtalk/callback`,
      ],
    },
    {
      clientId: 'dingxxx',
      clientSecret: EMULATOR_CLIENT_SECRET,
      redirectUris: ['http://localhost:9000/auth/dingtalk/callback'],
    },
  ],
});
stops.push(() => emulator.close());
for (const host of DINGTALK_HOSTS) backends.set(host, Number(new URL(emulator.url).port));

// 4. muvee's database and muvee.
let cluster: PgCluster | undefined;
let noPostgres = pgUnavailable();
if (!noPostgres && process.env.MUVEE_DINGTALK_EXAMPLES_USERNS === '1')
  noPostgres =
    'PostgreSQL cannot run in an unprivileged user namespace (initdb refuses root, and no other user is mapped)';
let noMuvee = noPostgres ?? oracleUnavailable();
if (!noPostgres) {
  cluster = await startCluster();
  stops.push(() => cluster!.stop());
  if (noMuvee) await cluster.createMuveeDatabase('examples_template');
  else await createOracleDatabase(cluster, 'examples_template');
  await cluster.sql('CREATE DATABASE examples_empty TEMPLATE examples_template');
  for (const email of [ADMIN, ALICE]) {
    const [row] = await cluster.sql<{ id: string }>(
      `INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id`,
      [email, email.split('@')[0]],
      'examples_template',
    );
    await cluster.sql(
      `INSERT INTO platform_members (user_id, role, authorized) VALUES ($1, 'admin', true)`,
      [row!.id],
      'examples_template',
    );
  }
  if (!noMuvee) {
    await cluster.sql('CREATE DATABASE deployed TEMPLATE examples_template');
    try {
      const muvee = await serveOracle({
        DATABASE_URL: cluster.url('deployed'),
        JWT_SECRET: process.env.EXAMPLES_JWT_SECRET,
        DINGTALK_CLIENT_ID: EMULATOR_CLIENT_ID,
        DINGTALK_CLIENT_SECRET: EMULATOR_CLIENT_SECRET,
        DINGTALK_REDIRECT_URL: `https://${MUVEE_HOST}/auth/dingtalk/callback`,
        ADMIN_EMAILS: ADMIN,
      });
      stops.push(() => muvee.stop());
      backends.set(MUVEE_HOST, Number(new URL(muvee.url).port));
    } catch (error) {
      noMuvee = `muvee-oracle serve did not start: ${(error as Error).message}`;
    }
  }
}

const databases = new Map<string, Promise<string>>();
let creating: Promise<unknown> = Promise.resolve();
function database(name: string, empty = false): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  let url = databases.get(name);
  if (!url) {
    // One at a time: CREATE DATABASE … TEMPLATE refuses while the template is being copied.
    url = creating
      .then(() =>
        cluster!.sql(`CREATE DATABASE ${name} TEMPLATE examples_${empty ? 'empty' : 'template'}`),
      )
      .then(() => cluster!.url(name));
    creating = url.catch(() => {});
    databases.set(name, url);
  }
  return url;
}

// The person at the browser.
interface Answer {
  status: number;
  location?: string;
  body: string;
}
function fetchOnce(url: string, method = 'GET', form?: string, via?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const [host, port] = via ? via.split(':') : [target.hostname, target.port];
    const req = (https ? httpsRequest : httpRequest)(
      {
        host,
        port: port || (https ? 443 : 80),
        path: target.pathname + target.search,
        method,
        ca,
        servername: https ? target.hostname : undefined,
        headers: {
          host: target.host,
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

/** Opens the authorize URL, picks the user, approves, and lets the browser follow the redirect. */
async function approve(
  authorizeUrl: string,
  person: Person,
  paste: (text: string) => void,
): Promise<string> {
  const page = await fetchOnce(authorizeUrl);
  let location = page.location;
  if (page.status === 200) {
    const form = new URLSearchParams();
    for (const [, name, value] of page.body.matchAll(
      /<input type="hidden" name="([^"]+)" value="([^"]*)">/g,
    ))
      form.set(name!, value!.replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
    form.set('user', person.user ?? 'zhangsan');
    form.set('decision', 'approve');
    const decided = await fetchOnce(
      new URL('/oauth2/auth/decision', authorizeUrl).toString(),
      'POST',
      form.toString(),
    );
    location = decided.location;
    if (decided.status !== 302) return `the login page refused: ${decided.status} ${decided.body}`;
  } else if (page.status !== 302) return `authorize answered ${page.status}: ${page.body}`;
  if (person.paste) {
    paste(`${location}\n`);
    return `approved as ${person.user ?? 'zhangsan'}; pasted ${location}`;
  }
  const landed = await fetchOnce(location!, 'GET', undefined, person.via);
  return `approved as ${person.user ?? 'zhangsan'}; ${location} answered ${landed.status}`;
}

const AUTHORIZE = /(https:\/\/login\.dingtalk\.com\/oauth2\/auth\?\S+)/;

function run(request: RunRequest, env: Record<string, string>): Promise<RunResponse> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', request.script], {
      cwd: request.cwd,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let person: Promise<string> | undefined;
    let timedOut = false;
    let interrupted = false;
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      group('SIGKILL');
    }, request.timeoutMs);
    const seen = () => {
      const all = stdout + stderr;
      if (request.person && !person) {
        const url = AUTHORIZE.exec(stderr)?.[1];
        if (url)
          person = approve(url, request.person, (text) => child.stdin.write(text)).catch(
            (e: Error) => `could not approve: ${e.message}`,
          );
      }
      if (request.interruptOn && !interrupted && new RegExp(request.interruptOn, 'm').test(all)) {
        interrupted = true;
        group('SIGINT');
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      seen();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      seen();
    });
    child.stdin.on('error', () => {});
    child.on('exit', () => {
      // Whatever the example left in the background (an `emulator &`) ends with it.
      group('SIGTERM');
      setTimeout(() => group('SIGKILL'), 2000).unref();
    });
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      resolve({
        id: request.id,
        code,
        signal,
        stdout,
        stderr,
        ms: Date.now() - started,
        timedOut,
        interrupted,
        person: person ? await person : undefined,
      });
    });
  });
}

const send = (message: unknown): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};
const ready: SandboxReady = { ready: true, caFile, noPostgres, noMuvee };
send(ready);

const pending = new Set<Promise<void>>();
for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line) as RunRequest;
  const job = (async () => {
    const env = { ...request.env };
    if (request.postgres)
      env.DATABASE_URL = await database(request.postgres, request.emptyPostgres);
    send(await run(request, env));
  })().catch((error: Error) =>
    send({ id: request.id, code: null, signal: null, stdout: '', stderr: error.stack, ms: 0 }),
  );
  pending.add(job);
  void job.finally(() => pending.delete(job));
}
await Promise.allSettled(pending);
for (const stop of stops.reverse()) await stop();
process.exit(0);
