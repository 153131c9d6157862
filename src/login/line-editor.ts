/**
 * The paste prompt of a login waiting on a terminal (issue 22 item 7): standard input in raw
 * mode, so the tool, not the terminal, echoes what is typed, and the live status line above it
 * (wait.ts `StatusLine`) can count down without ever drawing over a URL being pasted. One line,
 * scrolled sideways when it is longer than the terminal is wide, so the prompt is always one
 * row and the status line always the row above it.
 *
 * Keys: Enter submits (a paste may hold several lines), Backspace, Ctrl-U (the line), Ctrl-W (a
 * word), Ctrl-C (cancel); arrow and function keys, Ctrl-D, Ctrl-Z and other control characters
 * are ignored (never echoed). Pure: keystrokes in, lines out; the drawing is wait.ts's.
 */
import { displayWidth } from '../cli/output.js';

/** What a chunk of keystrokes did. */
export interface Keys {
  /** Lines submitted with Enter (a pasted text holding newlines gives several). */
  lines: string[];
  /** Ctrl-C: raw mode turns the terminal's SIGINT into this byte. */
  interrupt: boolean;
}

/** A terminal that can be put into raw mode (a `tty.ReadStream`). */
export interface RawTerminal {
  isTTY?: boolean;
  setRawMode(raw: boolean): unknown;
}

export function isRawTerminal(input: unknown): input is RawTerminal {
  const candidate = input as Partial<RawTerminal> | null | undefined;
  return candidate?.isTTY === true && typeof candidate.setRawMode === 'function';
}

/** The longest line kept (a URL with its code and state is a few hundred characters). */
const MAX_LINE = 16 * 1024;

export class LineEditor {
  private text = '';
  /** Inside an escape sequence (arrow keys, function keys): skipped to its final byte. */
  private escape: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
  /** The last key was a '\r': a '\n' right after it ends the same line. */
  private justSubmitted = false;

  /** The line being typed. */
  get buffer(): string {
    return this.text;
  }

  /** Feeds decoded keystrokes (or a paste) and says what they did. */
  feed(chunk: string): Keys {
    const keys: Keys = { lines: [], interrupt: false };
    for (const ch of chunk) {
      const code = ch.codePointAt(0) ?? 0;
      if (this.escape !== 'none') {
        this.escape = skipEscape(this.escape, ch);
        continue;
      }
      if (ch === '\r' || ch === '\n') {
        // A paste of "url\r\n" is one line, not a line and an empty one.
        if (ch === '\n' && this.justSubmitted) {
          this.justSubmitted = false;
          continue;
        }
        keys.lines.push(this.text);
        this.text = '';
        this.justSubmitted = ch === '\r';
        continue;
      }
      this.justSubmitted = false;
      if (code === 0x03) {
        keys.interrupt = true;
        return keys;
      }
      if (code === 0x7f || code === 0x08) {
        this.text = Array.from(this.text).slice(0, -1).join('');
        continue;
      }
      if (code === 0x15) {
        this.text = ''; // Ctrl-U: the whole line
        continue;
      }
      if (code === 0x17) {
        this.text = this.text.replace(/\S*\s*$/u, ''); // Ctrl-W: the last word
        continue;
      }
      if (code === 0x1b) {
        this.escape = 'esc';
        continue;
      }
      if (ch === '\t') {
        this.append(' ');
        continue;
      }
      // Other control characters (C0, DEL, C1) are never echoed nor kept.
      if (code < 0x20 || (code >= 0x80 && code < 0xa0)) continue;
      this.append(ch);
    }
    return keys;
  }

  private append(ch: string): void {
    if (this.text.length < MAX_LINE) this.text += ch;
  }
}

function skipEscape(state: 'esc' | 'csi' | 'ss3', ch: string): 'none' | 'esc' | 'csi' | 'ss3' {
  if (state === 'esc') return ch === '[' ? 'csi' : ch === 'O' ? 'ss3' : 'none';
  if (state === 'ss3') return 'none';
  // CSI: parameters and intermediates (0x20-0x3f) until a final byte (0x40-0x7e).
  const code = ch.codePointAt(0) ?? 0;
  return code >= 0x40 && code <= 0x7e ? 'none' : 'csi';
}

/**
 * The end of `text` that fits in `width` columns (wide characters take two), with `…` in front
 * when something was cut: what the prompt row shows of a long paste.
 */
export function tailThatFits(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const chars = Array.from(text);
  let shown = '';
  let used = 1; // the '…'
  for (let i = chars.length - 1; i >= 0; i--) {
    const w = displayWidth(chars[i]!);
    if (used + w > width) break;
    shown = chars[i] + shown;
    used += w;
  }
  return `…${shown}`;
}

/** The start of `text` that fits in `width` columns: a status line never wraps. */
export function headThatFits(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let shown = '';
  let used = 1;
  for (const ch of text) {
    const w = displayWidth(ch);
    if (used + w > width) break;
    shown += ch;
    used += w;
  }
  return `${shown}…`;
}
