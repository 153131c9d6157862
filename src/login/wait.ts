/**
 * The wait of a login: the first of the callback, a pasted URL or code, the timeout, or an
 * abort (Ctrl-C, a failed headless approval). Time comes from an injected {@link Clock}, so
 * tests run the timeout without waiting for it.
 */
import type { AcceptedCallback, CallbackServer } from '../callback-server.js';
import { parsePasted, type CallbackResult } from '../dingtalk/authorize.js';
import { CliError } from '../errors.js';
import { humanDuration, type Output } from '../output.js';

/** Time and timers; the real one by default, a fake in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Where a pasted URL or code comes from: text in chunks (standard input, or any async
 * iterable of strings), split into lines here. Called only when pasting is possible.
 */
export type PasteSource = () => AsyncIterable<string | Uint8Array>;

/** What ended the wait: the callback's result, and how to answer its browser (not for a paste). */
export interface Waited {
  result: CallbackResult;
  respond: AcceptedCallback['respond'] | undefined;
}

export interface WaitInput {
  server: CallbackServer | undefined;
  state: string;
  timeoutSeconds: number;
  out: Output;
  clock: Clock;
  /** Promises that only ever reject: each ends the wait with its error. */
  aborts: Promise<never>[];
  /** Absent: nobody can paste (the tool approves by itself, or no input was given). */
  paste: PasteSource | undefined;
}

/** Races the callback, a pasted URL or code, the timeout and the aborts. */
export async function waitForCallback(input: WaitInput): Promise<Waited> {
  const { out, clock, timeoutSeconds } = input;
  const deadline = clock.now() + timeoutSeconds * 1000;
  const stops: (() => void)[] = [];
  const waits: Promise<Waited>[] = [...input.aborts];
  if (input.server)
    waits.push(input.server.accepted.then((a) => ({ result: a.result, respond: a.respond })));

  const stopSpinner = progress(out, clock, deadline, timeoutSeconds, input.paste !== undefined);
  stops.push(stopSpinner);
  if (input.paste) {
    const pasted = readPasted(input.paste, input.state, out, stopSpinner);
    stops.push(pasted.stop);
    waits.push(pasted.result);
  }
  waits.push(
    new Promise<never>((_resolve, reject) => {
      const timer = clock.setTimeout(
        () =>
          reject(
            new CliError(
              'timeout',
              `no callback within ${humanDuration(timeoutSeconds)}; approve in the browser sooner, or raise --timeout`,
            ),
          ),
        timeoutSeconds * 1000,
      );
      stops.push(() => clock.clearTimeout(timer));
    }),
  );
  try {
    return await Promise.race(waits);
  } finally {
    for (const stop of stops) stop();
  }
}

/** A spinner with the time left on a terminal, one line otherwise. Returns its stop. */
function progress(
  out: Output,
  clock: Clock,
  deadline: number,
  timeoutSeconds: number,
  pasting: boolean,
): () => void {
  const pasteHint = pasting ? 'paste the URL the browser landed on' : '';
  if (!out.interactive) {
    out.note(
      out.c.dim(
        `waiting up to ${humanDuration(timeoutSeconds)} for the callback${pasteHint ? ` (or ${pasteHint})` : ''}`,
      ),
    );
    return () => {};
  }
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  const stream = out.errorStream;
  let i = 0;
  let stopped = false;
  const draw = () => {
    const left = humanDuration((deadline - clock.now()) / 1000);
    stream.write(
      `\r\x1b[2K${frames[i++ % frames.length]} waiting for DingTalk (${left} left; Ctrl-C to cancel${pasteHint ? `; or ${pasteHint}` : ''})`,
    );
    timer = clock.setTimeout(draw, 120);
  };
  let timer = clock.setTimeout(draw, 120);
  return () => {
    if (stopped) return;
    stopped = true;
    clock.clearTimeout(timer);
    stream.write('\r\x1b[2K');
  };
}

const MAX_PASTE_BUFFER = 64 * 1024;

/**
 * The paste fallback: each line is a redirected URL or a bare code (the last line may end at
 * the end of input). Lines that are neither get a warning and the wait goes on; the end of
 * input leaves the callback and the timeout to decide.
 */
function readPasted(
  source: PasteSource,
  state: string,
  out: Output,
  onInput: () => void,
): { result: Promise<Waited>; stop(): void } {
  let input: (AsyncIterable<string | Uint8Array> & { destroy?: () => void }) | undefined;
  let iterator: AsyncIterator<string | Uint8Array> | undefined;
  let stopped = false;
  const result = new Promise<Waited>((resolve) => {
    try {
      input = source();
      iterator = input[Symbol.asyncIterator]();
    } catch {
      return; // no input at all: the callback or the timeout decides
    }
    const decoder = new TextDecoder();
    let buffer = '';
    /** The result of the first acceptable line, or undefined. */
    const take = (line: string): Waited | undefined => {
      if (line === '') return undefined;
      try {
        return { result: parsePasted(line, state), respond: undefined };
      } catch (error) {
        out.warn(
          `not accepted: ${(error as Error).message}; paste the whole URL the browser landed on, or the code`,
        );
        return undefined;
      }
    };
    const read = async (it: AsyncIterator<string | Uint8Array>): Promise<void> => {
      for (;;) {
        let next: IteratorResult<string | Uint8Array>;
        try {
          next = await it.next();
        } catch {
          return; // unreadable input: as if there were none
        }
        if (stopped) return;
        if (next.done) {
          const last = take((buffer + decoder.decode()).trim());
          if (last) resolve(last);
          return;
        }
        onInput();
        buffer +=
          typeof next.value === 'string'
            ? next.value
            : decoder.decode(next.value, { stream: true });
        if (buffer.length > MAX_PASTE_BUFFER) buffer = buffer.slice(-MAX_PASTE_BUFFER);
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          const accepted = take(line);
          if (accepted) return resolve(accepted);
        }
      }
    };
    void read(iterator);
  });
  return {
    result,
    stop() {
      stopped = true;
      // A stream is destroyed, so standard input holds the process open no longer (a stream's
      // iterator would only end at its next chunk); any other input is told to finish.
      if (typeof input?.destroy === 'function') input.destroy();
      else void Promise.resolve(iterator?.return?.()).catch(() => {});
    },
  };
}
