import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_FILE } from '../../src/console/auth.ts';
import { mountConsole } from '../../src/console/mount.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startHealthServer } from '../../src/daemon/health-server.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { consoleDaemon, contactPhones, REFUSED_PATIENT, setMobileOption } from './fixture.ts';

// CONSOLE_TEST_CHROMIUM: another browser binary (or a missing one, to see the skip).
const CHROMIUM = process.env.CONSOLE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser test cannot run here, if it cannot. */
async function missingBrowser(): Promise<string | undefined> {
  if (!existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (apt-get install -y chromium)`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci)';
  }
  return undefined;
}

const missing = await missingBrowser();
if (missing && process.env.REQUIRE_BROWSER === '1')
  throw new Error(`REQUIRE_BROWSER=1 but the console's browser test cannot run: ${missing}`);
if (missing) process.stderr.write(`console browser test skipped: ${missing}\n`);

async function withBrowser(work: (page: import('playwright-core').Page) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'ident-sync-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  try {
    await work(context.pages()[0] ?? (await context.newPage()));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Clicks a console button: its POST is answered 303 and the page comes back. */
async function submit(page: import('playwright-core').Page, button: import('playwright-core').Locator) {
  const posted = page.waitForResponse((response) => response.url().endsWith('/console/action'));
  await button.click();
  const answer = await posted;
  assert.equal(answer.status(), 303, await answer.text().catch(() => ''));
  await page.waitForLoadState();
}

describe('the console in a real browser (Debian’s chromium)', () => {
  it(
    'shows runs and numbers; a refused value appears within one run with its reason; "sync again" lands it once the fault is lifted; a cross-site POST is refused',
    { skip: missing },
    async () => {
      const stack = await consoleDaemon();
      const evil = createServer((_request, response) => {
        // Another site's page posting to the console, as a drive-by attack would.
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end(
          `<form id="f" method="post" action="${stack.url}/action"><input name="action" value="retry-failed"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
        );
      });
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      try {
        await withBrowser(async (page) => {
          await page.goto(stack.url);
          assert.equal(await page.textContent('[data-label="contacts linked"] span'), '3');
          assert.match((await page.textContent('table.runs tbody'))!, /initial/);
          assert.match((await page.textContent('#now'))!, /idle/);
          assert.match((await page.textContent('header'))!, /masked/);

          setMobileOption(stack.emulator, false);
          stack.source.touch(REFUSED_PATIENT, { MobilePhone: '89160000777' });
          const form = page.locator('#actions form', { hasText: 'Sync this patient again' });
          await form.locator('input[name="id"]').fill(REFUSED_PATIENT);
          await submit(page, form.locator('button'));
          assert.match(
            (await page.textContent('.notice'))!,
            new RegExp(`Patient ${REFUSED_PATIENT} is synced again`),
          );
          await stack.waitForRuns(2);
          await page.reload();
          const row = page.locator(`tr.refused[data-id="${REFUSED_PATIENT}"]`);
          assert.match((await row.textContent())!, /amoCRM refused the value of PHONE: NotSupportedChoice/);
          assert.match((await row.textContent())!, /И\*\*\*\*\*\*\* М\./);
          assert.match(
            (await row.locator('a').getAttribute('href'))!,
            new RegExp(`/contacts/detail/${stack.contactOf(REFUSED_PATIENT)}$`),
          );
          if (process.env.CONSOLE_SCREENSHOT)
            await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });

          // Another site's form: refused (its Origin is not the console's, and the cookie stays home).
          const refused = page.waitForResponse((response) => response.url().endsWith('/console/action'));
          await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
          const answer = await refused;
          assert.equal(answer.status(), 403);
          assert.equal(stack.store.getMeta('console_queue'), undefined, 'nothing was queued');

          setMobileOption(stack.emulator, true);
          await page.goto(stack.url);
          await submit(page, page.locator(`tr.refused[data-id="${REFUSED_PATIENT}"] button`));
          await stack.waitForRuns(3);
          await page.reload();
          assert.equal(
            await page.locator(`tr[data-id="${REFUSED_PATIENT}"]`).count(),
            0,
            'the refusal is gone',
          );
          assert.equal(await page.textContent('[data-label="refused values"] span'), '0');
          assert.deepEqual(contactPhones(stack.emulator, stack.contactOf(REFUSED_PATIENT)), ['+79160000777']);
        });
      } finally {
        evil.close();
        await stack.stop();
      }
    },
  );

  it(
    'off loopback, the console refuses a browser without the token and lets the token in',
    { skip: missing },
    async () => {
      const stateDir = tempDir();
      const config = loadConfig({
        STATE_DIR: stateDir,
        AMOCRM_BASE_URL: 'http://127.0.0.1:9',
        AMOCRM_LONG_LIVED_TOKEN: 'x',
      });
      const routes = mountConsole(
        config,
        silentLogger(),
        {
          context: () => undefined,
          health: () => ({ healthy: false, reason: 'starting', since: new Date().toISOString() }),
          running: () => undefined,
          nextRuns: () => ({ incremental: null, deep: null }),
          requestRun: () => 'not running',
        },
        { requireToken: true },
      );
      const server = await startHealthServer(
        0,
        () => ({ healthy: true, reason: 'ok', since: '' }),
        new DaemonMetrics(),
        '127.0.0.1',
        routes,
      );
      const url = `http://127.0.0.1:${server.port}/console`;
      try {
        await withBrowser(async (page) => {
          const denied = await page.goto(url);
          assert.equal(denied!.status(), 401);
          assert.match((await page.textContent('body'))!, /needs its token/);
          const token = readFileSync(join(stateDir, TOKEN_FILE), 'utf8').trim();
          const allowed = await page.goto(`${url}?token=${encodeURIComponent(token)}`);
          assert.equal(allowed!.status(), 200);
          assert.equal(page.url(), url, 'the token leaves the address bar');
          assert.match((await page.textContent('h1'))!, /ident-sync console/);
        });
      } finally {
        await server.close();
      }
    },
  );
});
