/**
 * Output without process.stdout/stderr, shared by the entry (prerendered help) and Output.
 *
 * A reader that goes away (`| head`, `| true`) only stops the printing: the run goes on and
 * exits with its own code (0, 5, 7…), so a failure is never reported as a success under
 * `set -o pipefail` (README "Exit codes"; issue 20 M4).
 */
import { writeSync } from 'node:fs';

/**
 * Writes straight to the file descriptor. Creating process.stdout or process.stderr loads
 * node:stream (and node:tty and node:net for a terminal or a pipe): ~6 ms that a command
 * printing a few lines need not pay. Ordering is kept: process.stdout is synchronous for
 * files, terminals and (on Linux) pipes too.
 */
export function writeFd(fd: 1 | 2, text: string | Uint8Array): void {
  if (closed.has(fd)) return;
  // Once a descriptor's stream holds queued output, everything after it goes there too (a
  // copy of the caller's bytes: Sink.writeBytes keeps none once it returns).
  if (queued.has(fd))
    return void stream(fd).write(typeof text === 'string' ? text : Buffer.from(text));
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // `muvee-dingtalk ... | head` closed the pipe early: print nothing more there, and let
      // the run finish with its own exit code (exiting here would say 0 for a failure).
      if (code === 'EPIPE') return void closed.add(fd);
      // A non-blocking descriptor that is full: let the stream queue the rest, and what follows.
      if (code === 'EAGAIN') {
        queued.add(fd);
        // The same rule for the stream: a closed pipe is not an uncaught error.
        stream(fd).on('error', (streamError: NodeJS.ErrnoException) => {
          if (streamError.code !== 'EPIPE') throw streamError;
          closed.add(fd);
        });
        const rest = bytes.subarray(offset);
        return void stream(fd).write(typeof text === 'string' ? rest : Buffer.from(rest));
      }
      throw error;
    }
  }
}

/**
 * Whether output still waits in a stream (a full non-blocking descriptor, above): the process
 * must not exit before it is written.
 */
export function outputPending(): boolean {
  return [...queued].some((fd) => stream(fd).writableLength > 0);
}

// On the global object: dist/ holds more than one copy of this file (the entry's, verify-token's
// bundle's), and the entry asks whether output is pending after verify-token wrote it.
const STATE = Symbol.for('muvee-dingtalk.fd');
const shared = globalThis as { [STATE]?: { queued: Set<1 | 2>; closed: Set<1 | 2> } };
const { queued, closed } = (shared[STATE] ??= { queued: new Set(), closed: new Set() });
const stream = (fd: 1 | 2) => (fd === 1 ? process.stdout : process.stderr);
