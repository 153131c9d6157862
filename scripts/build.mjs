// Builds dist/ with esbuild. Packaging only: `npm run dev` runs the sources without it.
//
// - Each source file becomes one CommonJS file at the same place (src/x/y.ts → dist/x/y.cjs):
//   one copy of every module (one CliError class), and `import()` stays a lazy `require`, so a
//   command loads only the files it uses. No list of commands or modules lives here. The
//   exceptions are BUNDLES: the entry and verify-token's path, each one file.
// - Each runtime dependency becomes one bundle in dist/vendor/ (better-sqlite3, a native
//   addon, and pg stay in node_modules), with the start-up trims of src/runtime/vendor/:
//   slim stand-ins and lazy requires. Every trim is checked here, so a dependency update that
//   breaks one fails the build, not a user's run.
// - dist/help.json: every help text, for the prerendered `--help` (src/runtime/prerendered.ts).
// - On Node 20 only: V8 code caches beside the files (src/runtime/code-cache.ts), read when
//   there is no per-user folder for the caches each command's first run makes for itself
//   (src/runtime/user-code-cache.ts).
// - dist/.build-stamp: a hash of everything the build reads (below). A build whose inputs match
//   the stamp does nothing (`--force` builds anyway; `--check` only says whether it would).
//   npm runs `prepare` again on a checkout's first `npx muvee-dingtalk` (it installs the
//   checkout into its npx cache); a rebuild there emptied dist/ under running commands and
//   doubled the README's first command. The per-user caches also carry it (same-length bundles
//   of two builds must not share one).
// CommonJS because Node 20 starts a CommonJS entry faster than an ES module (bench/RESULTS.md).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(import.meta.url);

/** Dependencies bundled into dist/vendor/<name>.cjs; `cjs` ones are re-exported as they are. */
const VENDOR = {
  commander: 'cjs',
  dotenv: 'cjs',
  jsonwebtoken: 'cjs',
  undici: 'cjs',
  chalk: 'esm',
  open: 'esm',
  // The JavaScript of both builds (src/sqlite.ts picks one); the native addon stays in
  // node_modules (PACKAGE_DIRS).
  'better-sqlite3': 'cjs',
  'better-sqlite3-node20': 'cjs',
};
/**
 * Vendored dependencies our files load on first use of an export rather than when the file
 * loads: chalk only in a run that colours (src/output.ts), dotenv only when an env file exists
 * (src/config.ts). Each lists every export our sources import from it (checked when building).
 */
const LAZY_VENDOR = {
  chalk: ['Chalk'],
  dotenv: ['parse'],
  // Built by program.ts when a command runs through it; the files dist/program.cjs holds are
  // also reached from elsewhere (verify-token --muvee, a PostgreSQL lookup) without it.
  commander: ['Command', 'CommanderError', 'InvalidArgumentError', 'Option'],
};
/** Loaded from node_modules at run time (heavy and optional). */
const EXTERNAL = ['pg'];

const vendorStandIn = (file) => join(src, 'runtime', 'vendor', file);

/**
 * Requires of dependencies that run at start-up but are used only on paths a command may
 * never take; each becomes a lazy stand-in (src/runtime/vendor/lazy.cjs).
 */
const LAZY_REQUIRES = [
  { file: /commander\/lib\/command\.js$/, from: "require('node:child_process')" },
  { file: /dotenv\/lib\/main\.js$/, from: "require('crypto')" },
  { file: /undici\/lib\/dispatcher\/client\.js$/, from: "require('./client-h2.js')" },
];

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.18',
  // import() becomes a lazy require instead of an ES module load.
  supported: { 'dynamic-import': false },
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // Which packages went into dist/ (dist/THIRD-PARTY-LICENSES.txt).
  metafile: true,
  logLevel: 'warning',
  define: {
    __MUVEE_DINGTALK_VERSION__: JSON.stringify(pkg.version),
    // The file's own path, as Node gives it to an ES module (>= 20.11). Our sources may not
    // use `import.meta.url` (sourceFiles, below): in CommonJS it costs a URL parse at every
    // load. A dependency may (`open` finds its xdg-open script beside itself with it): the
    // stand-in, injected only into the files that use it (checked: checkImportMetaUrl).
    'import.meta.filename': '__filename',
    'import.meta.dirname': '__dirname',
    'import.meta.url': '__import_meta_url',
  },
  inject: [vendorStandIn('import-meta-url.mjs')],
};

/**
 * Files built as one bundle each instead of one file per source: loading a file costs ~0.5 ms,
 * a large share of a command meant to cost little more than `node -e 0` (bench/RESULTS.md).
 * - main.ts, the entry: with the helpers every start runs (code cache, prerendered help, fd);
 *   store/sqlite/store.ts with the modules only it needs (binding.ts finds dist/vendor/ from
 *   there); store/sqlite/reader.ts, verify-token's lookup in the local file, likewise.
 * - verify-token's path from the bin (runtime/fast-verify-token.ts): ~15 files as one (no
 *   dependency: muvee's own reading of a token and node:crypto's HMAC); the same for its
 *   worker threads (runtime/token-worker.ts). `separate` stay in their own files: what only some
 *   runs load. errors.ts is inlined: `isCliError` knows any copy of CliError by its brand.
 * A bundle holds its own copy of what it inlines: stateless helpers, and the two classes other
 * copies meet, CliError and Safe, are told by a Symbol.for brand (isCliError, isSafe), never
 * by instanceof.
 */
const BUNDLES = [
  {
    entry: 'main.ts',
    inline: [
      'runtime/code-cache.ts',
      'runtime/user-code-cache.ts',
      'runtime/wasm.ts',
      'runtime/fd.ts',
      'runtime/prerendered.ts',
    ],
    vendor: [],
  },
  {
    entry: 'runtime/fast-verify-token.ts',
    separate: [
      'program.ts',
      'store/sqlite/store.ts',
      'store/sqlite/reader.ts',
      'store/sqlite/file-reader.ts',
      'store/index.ts',
      // --muvee only: the HTTP client stays out of verify-token's path.
      'deployment/token-at-muvee.ts',
    ],
    vendor: [],
  },
  // The local store with the helpers only it loads (better-sqlite3 is its vendor bundle).
  {
    entry: 'store/sqlite/store.ts',
    inline: [
      'store/sqlite/binding.ts',
      'store/sqlite/failures.ts',
      'store/sqlite/reader.ts',
      'muvee/membership.ts',
    ],
    vendor: [],
  },
  // verify-token's lookup in the local file: the reader alone, one file (not the whole store),
  // with its own CliError (verify-token's bundle has one too: told apart by brand, isCliError).
  {
    entry: 'store/sqlite/reader.ts',
    inline: [
      'cli/errors.ts',
      'store/sqlite/binding.ts',
      'store/sqlite/failures.ts',
      'store/sqlite/path-check.ts',
      'store/sqlite/rows.ts',
      'store/sqlite/schema.ts',
    ],
    vendor: [],
  },
  // verify-token's one lookup read from the file's bytes (no SQLite, no better-sqlite3): the
  // format reader with the checks before it, one file. When SQLite must answer, store/lookup.ts
  // loads reader.ts as for any other lookup.
  {
    entry: 'store/sqlite/file-reader.ts',
    inline: [
      'cli/errors.ts',
      'store/sqlite/file-btree.ts',
      'store/sqlite/file-format.ts',
      'store/sqlite/path-check.ts',
      'store/sqlite/rows.ts',
      'store/sqlite/schema.ts',
    ],
    vendor: [],
  },
  // login's whole path (issue 22: `login --emulator`, the first thing a user runs): its flow,
  // DingTalk's client, the emulator, the local store with its schema, as one file instead of
  // ~45. `separate`: whatever every command loads before it (PROGRAM_FILES, computed below:
  // loaded already, so inlined they would run twice: two `Safe` or `InvalidArgument` classes),
  // muvee's PostgreSQL store (loaded only for a postgres:// database, with `pg`), and the
  // SQLite binding (it finds dist/vendor/ from its own place in dist/).
  {
    entry: 'commands/login.ts',
    separate: ['store/postgres/store.ts', 'store/sqlite/binding.ts'],
    separateProgramFiles: true,
    vendor: [],
  },
  // check-config's static path (CI runs it on every pipeline): its checks, the database probe and
  // muvee's rules as one file instead of ~7 (bench: ≤ 1.5× node -e 0). Loaded on demand only:
  // --muvee (the deployment checks), --live (DingTalk's client), --verbose, --format's writers.
  {
    entry: 'commands/check-config.ts',
    separate: [
      'deployment/check-deployment.ts',
      'dingtalk/client.ts',
      'dingtalk/trace.ts',
      'cli/report-format.ts',
    ],
    separateProgramFiles: true,
    vendor: [],
  },
  // What every command run through commander loads before its own module (PROGRAM_FILES,
  // below: program.ts, process-io.ts and their static imports, ~12 files) as one file. The
  // files it holds are reached through it from everywhere else (one copy of each: a bundle
  // with `separateProgramFiles` takes them from its `__programFiles`, and each one's own place
  // in dist/ is a stub that does the same), so there is one `Safe` or `InvalidArgument`
  // class. errors.ts keeps its own file.
  {
    entry: 'program.ts',
    holdsProgramFiles: true,
    inline: [],
    vendor: [],
  },
  // A worker thread of verify-token --each.
  {
    entry: 'runtime/token-worker.ts',
    separate: [
      'program.ts',
      'store/sqlite/store.ts',
      'store/sqlite/reader.ts',
      'store/sqlite/file-reader.ts',
      'store/index.ts',
      // --muvee only: the HTTP client stays out of verify-token's path.
      'deployment/token-at-muvee.ts',
    ],
    vendor: [],
  },
];

/**
 * The sources every command run through commander loads before the command's own module:
 * program.ts and process-io.ts with everything they import statically (a dynamic `import()`
 * is not followed). A bundle with `separateProgramFiles` keeps these in their own files.
 */
async function programFiles() {
  const result = await build({
    ...common,
    entryPoints: ['program.ts', 'runtime/process-io.ts'].map((file) => join(src, file)),
    outdir: join(tmpdir(), 'muvee-dingtalk-program-files'),
    write: false,
    sourcemap: false,
    minify: false,
    plugins: [
      {
        name: 'static-imports-only',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) =>
            args.kind === 'dynamic-import' ||
            (args.kind !== 'entry-point' && !args.path.startsWith('.'))
              ? { path: args.path, external: true }
              : undefined,
          );
        },
      },
    ],
  });
  return Object.keys(result.metafile.inputs)
    .map((input) => relative(src, join(root, input)))
    .filter((file) => !file.startsWith('..') && !file.startsWith('runtime/vendor/'));
}
const PROGRAM_FILES = await programFiles();
/** The program files dist/program.cjs holds (all but itself and errors.ts), by their key. */
const HELD = PROGRAM_FILES.filter((file) => file !== 'program.ts' && file !== 'cli/errors.ts');
const heldKey = (file) => file.replace(/\.ts$/, '');
for (const bundle of BUNDLES) {
  if (bundle.separateProgramFiles) bundle.separate = [...bundle.separate, ...PROGRAM_FILES];
  if (bundle.holdsProgramFiles) bundle.inline = HELD;
}

/** `require()` of a held file from `fromDir` in dist/: the program bundle's copy of it. */
const heldRequire = (fromDir, file) => {
  let path = relative(fromDir, join(dist, 'program.cjs'));
  if (!path.startsWith('.')) path = `./${path}`;
  return `require(${JSON.stringify(path)}).__programFiles[${JSON.stringify(heldKey(file))}]`;
};

/**
 * Our files: every import stays an import of the one file that holds it; for a bundle (one of
 * BUNDLES), everything but its `separate` files and lazy dependencies is inlined.
 */
const ownFiles = (bundle) => ({
  name: 'own-files',
  setup(b) {
    // A lazy dependency (LAZY_VENDOR): a getter per export that requires the bundle.
    b.onLoad({ filter: /.*/, namespace: 'lazy-vendor' }, (args) => ({
      contents: [
        'let loaded;',
        `const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
        "Object.defineProperty(exports, '__esModule', { value: true });",
        ...args.pluginData.names.map(
          (name) =>
            `Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: () => load()[${JSON.stringify(name)}] });`,
        ),
      ].join('\n'),
      loader: 'js',
    }));
    // A held program file in a bundle that keeps them separate: the program bundle's copy.
    b.onLoad({ filter: /.*/, namespace: 'held-file' }, (args) => ({
      contents: `module.exports = ${heldRequire(args.pluginData.outDir, args.path)};`,
      loader: 'js',
    }));
    // The program bundle: program.ts, and every file it holds as a namespace.
    if (bundle?.holdsProgramFiles) {
      b.onLoad({ filter: /\/program\.ts$/ }, (args) => {
        if (args.path !== join(src, 'program.ts')) return undefined;
        const held = HELD.map((file, i) => `import * as held${i} from './${heldKey(file)}.js';`);
        const table = HELD.map((file, i) => `${JSON.stringify(heldKey(file))}: held${i}`);
        return {
          contents: `${readFileSync(args.path, 'utf8')}\n${held.join('\n')}\nexport const __programFiles = { ${table.join(', ')} };\n`,
          loader: 'ts',
          resolveDir: src,
        };
      });
    }
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.namespace === 'lazy-vendor' || args.namespace === 'held-file')
        return { path: args.path, external: true };
      // Inside a dependency a bundle inlines: its requires, resolved as usual (then slimAliases).
      if (args.importer.includes('/node_modules/')) return undefined;
      const outDir = dirname(
        join(dist, relative(src, bundle ? join(src, bundle.entry) : args.importer)),
      );
      if (args.path.startsWith('.')) {
        const file = relative(src, join(dirname(args.importer), args.path)).replace(/\.js$/, '.ts');
        if (!bundle) return { path: args.path.replace(/\.(js|ts)$/, '.cjs'), external: true };
        const inline = bundle.inline
          ? bundle.inline.includes(file)
          : !bundle.separate.includes(file);
        if (inline) return undefined;
        if (bundle.separateProgramFiles && HELD.includes(file))
          return { path: file, namespace: 'held-file', pluginData: { outDir } };
        let path = relative(outDir, join(dist, file.replace(/\.ts$/, '.cjs')));
        if (!path.startsWith('.')) path = `./${path}`;
        return { path, external: true };
      }
      if (args.path.startsWith('node:') || EXTERNAL.includes(args.path)) {
        return { path: args.path, external: true };
      }
      if (bundle?.vendor.includes(args.path)) return undefined;
      if (Object.hasOwn(VENDOR, args.path)) {
        let path = relative(outDir, join(dist, 'vendor', `${args.path}.cjs`));
        if (!path.startsWith('.')) path = `./${path}`;
        if (Object.hasOwn(LAZY_VENDOR, args.path)) {
          const names = LAZY_VENDOR[args.path];
          return { path, namespace: 'lazy-vendor', pluginData: { names } };
        }
        return { path, external: true };
      }
      throw new Error(
        `${relative(root, args.importer)} imports '${args.path}': add it to VENDOR or EXTERNAL in scripts/build.mjs`,
      );
    });
  },
});

/** `semver`, `undici` and chalk's `#supports-color` → the stand-ins in src/runtime/vendor. */
const slimAliases = {
  name: 'slim-aliases',
  setup(b) {
    b.onResolve({ filter: /^#supports-color$/ }, () => ({
      path: vendorStandIn('supports-color-explicit.cjs'),
    }));
    b.onResolve({ filter: /^semver$/ }, () => ({ path: vendorStandIn('semver-node20.cjs') }));
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes('/runtime/vendor/')
        ? undefined
        : { path: vendorStandIn('undici-slim.cjs') },
    );
  },
};

/**
 * Bundled files that look for files beside themselves: their `__dirname` becomes their
 * directory in the installed package, found at run time by resolving `sibling`, a module in
 * that directory (better-sqlite3 13 finds its native addon from lib/binding.js; its exports
 * map lets only lib/index.js be resolved).
 */
const PACKAGE_DIRS = [
  { file: /node_modules\/better-sqlite3\/lib\/binding\.js$/, sibling: 'better-sqlite3' },
];

const applied = new Set();
const packageDirs = {
  name: 'package-dirs',
  setup(b) {
    b.onLoad({ filter: /node_modules\/better-sqlite3\/lib\/binding\.js$/ }, (args) => {
      const rule = PACKAGE_DIRS.find((r) => r.file.test(args.path));
      const text = readFileSync(args.path, 'utf8');
      if (!rule || !text.includes('__dirname')) return undefined;
      applied.add(rule);
      // Resolved once, from the bundle's place in dist/vendor/ as a require of the package is.
      const sibling = `require('node:module').createRequire(__filename).resolve(${JSON.stringify(rule.sibling)})`;
      const dir = `(__packageDir ??= require('node:path').dirname(${sibling}))`;
      return { contents: `var __packageDir;\n${text.replaceAll('__dirname', dir)}`, loader: 'js' };
    });
  },
};

const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    const lazy = JSON.stringify(vendorStandIn('lazy.cjs'));
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

/** A virtual entry per vendored dependency. */
const vendorEntries = {
  name: 'vendor-entries',
  setup(b) {
    b.onResolve({ filter: /^vendor:/ }, (args) => ({
      path: args.path.slice(7),
      namespace: 'vendor',
    }));
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents:
        VENDOR[args.path] === 'cjs'
          ? `module.exports = require(${JSON.stringify(args.path)});`
          : `export * from ${JSON.stringify(args.path)}; export { default } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/** Our source files, but the entries of BUNDLES (built on their own). */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'vendor' ? [] : sourceFiles(path);
    if (entry.name.endsWith('.ts') && readFileSync(path, 'utf8').includes('import.meta.url')) {
      throw new Error(
        `${relative(root, path)} uses import.meta.url: use import.meta.filename or import.meta.dirname (built as __filename, __dirname)`,
      );
    }
    if (BUNDLES.some((bundle) => join(src, bundle.entry) === path)) return [];
    if (HELD.includes(relative(src, path))) return [];
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const stampFile = join(dist, '.build-stamp');
const stamp = buildStamp();
if (!process.argv.includes('--force') && readStamp() === stamp) {
  console.log('dist/ is up to date with src/ (npm run build -- --force rebuilds it)');
  process.exit(0);
}
if (process.argv.includes('--check')) {
  console.error('dist/ is out of date with src/: npm run build');
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
const built = await Promise.all([
  build({
    ...common,
    entryPoints: sourceFiles(src),
    outbase: src,
    outdir: dist,
    outExtension: { '.js': '.cjs' },
    plugins: [ownFiles()],
  }),
  ...BUNDLES.map((bundle) =>
    build({
      ...common,
      entryPoints: [join(src, bundle.entry)],
      outfile: join(dist, bundle.entry.replace(/\.ts$/, '.cjs')),
      plugins: [ownFiles(bundle), slimAliases],
    }),
  ),
  build({
    ...common,
    entryPoints: Object.fromEntries(Object.keys(VENDOR).map((name) => [name, `vendor:${name}`])),
    outdir: join(dist, 'vendor'),
    outExtension: { '.js': '.cjs' },
    external: EXTERNAL,
    plugins: [vendorEntries, slimAliases, lazyRequires, packageDirs],
  }),
]);
checkStandIns();
checkImportMetaUrl(built);
// A held program file's own place in dist/: the program bundle's copy (see BUNDLES).
for (const file of HELD) {
  const out = join(dist, file.replace(/\.ts$/, '.cjs'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `'use strict';\nmodule.exports = ${heldRequire(dirname(out), file)};\n`);
}
writeThirdPartyLicenses(built.flatMap((result) => Object.keys(result.metafile.inputs)));
// `open` looks for its xdg-open script beside the file that holds it.
copyFileSync(join(root, 'node_modules', 'open', 'xdg-open'), join(dist, 'vendor', 'xdg-open'));
// `--help` and `--version` answered without loading commander (src/runtime/prerendered.ts).
const { renderHelpTexts } = require(join(dist, 'program.cjs'));
writeFileSync(join(dist, 'help.json'), JSON.stringify(await renderHelpTexts()));
if (typeof require('node:module').enableCompileCache !== 'function') trainCodeCache();
// Last: a build that stopped half-way has no stamp, so the next one starts over.
writeFileSync(stampFile, stamp);

/**
 * What the build reads: our sources, this script, the dependency versions (the lock), the
 * compiler, and the Node that runs it (code caches are made on Node 20 only, for its V8).
 */
function buildStamp() {
  const hash = createHash('sha256');
  const files = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? files(path) : [path];
    });
  const inputs = [
    ...files(src),
    fileURLToPath(import.meta.url),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
    join(root, 'tsconfig.json'),
  ].filter((file) => existsSync(file));
  for (const file of inputs.sort()) {
    hash
      .update(`${relative(root, file)}\0`)
      .update(readFileSync(file))
      .update('\0');
  }
  hash.update(
    `${process.version} ${process.arch} esbuild ${require('esbuild/package.json').version}`,
  );
  return hash.digest('hex');
}

function readStamp() {
  try {
    return readFileSync(stampFile, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The dependencies bundled into dist/ are not installed with the package (they are
 * devDependencies: nothing would load them from node_modules), so their licences travel in
 * dist/THIRD-PARTY-LICENSES.txt: every package with a file in the bundles, with its licence text.
 */
function writeThirdPartyLicenses(inputs) {
  const dirs = new Set();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replace(/^[a-z-]+:/, ''));
    if (match) dirs.add(join(root, match[1]));
  }
  const sections = [...dirs]
    .map((dir) => {
      const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
      const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${meta.license}`;
      return `${meta.name}@${meta.version} (${meta.license})\n\n${text}\n`;
    })
    .sort();
  writeFileSync(
    join(dist, 'THIRD-PARTY-LICENSES.txt'),
    `Packages bundled into dist/ by scripts/build.mjs, with their licences.\n\n${sections.join(`\n${'-'.repeat(78)}\n\n`)}`,
  );
}

/**
 * Every output built from a file that reads `import.meta.url` has the stand-in: without it
 * esbuild makes `import.meta` an empty object, silently (it hides that warning for
 * node_modules), and `open` would no longer find its bundled xdg-open.
 */
function checkImportMetaUrl(results) {
  // An input (a source, a file of a dependency) is in many outputs: each is read once.
  const reads = new Map();
  const readsUrl = (input) => {
    const file = join(root, input.replace(/^[a-z-]+:/, ''));
    if (file === vendorStandIn('import-meta-url.mjs') || !existsSync(file)) return false;
    if (!reads.has(file)) reads.set(file, readFileSync(file, 'utf8').includes('import.meta.url'));
    return reads.get(file);
  };
  for (const result of results) {
    for (const [output, meta] of Object.entries(result.metafile.outputs)) {
      if (!output.endsWith('.cjs')) continue;
      const readers = Object.keys(meta.inputs).filter(readsUrl);
      if (
        readers.length > 0 &&
        !readFileSync(join(root, output), 'utf8').includes('pathToFileURL')
      ) {
        throw new Error(`${output}: import.meta.url of ${readers.join(', ')} was not replaced`);
      }
    }
  }
}

/** Each trim of a dependency must still apply; otherwise fail here, not at a user's run. */
function checkStandIns() {
  const unapplied = LAZY_REQUIRES.filter((rule) => !applied.has(rule));
  if (unapplied.length > 0) {
    throw new Error(
      `lazy requires no longer match: ${unapplied.map((r) => r.from).join(', ')}; update LAZY_REQUIRES`,
    );
  }
  const unplaced = PACKAGE_DIRS.filter((rule) => !applied.has(rule));
  if (unplaced.length > 0) {
    throw new Error(
      `no __dirname in ${unplaced.map((r) => r.file).join(', ')} any more; update PACKAGE_DIRS`,
    );
  }
  // A lazy dependency must still export every name our sources take from it.
  for (const [name, exports] of Object.entries(LAZY_VENDOR)) {
    const loaded = require(join(dist, 'vendor', `${name}.cjs`));
    const missing = exports.filter((key) => loaded[key] === undefined);
    if (missing.length > 0)
      throw new Error(
        `dist/vendor/${name}.cjs no longer exports ${missing.join(', ')}: update LAZY_VENDOR`,
      );
  }
  // The semver stand-in answers fixed questions: every semver call jsonwebtoken makes must be one.
  const { ANSWERS } = require(vendorStandIn('semver-node20.cjs'));
  const jwtDir = dirname(require.resolve('jsonwebtoken/package.json'));
  for (const file of readdirSync(join(jwtDir, 'lib'))) {
    const text = readFileSync(join(jwtDir, 'lib', file), 'utf8');
    for (const [, range] of text.matchAll(/semver\.satisfies\([^,]+,\s*'([^']+)'\)/g)) {
      if (!ANSWERS.has(range))
        throw new Error(
          `jsonwebtoken/lib/${file} asks semver about '${range}': add it to ${vendorStandIn('semver-node20.cjs')}`,
        );
    }
  }
  // The undici stand-in takes Agent and the request API from undici's own modules.
  const undici = require(join(dist, 'vendor', 'undici.cjs'));
  if (typeof undici.Agent !== 'function' || typeof undici.Agent.prototype.request !== 'function')
    throw new Error(
      'the undici stand-in no longer yields Agent with request(); update src/runtime/vendor/undici-slim.cjs',
    );
}

/**
 * Compiled-code caches for Node 20: run the light commands and two emulator logins once in
 * one process in training mode, which writes dist/**\/*.cjs.v8cache at exit.
 */
/**
 * A session token of muvee's claims for `uid`, valid a minute from `now`: here, and in the
 * training script by its source (for a user only that script's login creates).
 */
function sessionToken(uid, email, secret, now) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ uid, email, role: 'member', iat: now, exp: now + 60 })}`;
  const { createHmac } = process.getBuiltinModule('node:crypto');
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function trainCodeCache() {
  const secret = 'code-cache-training-secret-0123456789abcdef';
  const now = Math.floor(Date.now() / 1000);
  const uid = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
  const token = sessionToken(uid, 'a@corp.example', secret, now);
  const runs = [
    ['check-config'],
    ['--json', 'check-config'],
    ['verify-token', token],
    ['--json', 'verify-token', token],
    ['verify-token', 'not.a.token'],
    ['mint-token', '--uid', uid, '--email', 'a@corp.example', '--role', 'member'],
    ['users', 'list'],
    ['bogus-command'],
    ['login', '--emulator', '--auto-approve', '--no-browser', '--no-store', '--json'],
    ['login', '--emulator', '--auto-approve', 'lisi', '--no-browser', '--json'],
    ['verify-token', token],
  ];
  const script = `
    const sessionToken = ${sessionToken.toString()};
    const cli = require(${JSON.stringify(join(dist, 'main.cjs'))});
    cli.enableCodeCache(${JSON.stringify(dist)}, { train: true });
    (async () => {
      for (const args of ${JSON.stringify(runs)}) await cli.main(['node', 'muvee-dingtalk', ...args]);
      // verify-token of a user the file holds, the default file as the benchmark has it: the
      // whole of its lookup (store/sqlite/file-reader.ts). The emulator's logins stored theirs
      // in the emulator's own file.
      require('node:fs').copyFileSync('muvee-dingtalk-emulator.db', 'muvee-dingtalk.db');
      const { openReadOnlyDatabase } = require(${JSON.stringify(join(dist, 'store', 'sqlite', 'reader.cjs'))});
      const db = openReadOnlyDatabase('muvee-dingtalk.db');
      const id = db.prepare('SELECT user_id FROM platform_members').pluck().get();
      db.close();
      await cli.main(['node', 'muvee-dingtalk', 'verify-token', sessionToken(id, 'lisi@corp.example', ${JSON.stringify(secret)}, ${now})]);
      // undici's path (login --emulator no longer takes it): check-config --live against an
      // emulator started here, as real DingTalk.
      const { startEmulator } = require(${JSON.stringify(join(dist, 'emulator', 'server.cjs'))});
      const users = require(${JSON.stringify(join(dist, 'emulator', 'users.cjs'))});
      const emulator = await startEmulator();
      Object.assign(process.env, {
        DINGTALK_API_BASE: emulator.url,
        DINGTALK_LOGIN_BASE: emulator.url,
        DINGTALK_CLIENT_ID: users.EMULATOR_CLIENT_ID,
        DINGTALK_CLIENT_SECRET: users.EMULATOR_CLIENT_SECRET,
      });
      await cli.main(['node', 'muvee-dingtalk', 'check-config', '--live']);
      await emulator.close();
      // The commands set process.exitCode as they end; the script's own status is whether it
      // finished (70 when it threw).
      process.exitCode = 0;
    })().catch((error) => {
      console.error(error);
      process.exitCode = 70;
    });
  `;
  // The training runs log in (a SQLite file) in a folder of their own, removed afterwards.
  const cwd = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-build-'));
  let result;
  try {
    result = spawnSync(process.execPath, ['-e', script], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, JWT_SECRET: secret },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  // The commands' own exit codes are the runs' business (the script resets it); the script
  // itself must finish.
  if (result.error || result.signal || result.status !== 0)
    throw new Error(
      `code-cache training failed: ${result.error ?? result.signal ?? `exit ${result.status}`} ${result.stderr}`,
    );
}
