/**
 * Issue 22: every README and `--help` example runs exactly as written, so none can break again.
 * The examples are extracted (test/examples/extract.ts: the README's shell blocks, the `$ `
 * lines of every built help text), each is looked up in test/examples/expected.ts (exit code,
 * key phrase, the world it needs), and run with `bash -c` in a fresh folder inside
 * test/examples/sandbox.ts: a network namespace holding only loopback, where DingTalk's and
 * muvee's hostnames are local servers. `muvee-dingtalk` and `npx muvee-dingtalk` are the built
 * CLI (a symlink to bin/, and an `npx` that runs only that: the real one would ask the
 * registry). Without namespaces (`unshare`), every example is reported skipped with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { allExamples, type Example } from './examples/extract.ts';
import { EXPECTED, type Expected } from './examples/expected.ts';
import type { RunRequest, RunResponse, SandboxReady } from './examples/sandbox.ts';
import { ROOT, tempDir } from './helpers.ts';

const examples = allExamples(ROOT);
const JWT_SECRET = 'examples-jwt-secret-0123456789abcdef0123456789';

test('every example is classified, and every classification is an example', () => {
  const texts = new Set(examples.map((e) => e.text));
  const unclassified = examples.filter((e) => !(e.text in EXPECTED));
  assert.deepEqual(
    unclassified.map((e) => `${e.where.join(', ')}: ${e.text}`),
    [],
    'add these to test/examples/expected.ts: what they do when run as written',
  );
  assert.deepEqual(
    Object.keys(EXPECTED).filter((text) => !texts.has(text)),
    [],
    'these entries of test/examples/expected.ts are no longer written anywhere: remove them',
  );
  assert.ok(
    examples.length >= 50,
    `only ${examples.length} examples found: is the extraction broken?`,
  );
});

/** The sandbox process and its requests in flight. */
class Sandbox {
  private next = 0;
  private waiting = new Map<number, (r: RunResponse) => void>();
  private constructor(
    private child: ChildProcessWithoutNullStreams,
    readonly ready: SandboxReady,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const response = JSON.parse(line) as RunResponse;
      this.waiting.get(response.id)?.(response);
      this.waiting.delete(response.id);
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A sandbox that dies fails what it was running instead of leaving it waiting.
    child.once('close', (code) => {
      for (const [id, resolve] of this.waiting)
        resolve({
          id,
          code: null,
          signal: null,
          stdout: '',
          stderr: `the sandbox ended (${code}) while this ran:\n${stderr}`,
          ms: 0,
          timedOut: false,
          interrupted: false,
        });
      this.waiting.clear();
    });
  }

  /** Starts it in new namespaces, or says why it cannot. */
  static async start(): Promise<Sandbox | string> {
    const root = process.getuid?.() === 0;
    const probe = spawnSync('unshare', [
      ...(root ? [] : ['--user', '--map-root-user']),
      '--net',
      '--mount',
      'true',
    ]);
    if (probe.error || probe.status !== 0)
      return `no private network namespace here (unshare: ${probe.error?.message ?? probe.stderr.toString().trim()}); the examples need one to stay on loopback and own ports 8080, 9000 and 9900`;
    const child = spawn(
      'unshare',
      [
        ...(root ? [] : ['--user', '--map-root-user']),
        '--net',
        '--mount',
        '--fork',
        '--',
        process.execPath,
        '--import',
        'tsx',
        join(ROOT, 'test', 'examples', 'sandbox.ts'),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          EXAMPLES_JWT_SECRET: JWT_SECRET,
          MUVEE_DINGTALK_EXAMPLES_USERNS: root ? '0' : '1',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const first = await new Promise<string | undefined>((resolve) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        lines.close();
        resolve(line);
      });
      child.once('close', () => resolve(undefined));
    });
    // Namespaces work here, so a sandbox that does not start is a failure, not a skip.
    if (first === undefined) throw new Error(`the examples' sandbox did not start:\n${stderr}`);
    return new Sandbox(child, JSON.parse(first) as SandboxReady);
  }

  run(request: Omit<RunRequest, 'id'>): Promise<RunResponse> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.child.once('close', resolve));
    this.child.stdin.end();
    await closed;
  }
}

/** One run at a time per fixed port (the examples that bind 8080 share it). */
const portQueues = new Map<number, Promise<void>>();
async function holdingPorts<T>(ports: number[], body: () => Promise<T>): Promise<T> {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const releases: (() => void)[] = [];
  for (const port of sorted) {
    const previous = portQueues.get(port) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    portQueues.set(
      port,
      previous.then(() => mine),
    );
    await previous;
    releases.push(release);
  }
  try {
    return await body();
  } finally {
    for (const release of releases) release();
  }
}

/** A bin folder: the built CLI as `muvee-dingtalk`, and an `npx` that runs only it. */
function binFolder(base: string): string {
  const bin = join(base, 'bin');
  mkdirSync(bin);
  symlinkSync(join(ROOT, 'bin', 'muvee-dingtalk.js'), join(bin, 'muvee-dingtalk'));
  writeFileSync(
    join(bin, 'npx'),
    "#!/bin/sh\n# npx as it behaves in a checkout of muvee-dingtalk: the package's own bin.\n" +
      'if [ "$1" = muvee-dingtalk ]; then shift; exec muvee-dingtalk "$@"; fi\n' +
      'echo "npx (examples test): only muvee-dingtalk is installed here, not $1" >&2; exit 127\n',
  );
  chmodSync(join(bin, 'npx'), 0o755);
  return bin;
}

/** A folder standing for the checkout, for `npm run …`: what npm and tsx read, linked. */
function checkoutFolder(base: string): string {
  const dir = join(base, 'checkout');
  mkdirSync(dir);
  for (const name of [
    'package.json',
    'tsconfig.json',
    'scripts',
    'src',
    'node_modules',
    'bin',
    'dist',
  ])
    symlinkSync(join(ROOT, name), join(dir, name));
  return dir;
}

function describeRun(r: RunResponse): string {
  return [
    `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms${r.timedOut ? ', TIMED OUT' : ''}${r.interrupted ? ', interrupted' : ''}`,
    ...(r.person ? [`person: ${r.person}`] : []),
    `--- stdout\n${r.stdout}--- stderr\n${r.stderr}---`,
  ].join('\n');
}

describe('README and --help examples, run as written', { concurrency: 4 }, () => {
  let sandbox: Sandbox | string;
  let base: string;
  let bin: string;
  let usersDb: string;
  const counts = { run: 0, skipped: 0 };

  const environment = (expected: Expected, setup = false): Record<string, string> => {
    const ready = (sandbox as Sandbox).ready;
    const env: Record<string, string | null> = {
      PATH: `${bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: join(base, 'home'),
      TMPDIR: join(base, 'tmp'),
      LANG: 'C.UTF-8',
      NODE_EXTRA_CA_CERTS: ready.caFile,
      DINGTALK_CLIENT_ID: EMULATOR_CLIENT_ID,
      DINGTALK_CLIENT_SECRET: EMULATOR_CLIENT_SECRET,
      JWT_SECRET,
      ...(expected.deployed
        ? {
            DINGTALK_REDIRECT_URL: 'https://muvee.example.com/auth/dingtalk/callback',
            BASE_DOMAIN: 'muvee.example.com',
            ADMIN_EMAILS: 'admin@corp.example',
          }
        : {}),
      ...(setup ? {} : expected.env),
    };
    return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== null)) as Record<
      string,
      string
    >;
  };

  /** A run in `dir` that must succeed (a setup step, or building the users database). */
  const must = async (
    dir: string,
    script: string,
    expected: Expected,
    person?: RunRequest['person'],
  ) => {
    const r = await (sandbox as Sandbox).run({
      script,
      cwd: dir,
      env: environment(expected),
      person,
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, `setup '${script}' failed:\n${describeRun(r)}`);
  };

  before(async () => {
    base = tempDir();
    mkdirSync(join(base, 'home'));
    mkdirSync(join(base, 'tmp'));
    bin = binFolder(base);
    sandbox = await Sandbox.start();
    if (typeof sandbox === 'string') {
      console.warn(`\n!!!!! README/--help examples SKIPPED: ${sandbox} !!!!!\n`);
      return;
    }
    // zhangsan signs in through DingTalk; alice, in request mode, waits as a pending member.
    usersDb = join(base, 'users');
    mkdirSync(usersDb);
    await holdingPorts([8080], async () => {
      await must(usersDb, 'muvee-dingtalk login', {} as Expected, { user: 'zhangsan' });
      await must(usersDb, 'muvee-dingtalk admin access-mode request', {} as Expected);
      await must(usersDb, 'muvee-dingtalk login', {} as Expected, { user: 'alice' });
      await must(usersDb, 'muvee-dingtalk admin access-mode open', {} as Expected);
    });
  });
  after(async () => {
    if (typeof sandbox !== 'string') await sandbox?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
    console.log(
      `examples: ${examples.length} (${counts.run} run, ${counts.skipped} skipped, each with its reason above)`,
    );
  });

  const runnable = (example: Example, expected: Expected): string | undefined => {
    if (expected.skip) return expected.skip;
    if (typeof sandbox === 'string') return sandbox;
    if (expected.postgres && sandbox.ready.noPostgres)
      return `needs muvee's PostgreSQL: ${sandbox.ready.noPostgres}`;
    if (expected.deployed && sandbox.ready.noMuvee)
      return `needs a deployed muvee (muvee-oracle): ${sandbox.ready.noMuvee}`;
    void example;
    return undefined;
  };

  for (const example of examples) {
    const expected = EXPECTED[example.text];
    if (!expected) continue;
    const name = `${example.where[0]}: ${example.text.split('\n')[0]!.replace(/\s+#.*$/, '')}`;
    test(name, async (t) => {
      const why = runnable(example, expected);
      if (why) {
        counts.skipped++;
        t.skip(why);
        return;
      }
      counts.run++;
      const folder = join(base, `example-${examples.indexOf(example)}`);
      mkdirSync(folder);
      for (const [file, content] of Object.entries(expected.files ?? {}))
        if (content.startsWith('@')) copyFileSync(join(ROOT, content.slice(1)), join(folder, file));
        else writeFileSync(join(folder, file), content);
      if (expected.users)
        for (const file of readdirSync(usersDb).filter((f) => f.startsWith('muvee-dingtalk.db')))
          copyFileSync(join(usersDb, file), join(folder, file));
      const cwd = expected.checkout ? checkoutFolder(folder) : folder;
      const postgres = expected.postgres
        ? {
            postgres: `example_${examples.indexOf(example)}`,
            emptyPostgres: expected.postgres === 'empty',
          }
        : {};
      const r = await holdingPorts(expected.ports ?? [], async () => {
        if (expected.setup) {
          const setup = await (sandbox as Sandbox).run({
            script: expected.setup,
            cwd,
            env: environment(expected, true),
            ...postgres,
            timeoutMs: 30_000,
          });
          assert.equal(setup.code, 0, `setup '${expected.setup}' failed:\n${describeRun(setup)}`);
        }
        return (sandbox as Sandbox).run({
          script: example.text,
          cwd,
          env: environment(expected),
          ...postgres,
          person: expected.person,
          interruptOn: expected.interruptOn?.source,
          timeoutMs: 45_000,
        });
      });
      const context = `${example.where.join(', ')}\n$ ${example.text}\n${describeRun(r)}`;
      assert.equal(r.timedOut, false, context);
      assert.equal(r.code, expected.code, context);
      for (const phrase of [expected.phrase].flat())
        assert.match(r.stdout + r.stderr, phrase, context);
      if (expected.file)
        assert.match(readFileSync(join(cwd, expected.file[0]), 'utf8'), expected.file[1], context);
    });
  }
});
