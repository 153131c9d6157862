// Builds dist/ with esbuild: one ESM entry (dist/cli.js) plus chunks for the lazily
// imported commands, so `--help` and `verify-token` parse only what they use.
// better-sqlite3 (native addon) and open (ships an xdg-open script beside its code)
// stay external and are resolved from node_modules at run time.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  external: ['better-sqlite3', 'open'],
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS (jsonwebtoken, dotenv) calls require() for node builtins.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
