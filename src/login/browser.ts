/**
 * Who opens the authorize URL: the system's browser (`open`), or, for the emulator, this
 * process itself following the emulator's redirect to our own listener (headless approval).
 */
import { get } from 'node:http';
import { CliError } from '../cli/errors.js';

/**
 * Opens a URL in a browser; resolves once the browser was asked (not when the page loads),
 * with `failed`, settled with the reason if the launcher then fails (not found, or it exits
 * with an error: e.g. DISPLAY set but no browser that works). It never settles otherwise.
 */
export type BrowserOpener = (url: string) => Promise<void | { failed: Promise<string> }>;

export const BROWSER_FAILED = 'could not open a browser; open the URL above yourself';

type Open = typeof import('open').default;

/**
 * `open`'s function. Built, dist/vendor/open.cjs is CommonJS, and a dynamic import of it hands
 * over its whole exports object as `default` (Node's interop), the function one level down:
 * taking `default` alone called an object, so the built CLI never opened a browser.
 */
async function loadOpen(): Promise<Open> {
  const module = (await import('open')) as { default: Open | { default: Open } };
  return typeof module.default === 'function' ? module.default : module.default.default;
}

/** The system's browser through `open` (loaded only when a browser is wanted). */
export function systemBrowser(): BrowserOpener {
  return async (url) => {
    const child = await (await loadOpen())(url);
    const failed = new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(error.message));
      // xdg-open and friends exit non-zero when no browser could be started.
      child.once('exit', (code) => {
        if (code !== 0 && code !== null) resolve(`${child.spawnfile} exited with status ${code}`);
      });
    });
    child.unref();
    return { failed };
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
