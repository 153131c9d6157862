/**
 * Ctrl-C and SIGTERM, the one way for every command (program.ts, and the bin's fast
 * verify-token path).
 */
import type { Io } from './io.js';
import { CliError } from './errors.js';

/**
 * Runs a command so that Ctrl-C or SIGTERM ends it the one way (exit 130, a line, the JSON
 * error under --json), not silently with 143. A command that reads `io.signal` itself (login,
 * the emulator) is left to end on its own terms; for the others the run is abandoned (the bin
 * then exits: cli.ts).
 */
export async function untilInterrupted(
  run: (io: Io) => Promise<number | void>,
  io: Io,
  name: string,
): Promise<number | void> {
  let watched = false;
  const watchedIo: Io = Object.create(io, {
    signal: {
      get: () => {
        watched = true;
        return io.signal;
      },
    },
  });
  const signal = io.signal;
  const interrupted = () =>
    new CliError(
      'interrupted',
      `${name} interrupted (${String(signal.reason)}) before it finished; run it again to complete it`,
    );
  if (signal.aborted) throw interrupted();
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      run(watchedIo),
      new Promise<never>((_resolve, reject) => {
        onAbort = () => {
          if (!watched) reject(interrupted());
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
