// Builds dist/ with esbuild, shaped for start-up time (see bench/RESULTS.md):
// - CommonJS output: Node 20 starts a CommonJS entry faster than an ES module one, and
//   `import()` of our own modules becomes a lazy `require` (esbuild wraps each lazily
//   imported module so it runs only when imported).
// - dist/cli.cjs holds only commander, chalk and the CLI frame; each command is its own
//   bundle in dist/commands/, loaded when it runs.
// - better-sqlite3 (native addon) stays external; `open` is bundled and its xdg-open script
//   copied beside the bundle, where `open` looks for it; `semver` and `undici` are aliased
//   to the slim stand-ins in src/vendor/.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const COMMANDS = ['login', 'verify-token', 'mint-token', 'users', 'check-config', 'emulator'];

/** `./program.js` and `./commands/x.js` stay separate files: dist/program.cjs, dist/commands/x.cjs. */
const commandsExternal = {
  name: 'commands-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(program|commands\/[\w-]+)\.js$/ }, (args) => ({
      path: args.path.replace(/\.js$/, '.cjs'),
      external: true,
    }));
  },
};

/**
 * `semver`, `undici` and chalk's `#supports-color` → the stand-ins in src/vendor (bundle
 * only; tests run the sources against the real packages).
 */
const slimAliases = {
  name: 'slim-aliases',
  setup(b) {
    const vendor = (file) => new URL(`src/vendor/${file}`, root).pathname;
    b.onResolve({ filter: /^#supports-color$/ }, () => ({
      path: vendor('supports-color-explicit.cjs'),
    }));
    b.onResolve({ filter: /^semver$/ }, () => ({ path: vendor('semver-node20.cjs') }));
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes('/src/vendor/') ? undefined : { path: vendor('undici-slim.cjs') },
    );
  },
};

/**
 * Requires of dependencies that run at start-up but are used only on paths a command may
 * never take; each becomes a lazy stand-in (src/vendor/lazy.cjs). The build fails if a
 * pattern no longer matches, so a dependency update cannot silently undo this.
 */
const LAZY_REQUIRES = [
  { file: /commander\/lib\/command\.js$/, from: "require('node:child_process')" },
  { file: /dotenv\/lib\/main\.js$/, from: "require('crypto')" },
  { file: /undici\/lib\/dispatcher\/client\.js$/, from: "require('./client-h2.js')" },
];
/**
 * Modules a command imports only on some paths (`await import('../store.js')`) become their
 * own files in dist/lib/, so a command that does not take that path does not even parse them
 * (the DingTalk client carries undici: 300 kB).
 */
const LIBS = {
  'store.ts': 'store',
  'dingtalk/client.ts': 'dingtalk-client',
  'emulator/server.ts': 'emulator-server',
  'emulator/users.ts': 'emulator-users',
};
const splitLazyImports = {
  name: 'split-lazy-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const source = new URL(args.path.replace(/\.js$/, '.ts'), `file://${args.resolveDir}/`)
        .pathname;
      const lib = LIBS[source.slice(new URL('src/', root).pathname.length)];
      if (!lib)
        throw new Error(`${args.importer}: lazy import of ${args.path} has no entry in LIBS`);
      const fromCommands = args.importer.includes('/src/commands/');
      return { path: `${fromCommands ? '../lib' : '.'}/${lib}.cjs`, external: true };
    });
  },
};

const applied = new Set();
const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    const lazy = JSON.stringify(new URL('src/vendor/lazy.cjs', root).pathname);
    b.onLoad({ filter: /node_modules\/(commander|dotenv|undici)\/.*\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      for (const rule of LAZY_REQUIRES) {
        if (!rule.file.test(args.path) || !text.includes(rule.from)) continue;
        text = text.split(rule.from).join(`require(${lazy})(() => ${rule.from})`);
        applied.add(rule);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.18',
  // import() of a bundled module becomes a lazy require instead of an ES module load.
  supported: { 'dynamic-import': false },
  // Smaller files parse faster; stack traces still map through the linked source maps.
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  external: ['better-sqlite3'],
  define: {
    __MUVEE_DINGTALK_VERSION__: JSON.stringify(pkg.version),
    'import.meta.url': '__import_meta_url',
  },
  banner: { js: "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
};

rmSync(new URL('dist', root), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.cjs',
    plugins: [commandsExternal],
  }),
  build({
    ...common,
    entryPoints: ['src/program.ts'],
    outfile: 'dist/program.cjs',
    plugins: [commandsExternal, slimAliases, lazyRequires],
  }),
  build({
    ...common,
    entryPoints: COMMANDS.map((name) => `src/commands/${name}.ts`),
    outdir: 'dist/commands',
    outExtension: { '.js': '.cjs' },
    plugins: [splitLazyImports, slimAliases, lazyRequires],
  }),
  ...Object.entries(LIBS).map(([source, name]) =>
    build({
      ...common,
      entryPoints: [`src/${source}`],
      outfile: `dist/lib/${name}.cjs`,
      plugins: [splitLazyImports, slimAliases, lazyRequires],
    }),
  ),
]);
const unapplied = LAZY_REQUIRES.filter((rule) => !applied.has(rule));
if (unapplied.length > 0) {
  throw new Error(
    `lazy requires no longer match: ${unapplied.map((r) => r.from).join(', ')}; update LAZY_REQUIRES`,
  );
}
// `--help` and `--version` answered without loading commander (src/cli.ts).
const { renderHelpTexts } = createRequire(import.meta.url)('../dist/program.cjs');
writeFileSync(new URL('dist/help.json', root), JSON.stringify(renderHelpTexts()));
// Compiled-code caches for Node 20 (src/code-cache.ts): run the light commands once in one
// process in training mode, which writes dist/**/*.cjs.v8cache at exit. The emulator command
// is left out: it runs until stopped.
// (Node >= 22.1 caches compiled code itself, so there is nothing to train.)
if (typeof createRequire(import.meta.url)('node:module').enableCompileCache !== 'function')
  trainCodeCache();

copyFileSync(new URL('node_modules/open/xdg-open', root), new URL('dist/commands/xdg-open', root));

function trainCodeCache() {
  const secret = 'code-cache-training-secret-0123456789abcdef';
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ uid: '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a', email: 'a@corp.example', role: 'member', iat: now, exp: now + 60 })}`;
  const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  const runs = [
    ['check-config'],
    ['--json', 'check-config'],
    ['verify-token', token],
    ['--json', 'verify-token', token],
    ['verify-token', 'not.a.token'],
    [
      'mint-token',
      '--uid',
      '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a',
      '--email',
      'a@corp.example',
      '--role',
      'member',
    ],
    ['users', 'list'],
    ['bogus-command'],
    ['login', '--emulator', '--auto-approve', '--no-browser', '--no-store', '--json'],
    ['login', '--emulator', '--auto-approve', 'lisi', '--no-browser', '--json'],
  ];
  const dist = new URL('dist/', root).pathname;
  const script = `
    const cli = require(${JSON.stringify(join(dist, 'cli.cjs'))});
    cli.enableCodeCache(${JSON.stringify(dist.replace(/\/$/, ''))}, { train: true });
    (async () => { for (const args of ${JSON.stringify(runs)}) await cli.main(['node', 'muvee-dingtalk', ...args]); })();
  `;
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: mkdtempSync(join(tmpdir(), 'muvee-dingtalk-build-')),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, JWT_SECRET: secret },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error || result.signal)
    throw new Error(
      `code-cache training failed: ${result.error ?? result.signal} ${result.stderr}`,
    );
}
