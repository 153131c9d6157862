/**
 * Who opens the authorize URL: the system's browser (`open`), or, for the emulator, this
 * process itself following the emulator's redirect to our own listener (headless approval).
 */
import { get } from 'node:http';
import { CliError } from '../cli/errors.js';
import type { Output } from '../cli/output.js';

/** Opens a URL in a browser; resolves once the browser was asked (not when the page loads). */
export type BrowserOpener = (url: string) => Promise<void>;

export const BROWSER_FAILED = 'could not open a browser; open the URL above yourself';

/** The system's browser through `open` (loaded only when a browser is wanted). */
export function systemBrowser(out: Output): BrowserOpener {
  return async (url) => {
    const { default: open } = await import('open');
    const child = await open(url);
    child.on('error', () => out.warn(BROWSER_FAILED));
    child.unref();
  };
}

/**
 * Plays the browser for an emulator that approves by itself: follows its redirect to our own
 * listener. Never resolves (the callback ends the wait); rejects when the emulator did not
 * redirect.
 */
export function approveHeadlessly(authorizeUrl: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const fail = (why: string) =>
      reject(
        new CliError(
          'internal',
          `the emulator's headless approval failed (${why}); run with --no-browser and open the URL yourself`,
        ),
      );
    get(authorizeUrl, { agent: false }, (res) => {
      res.resume();
      const location = res.headers.location;
      if (res.statusCode !== 302 || !location)
        return fail(`authorize answered HTTP ${res.statusCode}`);
      // The listener answers only when the login is over; that response is the "browser" page.
      get(location, { agent: false }, (page) => page.resume()).on('error', () => {});
    }).on('error', (error) => fail(error.message));
  });
}
