#!/usr/bin/env -S node --liftoff-only --
// `node --` stops Node itself from treating our `--env-file <path>` as its own option (it
// scans every argument for it and exits 9 when the file is missing). `--liftoff-only`: undici
// parses HTTP with WebAssembly, and V8's background optimisation of it delays the exit of a
// login by ~100 ms; a CLI making a handful of requests needs only the baseline compiler. (On
// the command line, not set at run time: a flag changed mid-run makes V8 refuse code caches.)
// CommonJS (see bin/package.json): Node 20 starts it faster than an ES module.
'use strict';

require('../dist/cli.cjs').main(process.argv);
