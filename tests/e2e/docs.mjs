// Browser test of the documentation anycart serves, run by scripts/test (and CI).
//
// Starts `anycart serve` and opens, in Debian's Chromium through playwright-core:
//   1. /docs (the API reference): it renders the OpenAPI document, including the
//      widget's shopper routes, and every request the page makes stays on the
//      anycart origin (no CDN, fonts, telemetry or AI agent), so it works offline;
//   2. /manual/ (the manual from docs/src): the table of contents, a chapter link
//      and a heading anchor work, with no request elsewhere either.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(repo, 'web', 'widget', 'package.json'));
const { chromium } = require('playwright-core');

const BIN = process.env.ANYCART_BIN ?? join(repo, 'target', 'debug', 'anycart');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(repo, 'target', 'e2e');
const STEP_TIMEOUT_MS = 20_000;
mkdirSync(SHOTS, { recursive: true });

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'anycart-docs-'));
  const child = spawn(BIN, ['serve', '--addr', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 60_000;
  for (;;) {
    // The listening line carries the base URL (port 0 picks a free one).
    const m = log.match(/base_url=(http:\/\/127\.0\.0\.1:\d+)/);
    if (m) return { child, base: m[1] };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records every request of `page`; `outside()` lists those off `origin`. */
function watchRequests(page, origin) {
  const seen = [];
  page.on('request', (r) => seen.push(r.url()));
  return {
    all: () => seen,
    outside: () => seen.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:') && u !== 'about:blank'),
  };
}

let passed = 0;
async function check(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

const { child, base } = await startServer();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await check('the API reference renders offline: every request stays on the anycart origin', async () => {
    const context = await browser.newContext();
    // Anything leaving the origin would hang or fail without a network: refuse it
    // outright and let the assertion below name it.
    await context.route(/^https?:\/\//, (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
    const page = await context.newPage();
    const requests = watchRequests(page, base);
    await page.goto(`${base}/docs`);
    await page.getByText('Create a checkout session', { exact: false }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
    // The widget's routes are documented too: open their group.
    await page.getByText('Open Group - Widget').first().click();
    await page.getByText('Email a 6-digit sign-in code', { exact: false }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: join(SHOTS, 'docs.png') });
    assert.deepEqual(requests.outside(), [], `requests off the anycart origin: ${requests.outside().join(', ')}`);
    assert.ok(requests.all().some((u) => u.endsWith('/openapi.json')), 'the reference loads /openapi.json');
    await context.close();
  });

  await check('the manual renders offline, with its table of contents, chapter links and anchors', async () => {
    const context = await browser.newContext();
    await context.route(/^https?:\/\//, (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
    const page = await context.newPage();
    const requests = watchRequests(page, base);
    await page.goto(`${base}/manual/`);
    await page.getByRole('navigation', { name: 'Chapters' }).getByRole('link', { name: 'Checkout API' }).click();
    await page.waitForURL(/\/manual\/checkout-api\.html$/);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    const anchored = await page.locator('main a[href*=".html#"]').first().getAttribute('href');
    assert.ok(anchored, 'a chapter links to an anchor of another');
    await page.goto(`${base}/manual/${anchored}`);
    const id = anchored.split('#')[1];
    assert.equal(await page.locator(`[id="${id}"]`).count(), 1, `anchor #${id} exists`);
    await page.screenshot({ path: join(SHOTS, 'manual.png') });
    const missing = await page.goto(`${base}/manual/no-such-chapter.html`);
    assert.equal(missing.status(), 404);
    assert.deepEqual(requests.outside(), [], `requests off the anycart origin: ${requests.outside().join(', ')}`);
    await context.close();
  });
} finally {
  await browser.close();
  child.kill();
}
console.log(`e2e docs: ${passed} passed; screenshots in ${SHOTS}`);
