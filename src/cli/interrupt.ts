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
  const interrupted = (reason: string) =>
    new CliError(
      'interrupted',
      `${name} interrupted (${reason}) before it finished; run it again to complete it`,
    );
  if (!io.onInterrupt && io.signal.aborted) throw interrupted(String(io.signal.reason));
  const subscribe = io.onInterrupt ?? ((listener) => onAbort(io.signal, listener));
  let unsubscribe: (() => void) | undefined;
  try {
    return await Promise.race([
      run(watchedIo),
      new Promise<never>((_resolve, reject) => {
        unsubscribe = subscribe((reason) => {
          if (!watched) reject(interrupted(reason));
        });
      }),
    ]);
  } finally {
    unsubscribe?.();
  }
}

function onAbort(signal: AbortSignal, listener: (reason: string) => void): () => void {
  const onAbort = () => listener(String(signal.reason));
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
