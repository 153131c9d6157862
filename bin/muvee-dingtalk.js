#!/usr/bin/env -S node --
// `node --` stops Node itself from treating our `--env-file <path>` as its own option
// (it scans every argument for it and exits 9 when the file is missing). CommonJS (see
// bin/package.json): Node 20 starts it faster than an ES module.
'use strict';

require('../dist/main.cjs').main(process.argv, { exitWhenDone: true });
