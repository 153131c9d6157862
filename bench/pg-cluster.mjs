// A throwaway PostgreSQL with muvee's schema for the benchmark (test/pg/cluster.ts, through
// tsx in a child process): resolves with its URL, or undefined (and why) when PostgreSQL's
// binaries are missing; `stop()` ends the cluster.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = `
  const m = await import(${JSON.stringify(join(ROOT, 'test/pg/cluster.ts'))});
  const why = m.pgUnavailable();
  if (why) { console.log(JSON.stringify({ why })); process.exit(0); }
  const c = await m.startCluster();
  const db = await c.createMuveeDatabase('bench');
  console.log(JSON.stringify({ url: c.url(db) }));
  process.stdin.on('end', () => { c.stop(); process.exit(0); });
  process.stdin.resume();
`;

export function startPg() {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (!out.includes('\n')) return;
      const { url, why } = JSON.parse(line);
      resolve({ url, why, stop: () => child.stdin.end() });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`the PostgreSQL helper exited ${code}`));
    });
  });
}
