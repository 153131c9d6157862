// Build-time stand-in for chalk's `#supports-color` (scripts/build.mjs aliases it here):
// chalk's own detection loads node:tty, and with it node:net and the streams (~6 ms), just to
// ask isatty() at import time. Output decides the colour level itself (output.ts `colorLevel`)
// and passes it to `new Chalk({ level })`, so the detection is never needed.
'use strict';

module.exports = { stdout: false, stderr: false };
