#!/usr/bin/env -S node --
// `node --` stops Node itself from treating our `--env-file <path>` as its own option
// (it scans every argument for it and exits 9 when the file is missing).
import { main } from '../dist/cli.js';

main(process.argv);
