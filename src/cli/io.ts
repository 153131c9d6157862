/**
 * What a command touches of the outside world, as interfaces: the process's descriptors and
 * environment in the bin (runtime/process-io.ts), buffers and fakes in tests.
 */

/** A place text goes: the process's descriptors in the bin, buffers in tests. */
export interface Sink {
  write(text: string): void;
  /**
   * UTF-8 bytes as they are (no string made and encoded again: `users list` hands over what
   * SQLite built). Keeps no reference to `bytes` once it returns, so the caller may free
   * them. Optional: without it, the bytes are decoded and given to `write`.
   */
  writeBytes?(bytes: Uint8Array): void;
  readonly isTTY: boolean;
  /** A terminal's width in columns, read when asked (it changes when the window is resized). */
  readonly columns?: number | undefined;
}

/** Everything a command touches of the outside world, injected (in tests: buffers and fakes). */
export interface Io {
  /** The environment (process.env in the bin). Nothing else reads process.env. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Sink;
  stderr: Sink;
  /** Standard input, created only when a command reads it (creating process.stdin costs). */
  stdin(): NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM; the reason is the signal's name. */
  signal: AbortSignal;
  /**
   * Calls `listener` with the signal's name at Ctrl-C or SIGTERM; returns the undo. For a
   * command that is only abandoned then (cli/interrupt.ts): in the bin it costs no
   * AbortController (~1 ms of a verify-token). Absent, `signal` is watched instead.
   */
  onInterrupt?: (listener: (reason: string) => void) => () => void;
  /**
   * Called once before the first DingTalk request (a start-up trick of the bin's, see
   * runtime/wasm.ts); absent in-process.
   */
  beforeFirstRequest?: () => Promise<void>;
}

export interface GlobalOptions {
  envFile?: string;
  db?: string;
  json: boolean;
  color: boolean;
}

/** All of stdin as text (for tokens piped in, so they stay out of shell history). */
export async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}
