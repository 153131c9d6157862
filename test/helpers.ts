/**
 * Test helpers: the CLI in-process (`runCli`, `startCli`: the sources, injected streams) or
 * as a child process (`runBin`, `startBin`: the built dist/ as users run it, for tests whose
 * subject is the process itself), temp dirs, and an HTTP client that plays the browser.
 * Everything stays on loopback.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Io } from '../src/cli/command.ts';
import { runCli as runInProcess } from '../src/program.ts';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'muvee-dingtalk.js');
export const SECRET = 'test-jwt-secret-0123456789abcdef0123456789';

/** `mint-token` for a member with no database needed: add flags, options and env. */
export const MINT_MEMBER = [
  'mint-token',
  '--uid',
  '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a',
  '--email',
  'a@b.example',
  '--role',
  'member',
];

/** A minimal environment: nothing of the developer's shell (no .env, no DINGTALK_*) leaks in. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // The node running the tests comes first on PATH, so the bin's `#!/usr/bin/env -S node --` finds it.
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    // Node >= 22.1 keeps compiled code per user (src/runtime/user-code-cache.ts): in a folder of
    // this test file's, not the developer's ~/.cache.
    XDG_CACHE_HOME: testCacheHome(),
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

let cacheHome: string | undefined;

/** One folder per test file for the bin's caches, removed when the file's tests are over. */
function testCacheHome(): string {
  cacheHome ??= tempDir();
  return cacheHome;
}

/**
 * A new folder in the temporary directory, removed after the test `t`, or without one (a
 * suite's setup) when this test file's process exits: `npm test` leaves nothing behind.
 */
export function tempDir(t?: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-test-'));
  if (t) t.after(() => rmSync(dir, { recursive: true, force: true }));
  else removeAtExit(dir);
  return dir;
}

const atExit: string[] = [];

function removeAtExit(dir: string): void {
  if (atExit.length === 0) {
    process.once('exit', () => {
      for (const each of atExit) rmSync(each, { recursive: true, force: true });
    });
  }
  atExit.push(dir);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Run as this user (tests running as root use it to meet file permissions). */
  uid?: number;
  gid?: number;
}

/** Runs the CLI in-process to completion (as another user: the bin in a child process). */
export function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  if (options.uid !== undefined) return runBin(args, options);
  const run = startCli(args, options);
  if (options.input !== undefined) run.stdin.end(options.input);
  else run.stdin.end();
  return run.done;
}

/** A run of the CLI, in-process or as a child process. */
export interface CliRun {
  done: Promise<RunResult>;
  stdin: NodeJS.WritableStream;
  stdoutText(): string;
  stderrText(): string;
  /** Resolves with the first stderr match of `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** In-process, SIGINT and SIGTERM abort the run's signal, as the bin's handlers do. */
  kill(signal?: NodeJS.Signals): void;
}

/** A sink that collects text, and tells listeners when it grows. */
class Collector extends EventEmitter {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  write(text: string): void {
    this.text += text;
    this.emit('data', text);
  }
}

/** Starts the CLI in-process (the sources) with stdin left open, e.g. for login. */
export function startCli(args: string[], options: RunOptions = {}): CliRun {
  const stdout = new Collector();
  const stderr = new Collector();
  const stdin = new PassThrough();
  const abort = new AbortController();
  const io: Io = {
    env: { LANG: 'C.UTF-8', ...withoutUndefined(options.env ?? {}) },
    cwd: options.cwd ?? ROOT,
    stdout,
    stderr,
    stdin: () => stdin,
    signal: abort.signal,
  };
  const done = runInProcess(args, io).then((code) => ({
    code,
    signal: null,
    stdout: stdout.text,
    stderr: stderr.text,
  }));
  const timer = setTimeout(() => abort.abort('SIGKILL'), options.timeoutMs ?? 30_000);
  void done.finally(() => clearTimeout(timer));
  return {
    done,
    stdin,
    stdoutText: () => stdout.text,
    stderrText: () => stderr.text,
    waitForStderr: (pattern, timeoutMs) =>
      waitForText(stderr, pattern, timeoutMs, done, () => stdout.text),
    kill: (signal = 'SIGTERM') => abort.abort(signal),
  };
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
}

/** Resolves with the first match of `pattern` in what `source` collected. */
function waitForText(
  source: { text: string } & NodeJS.EventEmitter,
  pattern: RegExp,
  timeoutMs = 15_000,
  ended: Promise<unknown>,
  other: () => string,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const check = () => {
      const match = source.text.match(pattern);
      if (match && !finished) {
        cleanup();
        resolve(match);
      }
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}; stderr:\n${source.text}`));
    }, timeoutMs);
    const cleanup = () => {
      finished = true;
      clearTimeout(t);
      source.off('data', check);
    };
    source.on('data', check);
    void ended.then(() => {
      check();
      if (finished) return;
      cleanup();
      reject(
        new Error(`run ended before ${pattern}; stderr:\n${source.text}\nstdout:\n${other()}`),
      );
    });
    check();
  });
}

/** Runs the built CLI (bin → dist) as a child process to completion. */
export function runBin(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = startBin(args, options);
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  return child.done;
}

export interface CliProcess extends ChildProcessWithoutNullStreams {
  done: Promise<RunResult>;
  stdoutText(): string;
  stderrText(): string;
  /** Resolves with the first stderr match of `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

let portable: { bin: string; pathDir: string } | undefined;

/**
 * The built CLI where another user can run it. A checkout may live in a private folder
 * (`mktemp -d`, a home of mode 0700) that such a user cannot enter: copy what the bin needs
 * (bin/, dist/, the better-sqlite3 addon, and Node itself when it is in such a folder too)
 * into a world-readable temp folder, once per test process.
 */
function portableBin(uid: number, gid: number): { bin: string; pathDir: string } {
  if (portable) return portable;
  const dir = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-portable-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const part of ['package.json', 'bin', 'dist']) {
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  }
  // Both builds of better-sqlite3 (src/sqlite.ts picks one per runtime), without sources.
  for (const name of ['better-sqlite3', 'better-sqlite3-node20']) {
    const from = join(ROOT, 'node_modules', name);
    for (const part of [
      'package.json',
      'lib',
      'prebuilds',
      join('build', 'Release', 'better_sqlite3.node'),
    ]) {
      if (existsSync(join(from, part)))
        cpSync(join(from, part), join(dir, 'node_modules', name, part), { recursive: true });
    }
  }
  let pathDir = dirname(process.execPath);
  const reachable = spawnSync(process.execPath, ['-e', '0'], { uid, gid, cwd: dir }).status === 0;
  if (!reachable) {
    pathDir = join(dir, 'node-bin');
    cpSync(process.execPath, join(pathDir, 'node'));
  }
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  portable = { bin: join(dir, 'bin', 'muvee-dingtalk.js'), pathDir };
  return portable;
}

/** Starts the built CLI as a child process and leaves stdin open. */
export function startBin(args: string[], options: RunOptions = {}): CliProcess {
  const asOther =
    options.uid !== undefined ? portableBin(options.uid, options.gid ?? options.uid) : undefined;
  const env = baseEnv(options.env);
  if (asOther) env.PATH = `${asOther.pathDir}:${env.PATH}`;
  // Run the bin itself, shebang included, as a user's shell would.
  const child = spawn(asOther?.bin ?? BIN, args, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: 'pipe',
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  }) as CliProcess;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  child.done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stdoutText = () => stdout;
  child.stderrText = () => stderr;
  child.waitForStderr = (pattern, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = stderr.match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const onExit = () => {
        cleanup();
        reject(
          new Error(`process exited before ${pattern}; stderr:\n${stderr}\nstdout:\n${stdout}`),
        );
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern}; stderr:\n${stderr}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(t);
        child.stderr.off('data', check);
        child.off('close', onExit);
      };
      child.stderr.on('data', check);
      child.on('close', onExit);
      check();
    });
  return child;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request without keep-alive and without following redirects. */
export function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The authorize URL login prints on stderr. */
export const AUTHORIZE_URL = /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/auth\?\S+)/;

/**
 * Plays the person at the browser on the emulator's login page: submits the form with the
 * decision, then follows the redirect to the CLI's callback listener.
 */
export async function decide(
  authorizeUrl: string,
  decision: 'approve' | 'deny',
  user = 'zhangsan',
): Promise<{ redirect: string; page: HttpResult }> {
  const url = new URL(authorizeUrl);
  const form = new URLSearchParams(url.searchParams);
  form.set('decision', decision);
  form.set('user', user);
  const answer = await http(`${url.origin}/oauth2/auth/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (answer.status !== 302) throw new Error(`emulator answered ${answer.status}: ${answer.body}`);
  const redirect = String(answer.headers.location);
  return { redirect, page: await http(redirect) };
}

/** Parses the single JSON document of a --json run. */
export function json<T = Record<string, unknown>>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/** A free loopback port (bound, read, released): for a redirect URL the CLI will listen on. */
/**
 * A free loopback port for a listener a test starts later. Chosen below the kernel's ephemeral
 * range (32768–60999 here): a port the kernel handed out (port 0) is also what it hands to the
 * next outgoing connection of any process, so between this check and the later bind another
 * test's client could take it (seen in CI: a callback port "already in use").
 */
export async function freePort(): Promise<number> {
  // Free now is not free later: the caller binds it only after a while, and the other test
  // files running meanwhile pick ports too. So each test process picks from its own slice of
  // 20000–32000 (by pid: 24 slices of 500) and never hands out a port twice.
  const slice = 20000 + (process.pid % 24) * 500;
  for (let attempt = 0; ; attempt++) {
    const port = slice + Math.floor(Math.random() * 500);
    if (handedOut.has(port)) continue;
    const server = createNetServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      handedOut.add(port);
      return port;
    }
    if (attempt > 50) throw new Error(`no free port between ${slice} and ${slice + 499}`);
  }
}
const handedOut = new Set<number>();

/** A small deterministic PRNG (mulberry32), so a fuzz failure can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The environment of a real-mode `login` against an emulator: its base URLs, the app's
 * credentials, and a callback on a free loopback port (or `redirect`) registered with it.
 */
export async function emulatorLoginEnv(
  emulator: { url: string; registerRedirectUri(uri: string): void },
  app: { clientId: string; clientSecret: string; jwtSecret: string; db: string; redirect?: string },
): Promise<{ env: Record<string, string>; redirect: string }> {
  const redirect = app.redirect ?? `http://127.0.0.1:${await freePort()}/auth/dingtalk/callback`;
  emulator.registerRedirectUri(redirect);
  return {
    redirect,
    env: {
      DINGTALK_LOGIN_BASE: emulator.url,
      DINGTALK_API_BASE: emulator.url,
      DINGTALK_CLIENT_ID: app.clientId,
      DINGTALK_CLIENT_SECRET: app.clientSecret,
      DINGTALK_REDIRECT_URL: redirect,
      JWT_SECRET: app.jwtSecret,
      MUVEE_DINGTALK_DB: app.db,
    },
  };
}

/**
 * A real-mode `login --no-browser` against an emulator, in-process, approved as `who` by
 * this test playing the browser; with the emulator's demo app, SECRET and `db` (default: a
 * fresh file in `cwd`).
 */
export async function loginAs(
  emulator: { url: string; registerRedirectUri(uri: string): void },
  who: string,
  options: { cwd: string; db?: string; args?: string[]; env?: Record<string, string> },
): Promise<RunResult & { db: string }> {
  const { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } = await import('../src/emulator/users.ts');
  const db = options.db ?? join(options.cwd, `${who}-${Math.random().toString(36).slice(2)}.db`);
  const { env } = await emulatorLoginEnv(emulator, {
    clientId: EMULATOR_CLIENT_ID,
    clientSecret: EMULATOR_CLIENT_SECRET,
    jwtSecret: SECRET,
    db,
  });
  const run = startCli(['login', '--no-browser', ...(options.args ?? [])], {
    env: { ...env, ...options.env },
    cwd: options.cwd,
  });
  const [, url] = await run.waitForStderr(AUTHORIZE_URL);
  await decide(url!, 'approve', who);
  return { ...(await run.done), db };
}
