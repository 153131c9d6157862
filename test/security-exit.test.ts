/**
 * Issue 20, M4: a reader that goes away (`| head`, `| true`) never turns a failure into exit 0.
 * The decision (README "Exit codes"): a closed stdout or stderr only stops the printing; the
 * run goes on and exits with its own code. The built bin, under `set -o pipefail`, as a
 * script in CI runs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { baseEnv, BIN, SECRET, tempDir } from './helpers.ts';

/** Runs `script` in bash with pipefail; prints `status=<pipeline> <PIPESTATUS...>` last. */
function pipeline(script: string, env: Record<string, string>, cwd: string) {
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; ${script}; echo "status=$? \${PIPESTATUS[*]}" >&2`],
    { env: baseEnv({ BIN, ...env }), cwd, encoding: 'utf8', timeout: 120_000 },
  );
  const status = /status=(\d+) ([\d ]+)\s*$/.exec(r.stderr);
  assert.ok(status, `no status line:\n${r.stderr}`);
  return {
    pipeline: Number(status[1]),
    cli: Number(status[2]!.trim().split(' ')[0]),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

describe('a closed stdout never turns a failure into exit 0 (issue 20 M4)', () => {
  test('verify-token --each over 5,000 forged tokens piped to head -1: exit 5', (t) => {
    const dir = tempDir(t);
    const tokens = Array.from({ length: 5000 }, (_, i) =>
      jwt.sign(
        { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: `f${i}@x.example`, role: 'admin' },
        'not-the-secret-0123456789abcdef0123456789',
        { expiresIn: '1h' },
      ),
    );
    writeFileSync(join(dir, 'tokens.txt'), `${tokens.join('\n')}\n`);
    const r = pipeline(
      '"$BIN" verify-token --each - < tokens.txt | head -1',
      { JWT_SECRET: SECRET },
      dir,
    );
    assert.match(r.stdout, /"valid":false/);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'head printed one line');
    assert.equal(r.cli, 5, r.stderr);
    assert.equal(r.pipeline, 5);
  });

  test('one forged token among valid ones, the forged one last, piped to head -1: still exit 5', (t) => {
    const dir = tempDir(t);
    const claims = { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@x.example' };
    const valid = jwt.sign({ ...claims, role: 'member' }, SECRET, { expiresIn: '1h' });
    const forged = jwt.sign({ ...claims, role: 'admin' }, 'wrong-secret-0123456789abcdef', {
      expiresIn: '1h',
    });
    writeFileSync(
      join(dir, 'tokens.txt'),
      `${Array.from({ length: 5000 }, () => valid).join('\n')}\n${forged}\n`,
    );
    const r = pipeline(
      '"$BIN" verify-token --each - < tokens.txt | head -1',
      { JWT_SECRET: SECRET },
      dir,
    );
    assert.equal(r.cli, 5, r.stderr);
  });

  test('check-config --strict that fails, into a pipe closed before it writes: exit 7', (t) => {
    const dir = tempDir(t);
    // `true` exits before the CLI has started: every write meets EPIPE.
    const r = pipeline('"$BIN" check-config --strict | true', {}, dir);
    assert.equal(r.cli, 7, r.stderr);
    assert.equal(r.pipeline, 7);
  });

  test('check-config --strict --json that fails, stdout and stderr both closed: exit 7', (t) => {
    const dir = tempDir(t);
    const r = pipeline('"$BIN" check-config --strict --json 2>&1 | true', {}, dir);
    assert.equal(r.cli, 7, r.stderr);
  });

  test('a success into a closed pipe is still exit 0 (help, a valid token)', (t) => {
    const dir = tempDir(t);
    const valid = jwt.sign(
      { uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@x.example', role: 'member' },
      SECRET,
      { expiresIn: '1h' },
    );
    writeFileSync(join(dir, 'token.txt'), `${valid}\n`);
    assert.equal(pipeline('"$BIN" --help | true', {}, dir).cli, 0);
    assert.equal(
      pipeline('"$BIN" verify-token - < token.txt | true', { JWT_SECRET: SECRET }, dir).cli,
      0,
    );
  });
});
