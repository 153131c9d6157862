/**
 * A real browser end to end: Debian's Chromium driven by playwright-core clicks Approve (and
 * Deny) on the emulator's page, lands on the CLI's callback page, and the CLI finishes.
 * Screenshots are kept under the OS temp dir (the path is printed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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

describe(
  'browser end to end (Chromium + playwright-core)',
  { skip: available ? false : `no Chromium at ${CHROMIUM}` },
  () => {
    let browser: Browser;
    const shots = mkdtempSync(join(tmpdir(), 'muvee-dingtalk-browser-'));
    before(async () => {
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
      process.stderr.write(`browser test screenshots: ${shots}\n`);
    });
    after(() => browser?.close());

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

    test('Approve: the success page, the CLI output and the DB row', async (t) => {
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
    });

    test('Deny: the failure page and exit 3', async (t) => {
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
    });
  },
);
