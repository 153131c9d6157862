/**
 * A real browser end to end: Debian's Chromium driven by playwright-core clicks Approve (and
 * Deny) on the emulator's page, lands on the CLI's callback page, and the CLI finishes.
 * Screenshots go to a folder under the OS temp dir, removed after the run unless a test failed
 * or MUVEE_KEEP_SCREENSHOTS=1 (the path is printed then). Without Chromium every test reports
 * itself skipped (counted by the runner), with the banner below.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Database } from '../src/store/sqlite/binding.ts';
import type { Browser } from 'playwright-core';
import { AUTHORIZE_URL, SECRET, startCli, tempDir } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  process.stderr.write(
    `\n!!! BROWSER TEST SKIPPED: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (.ci/run does). !!!\n\n`,
  );
}

// On each test, not the suite: node's runner counts skipped tests, not skipped suites.
const skip = available ? false : `no Chromium at ${CHROMIUM}; apt-get install -y chromium`;

describe('browser end to end (Chromium + playwright-core)', () => {
  let browser: Browser;
  let shots = '';
  let failed = false;
  /** Runs a test body, noting a failure so the screenshots are kept for it. */
  const noting =
    (body: (t: TestContext) => Promise<void>) =>
    async (t: TestContext): Promise<void> => {
      try {
        await body(t);
      } catch (error) {
        failed = true;
        throw error;
      }
    };
  before(async () => {
    if (!available) return;
    shots = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-browser-'));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    if (!shots) return;
    if (failed || process.env.MUVEE_KEEP_SCREENSHOTS === '1')
      process.stderr.write(`browser test screenshots: ${shots}\n`);
    else rmSync(shots, { recursive: true, force: true });
  });

  async function startLogin(dir: string) {
    const child = startCli(
      ['login', '--emulator', '--no-browser', '--db', join(dir, 'muvee-dingtalk.db')],
      {
        cwd: dir,
        env: { JWT_SECRET: SECRET },
      },
    );
    const [, url] = await child.waitForStderr(AUTHORIZE_URL);
    return { child, url: url! };
  }

  test(
    'Approve: the success page, the CLI output and the DB row',
    { skip },
    noting(async (t) => {
      const dir = tempDir(t);
      const { child, url } = await startLogin(dir);
      const page = await browser.newPage();
      try {
        await page.goto(url);
        assert.match(await page.title(), /DingTalk login/);
        assert.match((await page.textContent('body')) ?? '', /张三/);
        await page.screenshot({ path: join(shots, 'emulator-login-page.png'), fullPage: true });
        await page.getByRole('button', { name: 'Approve' }).click();
        await page.waitForURL(/\/auth\/dingtalk\/callback\?/);
        const text = (await page.textContent('body')) ?? '';
        assert.match(text, /Signed in with DingTalk/);
        assert.match(text, /zhangsan@corp\.example/);
        await page.screenshot({ path: join(shots, 'success-page.png'), fullPage: true });
      } finally {
        await page.close();
      }
      const result = await child.done;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /✓ Signed in with DingTalk/);
      assert.match(result.stdout, /muvee_session=/);
      const db = new Database(join(dir, 'muvee-dingtalk.db'), { readonly: true });
      const rows = db.prepare('SELECT email, role FROM users').all();
      db.close();
      assert.deepEqual(rows, [{ email: 'zhangsan@corp.example', role: 'member' }]);
    }),
  );

  test(
    'Deny: the failure page and exit 3',
    { skip },
    noting(async (t) => {
      const dir = tempDir(t);
      const { child, url } = await startLogin(dir);
      const page = await browser.newPage();
      try {
        await page.goto(url);
        await page.getByRole('button', { name: 'Deny' }).click();
        await page.waitForURL(/\/auth\/dingtalk\/callback\?/);
        const text = (await page.textContent('body')) ?? '';
        assert.match(text, /Sign-in failed/);
        assert.match(text, /access_denied/);
        await page.screenshot({ path: join(shots, 'failure-page.png'), fullPage: true });
      } finally {
        await page.close();
      }
      const result = await child.done;
      assert.equal(result.code, 3);
      assert.ok(!existsSync(join(dir, 'muvee-dingtalk.db')), 'nothing stored');
    }),
  );
});
