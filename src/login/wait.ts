/**
 * The wait of a login: the first of the callback, a pasted URL or code, the timeout, or an
 * abort (Ctrl-C, a failed headless approval). Time comes from an injected {@link Clock}, so
 * tests run the timeout without waiting for it.
 */
import type { AcceptedCallback, CallbackServer } from './callback-server.js';
import { parsePasted, type CallbackResult } from '../dingtalk/authorize.js';
import { CliError } from '../cli/errors.js';
import { humanDuration, line, type Output, type Safe } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';

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
  /** The live line on stderr, shared with whoever reports refused callbacks meanwhile. */
  status?: StatusLine;
}

/** Races the callback, a pasted URL or code, the timeout and the aborts. */
export async function waitForCallback(input: WaitInput): Promise<Waited> {
  const { out, clock, timeoutSeconds } = input;
  const deadline = clock.now() + timeoutSeconds * 1000;
  const stops: (() => void)[] = [];
  const waits: Promise<Waited>[] = [...input.aborts];
  if (input.server)
    waits.push(input.server.accepted.then((a) => ({ result: a.result, respond: a.respond })));

  const status = input.status ?? new StatusLine(out);
  let pasted: ReturnType<typeof readPasted> | undefined;
  if (input.paste) {
    pasted = readPasted(input.paste, input.state, {
      // A chunk arrived: the spinner steps aside; a refused line brings it back.
      onInput: () => status.pause(),
      onRefused: () => status.resume(),
      warn: (text) => status.note(line`${out.c.yellow('⚠')} ${text}`),
    });
    stops.push(pasted.stop);
    waits.push(pasted.result);
  }
  status.start({
    clock,
    deadline,
    timeoutSeconds,
    pasting: input.paste !== undefined,
    // Someone may be typing on a terminal: its echo must never be redrawn over.
    typing: pasted?.isTTY === true,
  });
  stops.push(() => status.stop());
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

/**
 * The live line of a wait on stderr. Not a terminal (or `--json`): one line saying how long
 * the wait may take. A terminal: a spinner with the time left, redrawn in place; when someone
 * may be typing a paste on that terminal, a line printed once instead (a redraw would wipe the
 * echo of what is being typed), printed again after a refused paste. Notes (refused callbacks,
 * refused pastes) clear the spinner first; it comes back at its next frame.
 */
export class StatusLine {
  private draw: (() => void) | undefined;
  private timer: unknown;
  private clock: Clock | undefined;
  /** A spinner is redrawn in place (a terminal nobody types on). */
  private animated = false;
  /** A spinner frame is on the screen without a newline. */
  private drawn = false;
  private paused = false;
  private stopped = false;

  constructor(private readonly out: Output) {}

  start(options: {
    clock: Clock;
    deadline: number;
    timeoutSeconds: number;
    pasting: boolean;
    typing: boolean;
  }): void {
    const { out } = this;
    const { clock, deadline, timeoutSeconds, pasting, typing } = options;
    this.clock = clock;
    const pasteHint = pasting ? 'paste the URL the browser landed on' : '';
    if (!out.interactive) {
      out.note(
        out.c.dim(
          `waiting up to ${humanDuration(timeoutSeconds)} for the callback${pasteHint ? ` (or ${pasteHint})` : ''}`,
        ),
      );
      return;
    }
    if (typing) {
      const draw = () =>
        out.note(
          out.c.dim(
            `waiting for the callback… (up to ${humanDuration((deadline - clock.now()) / 1000)}; Ctrl-C to cancel; or ${pasteHint} and press Enter)`,
          ),
        );
      draw();
      this.draw = draw; // only on resume(), never by a timer
      return;
    }
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    let i = 0;
    const frame = () => {
      this.timer = undefined;
      if (this.stopped || this.paused) return;
      const left = humanDuration((deadline - clock.now()) / 1000);
      out.errorStream.write(
        `\r\x1b[2K${frames[i++ % frames.length]} waiting for the callback… (${left} left; Ctrl-C to cancel${pasteHint ? `; or ${pasteHint}` : ''})`,
      );
      this.drawn = true;
      this.timer = clock.setTimeout(frame, 120);
    };
    this.draw = () => {
      if (this.timer === undefined) this.timer = clock.setTimeout(frame, 120);
    };
    this.animated = true;
    frame();
  }

  /** Input is arriving: the spinner steps aside (a typed line stays as it is). */
  pause(): void {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.cancelTimer();
    this.clear();
  }

  /** After a refused paste: the spinner (or the waiting line) comes back. */
  resume(): void {
    if (this.stopped) return;
    this.paused = false;
    this.draw?.();
  }

  /** A line of its own above the spinner, which redraws at its next frame. */
  note(text: Safe): void {
    this.clear();
    this.out.note(text);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    this.clear();
  }

  private clear(): void {
    if (this.animated && this.drawn) this.out.errorStream.write('\r\x1b[2K');
    this.drawn = false;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock?.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Refused callbacks, one sanitised line each in the terminal, at most one a second: those in
 * between are counted into the next line. Requests for a favicon (browsers ask) are not news.
 */
export function rejectionReporter(
  note: (text: string) => void,
  now: () => number,
  intervalMs = 1000,
): (status: number, reason: string, path: string) => void {
  let last = -Infinity;
  let skipped = 0;
  return (status, reason, path) => {
    if (/^\/(favicon\.ico|robots\.txt|apple-touch-icon[^/]*\.png)$/.test(path)) return;
    const at = now();
    if (at - last < intervalMs) {
      skipped++;
      return;
    }
    last = at;
    const more = skipped > 0 ? ` (and ${skipped} more refused before it)` : '';
    skipped = 0;
    const shown = (text: string) => {
      const clean = safe(text);
      return clean.length > 160 ? `${clean.slice(0, 157)}...` : clean;
    };
    note(
      `refused a request to the callback listener: ${status} for ${shown(path)}: ${shown(reason)}${more}; still waiting for the real one`,
    );
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
  hooks: { onInput(): void; onRefused(): void; warn(text: string): void },
): { result: Promise<Waited>; stop(): void; isTTY: boolean } {
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
        hooks.warn(
          `not accepted: ${safe((error as Error).message)}; paste the whole URL the browser landed on, or the code`,
        );
        hooks.onRefused();
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
        hooks.onInput();
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
    isTTY: (input as { isTTY?: boolean } | undefined)?.isTTY === true,
    stop() {
      stopped = true;
      // A stream is destroyed, so standard input holds the process open no longer (a stream's
      // iterator would only end at its next chunk); any other input is told to finish.
      if (typeof input?.destroy === 'function') input.destroy();
      else void Promise.resolve(iterator?.return?.()).catch(() => {});
    },
  };
}
