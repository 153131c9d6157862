// Preloaded by the benchmark: writes the process's peak RSS (KiB) to $BENCH_RSS_FILE at exit.
// Linux: VmHWM of /proc/self/status, the peak of this program's own memory. Not getrusage's
// maxRSS: the kernel carries the forking process's peak over into it at exec, so every command
// the benchmark starts reported the benchmark's own size (81 MiB for `users list` of 10 users).
import { readFileSync, writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (!process.env.BENCH_RSS_FILE) return;
  let kib;
  try {
    kib = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    kib = process.resourceUsage().maxRSS;
  }
  writeFileSync(process.env.BENCH_RSS_FILE, String(kib));
});
