// The emulator's memory under many logins: `muvee-dingtalk emulator --auto-approve` as users
// run it (a child process), then logins as muvee-dingtalk makes them (authorize → code →
// userAccessToken → users/me) over keep-alive connections, and the child's resident set size
// (/proc/<pid>/status VmRSS) after each checkpoint. Linux only.
//   node bench/emulator-rss.mjs [node binary] [checkpoints, e.g. 1000,10000]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } = createRequire(import.meta.url)(
  join(ROOT, 'dist', 'emulator', 'users.cjs'),
);
const BIN = join(ROOT, 'bin', 'muvee-dingtalk.js');
const REDIRECT = 'http://127.0.0.1:1/auth/dingtalk/callback';

/** VmRSS of a process, in MiB. */
export const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/** Starts the emulator with `node`; resolves with its pid, URL and a stop function. */
export function startEmulatorProcess(node, env, bin = BIN) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      node,
      [
        '--',
        bin,
        'emulator',
        '--port',
        '0',
        '--auto-approve',
        '--redirect-uri',
        REDIRECT,
        '--json',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => reject(new Error(`emulator exited ${code}: ${stderr}`)));
    child.stdout.on('data', (d) => {
      stdout += d;
      try {
        const { url } = JSON.parse(stdout);
        resolve({
          pid: child.pid,
          url,
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.on('exit', done);
              child.kill('SIGTERM');
            }),
        });
      } catch {
        // not the whole document yet
      }
    });
  });
}

function call(agent, url, options = {}, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One login as muvee-dingtalk's client makes it; throws unless DingTalk's answers are right. */
export async function login(agent, base) {
  const authorize = new URL('/oauth2/auth', base);
  for (const [k, v] of Object.entries({
    client_id: EMULATOR_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    prompt: 'consent',
    state: 'bench',
    redirect_uri: REDIRECT,
  }))
    authorize.searchParams.set(k, v);
  const approved = await call(agent, authorize);
  const code = new URL(approved.headers.location).searchParams.get('code');
  if (!code) throw new Error(`no code: ${approved.status} ${approved.text}`);
  const json = { 'content-type': 'application/json' };
  const token = await call(
    agent,
    new URL('/v1.0/oauth2/userAccessToken', base),
    { method: 'POST', headers: json },
    JSON.stringify({
      clientId: EMULATOR_CLIENT_ID,
      clientSecret: EMULATOR_CLIENT_SECRET,
      code,
      grantType: 'authorization_code',
    }),
  );
  const { accessToken } = JSON.parse(token.text);
  if (!accessToken) throw new Error(`no access token: ${token.text}`);
  const me = await call(agent, new URL('/v1.0/contact/users/me', base), {
    headers: { 'x-acs-dingtalk-access-token': accessToken },
  });
  if (me.status !== 200) throw new Error(`users/me ${me.status}: ${me.text}`);
}

/** RSS (MiB) of an emulator run by `node` after each checkpoint's number of logins. */
export async function emulatorRss(node, env, checkpoints = [1000, 10000], bin = BIN) {
  const emulator = await startEmulatorProcess(node, env, bin);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const rss = {};
  try {
    let done = 0;
    for (const target of checkpoints) {
      while (done < target) {
        const batch = Math.min(4, target - done);
        await Promise.all(Array.from({ length: batch }, () => login(agent, emulator.url)));
        done += batch;
      }
      // Let the emulator settle (timers, a GC it wants to do) before reading its RSS.
      await new Promise((r) => setTimeout(r, 300));
      rss[target] = rssMiB(emulator.pid);
    }
  } finally {
    agent.destroy();
    await emulator.stop();
  }
  return rss;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const node = process.argv[2] ?? process.execPath;
  const checkpoints = (process.argv[3] ?? '1000,10000').split(',').map(Number);
  const started = Date.now();
  console.log(
    await emulatorRss(node, { PATH: process.env.PATH, HOME: process.env.HOME }, checkpoints),
  );
  console.log(`${Date.now() - started} ms`);
}
