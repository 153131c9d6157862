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
import { headThatFits, isRawTerminal, LineEditor, tailThatFits } from './line-editor.js';

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
  /** The error Ctrl-C gives while a terminal's input is in raw mode (no SIGINT then). */
  interrupted?: () => CliError;
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
      onTyped: () => status.typed(),
      warn: (text) => status.note(line`${out.c.yellow('⚠')} ${text}`),
      // The terminal's input in raw mode (the tool echoes it) only where the status is live.
      raw: out.interactive,
      interrupted:
        input.interrupted ?? (() => new CliError('interrupted', 'login cancelled (Ctrl-C)')),
    });
    stops.push(pasted.stop);
    waits.push(pasted.result);
  }
  status.start({
    clock,
    deadline,
    timeoutSeconds,
    pasting: input.paste !== undefined,
    // Someone may be typing on a terminal the tool does not echo: never redrawn over.
    typing: pasted?.isTTY === true && pasted.editor === undefined,
    editor: pasted?.editor,
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
 * the wait may take. A terminal: a spinner with the time left, redrawn in place. When the
 * terminal's input is read in raw mode (a {@link LineEditor}: the tool echoes what is typed),
 * the spinner is the row above a one-row paste prompt and only that row is redrawn (cursor
 * saved and restored), so a URL being pasted is never drawn over. When someone may be typing
 * on a terminal the tool cannot echo itself, a line printed once instead (a redraw would wipe
 * the echo), printed again after a refused paste. Notes (refused callbacks, refused pastes)
 * clear the spinner first and go above it; it comes back at its next frame.
 */
export class StatusLine {
  private draw: (() => void) | undefined;
  private timer: unknown;
  private clock: Clock | undefined;
  /** A spinner is redrawn in place (a terminal nobody types on, or one the editor echoes). */
  private animated = false;
  /** A spinner frame is on the screen without a newline (with an editor: the two rows). */
  private drawn = false;
  private paused = false;
  private stopped = false;
  private editor: LineEditor | undefined;
  /** The spinner's text now, without its frame character. */
  private text: () => string = () => '';
  private frameChar = '';

  constructor(private readonly out: Output) {}

  start(options: {
    clock: Clock;
    deadline: number;
    timeoutSeconds: number;
    pasting: boolean;
    typing: boolean;
    /** The paste prompt, echoed by the tool: the spinner lives on the row above it. */
    editor?: LineEditor | undefined;
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
    this.editor = options.editor;
    const left = () => humanDuration((deadline - clock.now()) / 1000);
    this.text = this.editor
      ? () => `waiting for the callback… (${left()} left; Ctrl-C to cancel)`
      : () =>
          `waiting for the callback… (${left()} left; Ctrl-C to cancel${pasteHint ? `; or ${pasteHint}` : ''})`;
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    let i = 0;
    const frame = () => {
      this.timer = undefined;
      if (this.stopped || this.paused) return;
      this.frameChar = frames[i++ % frames.length]!;
      this.render();
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
    if (this.stopped || this.paused || this.editor) return;
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

  /** The editor's line changed: its row is drawn again (the spinner's row is left alone). */
  typed(): void {
    if (this.stopped || !this.editor || !this.drawn) return;
    this.out.errorStream.write(`\r\x1b[2K${this.promptRow()}`);
  }

  /** A line of its own above the spinner, which redraws at its next frame. */
  note(text: Safe): void {
    this.clear();
    this.out.note(text);
    // With an editor, the prompt comes back at once: a paste may be under way.
    if (this.editor && this.animated && !this.stopped) this.render();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    this.clear();
  }

  private columns(): number {
    const columns = this.out.errorStream.columns;
    return columns !== undefined && columns >= 20 ? columns : 80;
  }

  /** The spinner's row: never wider than the terminal (a wrapped row would break the redraw). */
  private statusRow(): string {
    return headThatFits(`${this.frameChar} ${this.text()}`, this.columns() - 1);
  }

  /** The editor's row: its prompt and as much of the end of the line as fits. */
  private promptRow(): string {
    const width = this.columns() - 1;
    const long = '  or paste the URL the browser landed on › ';
    const prompt = width - long.length >= 20 ? long : '› ';
    // What is typed is shown as the editor keeps it: control characters never reach here.
    return `${this.out.c.dim(prompt).text}${tailThatFits(this.editor!.buffer, width - prompt.length)}`;
  }

  private render(): void {
    const stream = this.out.errorStream;
    if (!this.editor) {
      stream.write(`\r\x1b[2K${this.statusRow()}`);
    } else if (!this.drawn) {
      stream.write(`${this.statusRow()}\n${this.promptRow()}`);
    } else {
      // The row above, the cursor where the typing is: saved and restored around the redraw.
      stream.write(`\x1b7\x1b[A\r\x1b[2K${this.statusRow()}\x1b8`);
    }
    this.drawn = true;
  }

  private clear(): void {
    if (this.animated && this.drawn)
      this.out.errorStream.write(this.editor ? '\r\x1b[2K\x1b[A\r\x1b[2K' : '\r\x1b[2K');
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
 * input leaves the callback and the timeout to decide. A terminal whose input can be put in raw
 * mode (with `raw`: the status is live) is read key by key through a {@link LineEditor}, which
 * the status line draws; raw mode ends with the wait (and Node restores the terminal at exit).
 */
function readPasted(
  source: PasteSource,
  state: string,
  hooks: {
    onInput(): void;
    onRefused(): void;
    onTyped(): void;
    warn(text: string): void;
    raw: boolean;
    interrupted: () => CliError;
  },
): { result: Promise<Waited>; stop(): void; isTTY: boolean; editor: LineEditor | undefined } {
  let input: (AsyncIterable<string | Uint8Array> & { destroy?: () => void }) | undefined;
  let iterator: AsyncIterator<string | Uint8Array> | undefined;
  let editor: LineEditor | undefined;
  let rawMode: ((raw: boolean) => unknown) | undefined;
  let stopped = false;
  const result = new Promise<Waited>((resolve, reject) => {
    try {
      input = source();
      if (hooks.raw && isRawTerminal(input)) {
        const terminal = input;
        terminal.setRawMode(true);
        rawMode = (raw) => terminal.setRawMode(raw);
        editor = new LineEditor();
      }
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
    /** Raw keystrokes: lines as Enter submits them, the rest echoed on the prompt's row. */
    const keys = (text: string): Waited | undefined => {
      const fed = editor!.feed(text);
      if (fed.interrupt) {
        reject(hooks.interrupted());
        return undefined;
      }
      for (const line of fed.lines) {
        const accepted = take(line.trim());
        if (accepted) return accepted;
      }
      // A refused line's warning drew the prompt again already (the whole chunk was fed first).
      if (fed.lines.every((line) => line.trim() === '')) hooks.onTyped();
      return undefined;
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
        const text =
          typeof next.value === 'string'
            ? next.value
            : decoder.decode(next.value, { stream: true });
        if (editor) {
          const accepted = keys(text);
          if (accepted) return resolve(accepted);
          continue;
        }
        buffer += text;
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
    editor,
    stop() {
      stopped = true;
      // The terminal echoes and signals again before anything else is printed.
      try {
        rawMode?.(false);
      } catch {
        // a terminal already gone
      }
      // A stream is destroyed, so standard input holds the process open no longer (a stream's
      // iterator would only end at its next chunk); any other input is told to finish.
      if (typeof input?.destroy === 'function') input.destroy();
      else void Promise.resolve(iterator?.return?.()).catch(() => {});
    },
  };
}
