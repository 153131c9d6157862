/**
 * Output without process.stdout/stderr, shared by the entry (prerendered help) and Output.
 */
import { writeSync } from 'node:fs';

/**
 * Writes straight to the file descriptor. Creating process.stdout or process.stderr loads
 * node:stream (and node:tty and node:net for a terminal or a pipe): ~6 ms that a command
 * printing a few lines need not pay. Ordering is kept: process.stdout is synchronous for
 * files, terminals and (on Linux) pipes too.
 */
export function writeFd(fd: 1 | 2, text: string | Uint8Array): void {
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
      // `muvee-dingtalk ... | head` closed the pipe early: stop quietly, as other CLIs do.
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      // A non-blocking descriptor that is full: let the stream queue the rest, and what follows.
      if (code === 'EAGAIN') {
        queued.add(fd);
        const rest = bytes.subarray(offset);
        return void stream(fd).write(typeof text === 'string' ? rest : Buffer.from(rest));
      }
      throw error;
    }
  }
}

const queued = new Set<1 | 2>();
const stream = (fd: 1 | 2) => (fd === 1 ? process.stdout : process.stderr);
