/**
 * The real process as an {@link Io}: descriptors 1 and 2 written directly (no stream objects
 * until something needs them), stdin created on first use, and Ctrl-C/SIGTERM either as an
 * abort signal (its AbortController and handlers made only when a command reads it) or, for
 * commands that are simply abandoned then (cli/interrupt.ts), as one-shot handlers: a second
 * Ctrl-C meets Node's default and ends the process at once.
 */
import { fstatSync, statSync } from 'node:fs';
import type { Io, Sink } from '../cli/io.js';
import { writeFd } from './fd.js';

export { outputPending } from './fd.js';

export function processIo(): Io {
  let controller: AbortController | undefined;
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: fdSink(1),
    stderr: fdSink(2),
    stdin: () => process.stdin,
    beforeFirstRequest: async () => (await import('./wasm.js')).baselineWasmCompilerOnly(),
    get signal() {
      if (!controller) {
        const abort = new AbortController();
        onInterruptSignals('on', (name) => {
          // A second Ctrl-C while the first is being handled ends the process at once.
          if (abort.signal.aborted) process.exit(130);
          abort.abort(name);
        });
        controller = abort;
      }
      return controller.signal;
    },
    onInterrupt: (listener) => onInterruptSignals('once', listener),
  };
}

/** `listener` on Ctrl-C (SIGINT) and SIGTERM, every time (`on`) or the first (`once`); the undo. */
function onInterruptSignals(
  how: 'on' | 'once',
  listener: (name: NodeJS.Signals) => void,
): () => void {
  process[how]('SIGINT', listener);
  process[how]('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

function fdSink(fd: 1 | 2): Sink {
  let tty: boolean | undefined;
  return {
    write: (text) => writeFd(fd, text),
    writeBytes: (bytes) => writeFd(fd, bytes),
    get isTTY() {
      return (tty ??= isTerminal(fd));
    },
    // Only a login waiting on a terminal asks (its status line must fit on one row): creating
    // the stream object then costs nothing anyone waits for.
    get columns() {
      if (!(tty ??= isTerminal(fd))) return undefined;
      return (fd === 1 ? process.stdout : process.stderr).columns;
    },
  };
}

let nullDevice: number | undefined;

/** Is the descriptor a terminal? (A character device other than /dev/null, without node:tty.) */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    if (process.platform === 'win32')
      return (fd === 1 ? process.stdout : process.stderr).isTTY === true;
    const stat = fstatSync(fd);
    if (!stat.isCharacterDevice()) return false;
    nullDevice ??= statSync('/dev/null').rdev;
    return stat.rdev !== nullDevice;
  } catch {
    return false;
  }
}
