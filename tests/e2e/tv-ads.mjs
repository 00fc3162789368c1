// Browser test of the TV checkout with its phone hand-off and of ads served
// through an ad server, run by scripts/test (and so by CI).
//
// Starts `anycart serve --demo`, then drives Debian's Chromium through playwright-core:
//   1. the TV app page: choose the quantity and buy with the arrow keys and Enter only;
//      the TV shows a code and its QR; a phone (a second browser context) opens the
//      code, finishes the checkout, and the TV shows "Paid — order #…";
//   2. the same code on a third context is refused ("already open on another
//      device"); unknown and malformed codes get their own pages; the phone's
//      funnel events count for the TV's placement (admin analytics API);
//   2b. a returning shopper (the phone's buyer ticked "Remember me") confirms on
//      the TV instead: "I've bought here before", the email on the on-screen
//      keyboard, the emailed code (from the demo's log) on the number pad, all
//      with the arrow keys and Enter only; the TV shows "Paid — order #…";
//   3. an ad through the demo ad server: publisher → ad server frame → creative →
//      checkout, three origins; buy inside it; the publisher page never navigates;
//   4. an ad chain whose outer origin is not allowed is refused;
//   5. the placement's IAB creative zip downloads.
// Screenshots go to target/e2e/.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
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
const STEP_TIMEOUT_MS = 15_000;
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
async function check(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'anycart-e2e-'));
  const child = spawn(BIN, ['serve', '--demo', '--addr', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  serverLog = () => stderr;
  const deadline = Date.now() + 60_000;
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  while (!/demo\.json/.test(out) || !existsSync(join(dir, 'demo.json'))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const demo = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8'));
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${demo.base_url}/healthz`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, demo };
}

/** The server's log so far (the demo writes sign-in codes there). */
let serverLog = () => '';

/** Waits for the newest sign-in code the demo server logged for `email` after `after`. */
async function codeFromLog(email, after) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const found = [...serverLog().slice(after).matchAll(/demo sign-in code email=(\S+) code=(\d{6})/g)].filter((m) => m[1] === email);
    if (found.length) return found[found.length - 1][2];
    if (Date.now() > deadline) throw new Error(`no sign-in code for ${email} in the server log`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Types `text` on the TV's on-screen keyboard with the arrow keys and Enter only:
 * for each character (or the one key `text` when `oneKey`), up or down to its
 * row, then along the row to it, then Enter. */
async function typeOnTv(page, frame, text, oneKey = false) {
  const here = () => frame.evaluate(() => ({ row: Number(document.activeElement.dataset.row), col: Number(document.activeElement.dataset.col) }));
  for (const ch of oneKey ? [text] : [...text]) {
    const target = frame.locator(`[data-key="${ch}"]`);
    const to = { row: Number(await target.getAttribute('data-row')), col: Number(await target.getAttribute('data-col')) };
    for (let at = await here(), n = 0; at.row !== to.row && n < 10; at = await here(), n++) await page.keyboard.press(to.row > at.row ? 'ArrowDown' : 'ArrowUp');
    for (let at = await here(), n = 0; at.col !== to.col && n < 12; at = await here(), n++) await page.keyboard.press(to.col > at.col ? 'ArrowRight' : 'ArrowLeft');
    assert.equal(await frame.evaluate(() => document.activeElement.dataset.key), ch, `the arrows reach ${ch}`);
    await page.keyboard.press('Enter');
  }
}

async function admin(demo, method, path, body) {
  const res = await fetch(`${demo.base_url}/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${demo.secret_key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function frameWith(page, part) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const f = page.frames().find((fr) => fr.url().includes(part));
    if (f) return f;
    if (Date.now() > deadline) throw new Error(`no frame with ${part}`);
    await page.waitForTimeout(50);
  }
}

/** Contact, shipping and a good card in the checkout app `frame` ("Remember me"
 * ticked when `remember`). */
async function payInWidget(frame, email, remember = false) {
  await frame.getByLabel('Email').fill(email);
  await frame.getByLabel('Full name').fill('Grace Hopper');
  await frame.getByLabel('Address').fill('1 Market St');
  await frame.getByLabel('City').fill('San Francisco');
  await frame.getByLabel('State / region').fill('CA');
  await frame.getByLabel('Postal code').fill('94105');
  await frame.getByRole('button', { name: 'Continue', exact: true }).click();
  await frame.getByRole('heading', { name: 'Shipping & total' }).waitFor();
  await frame.getByRole('button', { name: 'Continue to payment' }).click();
  await frame.getByLabel('Card number').fill('4242 4242 4242 4242');
  await frame.getByLabel('Expiry (MM/YY)').fill('12/30');
  await frame.getByLabel('CVC').fill('123');
  if (remember) await frame.getByLabel('Remember me for faster checkout').check();
  await frame.getByRole('button', { name: /^Pay / }).click();
  const number = frame.getByTestId('order-number');
  await number.waitFor();
  return (await number.textContent()).replace('#', '');
}

const focusedId = (frame) => frame.evaluate(() => document.activeElement?.id ?? '');

const { child, demo } = await startServer();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  assert.ok(demo.tv_page_url && demo.ad_server_page_url, 'demo.json lists tv_page_url and ad_server_page_url');
  let code = '';

  await check('TV: arrows and Enter buy 2; the phone finishes the hand-off; the TV shows Paid', async () => {
    const tv = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    tv.setDefaultTimeout(STEP_TIMEOUT_MS);
    await tv.goto(demo.tv_page_url);
    const frame = await frameWith(tv, '/tv/plc_');
    await frame.locator('#buy').waitFor();
    await tv.locator('#tv').focus();
    assert.equal(await focusedId(frame), 'buy', 'Buy has the focus first');
    assert.ok(await frame.locator('#buy').evaluate((b) => parseFloat(getComputedStyle(b).outlineWidth) >= 5), 'a large focus ring');
    await tv.keyboard.press('ArrowUp');
    assert.equal(await focusedId(frame), 'less');
    await tv.keyboard.press('ArrowRight');
    assert.equal(await focusedId(frame), 'more');
    await tv.keyboard.press('Enter');
    assert.equal(await frame.getByTestId('quantity').textContent(), '2');
    await tv.keyboard.press('ArrowDown');
    assert.equal(await focusedId(frame), 'buy');
    await tv.screenshot({ path: join(SHOTS, 'tv-1-product.png') });
    await tv.keyboard.press('Enter');
    const shown = frame.getByTestId('handoff-code');
    await shown.waitFor();
    code = await shown.getAttribute('data-code');
    assert.match(code, /^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}$/);
    assert.equal(await shown.textContent(), `${code.slice(0, 4)}-${code.slice(4)}`);
    assert.equal(await frame.locator('.qr svg').count(), 1, 'the QR code is drawn');
    await tv.screenshot({ path: join(SHOTS, 'tv-2-handoff.png') });

    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const phone = await phoneCtx.newPage();
    phone.setDefaultTimeout(STEP_TIMEOUT_MS);
    const opened = await phone.goto(`${demo.base_url}/h/${code.toLowerCase()}`);
    assert.equal(opened.status(), 200);
    const order = await payInWidget(phone.mainFrame(), 'grace@example.com', true);
    await phone.screenshot({ path: join(SHOTS, 'tv-3-phone-paid.png') });
    const paid = frame.getByTestId('tv-paid');
    await paid.waitFor();
    assert.equal(await paid.textContent(), `Paid — order #${order}`);
    await tv.screenshot({ path: join(SHOTS, 'tv-4-paid.png') });
    const orders = await admin(demo, 'GET', '/orders');
    const mine = orders.body.data.find((o) => String(o.number) === order);
    assert.ok(mine, `order ${order} in the admin API`);
    assert.equal(mine.line_items[0].quantity, 2, 'the two units the TV held');
    // The phone's checkout app reported the funnel for the TV's placement.
    const tvPlacement = frame.url().match(/\/tv\/(plc_[0-9a-f]+)/)[1];
    let funnel = null;
    for (let i = 0; i < 100; i++) {
      funnel = await admin(demo, 'GET', `/analytics/funnel?placement=${tvPlacement}`);
      if (funnel.body?.steps?.find((x) => x.step === 'paid')?.count >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const count = (step) => funnel.body.steps.find((x) => x.step === step).count;
    assert.ok(count('paid') >= 1 && count('checkout_started') >= 1 && count('payment_attempted') >= 1, `the hand-off in the funnel: ${JSON.stringify(funnel.body.steps)}`);
    // Reloading on the same phone is fine; the checkout has ended by now.
    const again = await phone.goto(`${demo.base_url}/h/${code}`);
    assert.equal(again.status(), 410);
    await phoneCtx.close();
    await tv.close();
  });

  await check('a reused code on another phone, an unknown and a malformed code are refused', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const reused = await page.goto(`${demo.base_url}/h/${code}`);
    assert.equal(reused.status(), 409);
    assert.match(await page.locator('[data-code="handoff_taken"]').textContent(), /already open on another device/);
    const unknown = await page.goto(`${demo.base_url}/h/2222-2222`);
    assert.equal(unknown.status(), 404);
    await page.locator('[data-code="handoff_unknown"]').waitFor();
    const typed = await page.goto(`${demo.base_url}/h?code=not-a-code`);
    assert.equal(typed.status(), 200);
    await page.locator('[data-code="handoff_malformed"]').waitFor();
    await ctx.close();
  });

  await check('TV: a returning shopper confirms on the TV with the emailed code, arrows and Enter only', async () => {
    const tv = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    tv.setDefaultTimeout(STEP_TIMEOUT_MS);
    await tv.goto(demo.tv_page_url);
    const frame = await frameWith(tv, '/tv/plc_');
    await frame.locator('#buy').waitFor();
    await tv.locator('#tv').focus();
    assert.equal(await focusedId(frame), 'buy');
    await tv.keyboard.press('Enter');
    await frame.getByTestId('handoff-code').waitFor();
    assert.equal(await focusedId(frame), 'cancel');
    await tv.keyboard.press('ArrowLeft');
    assert.equal(await focusedId(frame), 'returning', "I've bought here before");
    await tv.keyboard.press('Enter');
    await frame.getByTestId('tv-email').waitFor();
    await typeOnTv(tv, frame, 'grace@example');
    await typeOnTv(tv, frame, '.com', true);
    assert.equal(await frame.getByTestId('tv-email').textContent(), 'grace@example.com');
    await tv.screenshot({ path: join(SHOTS, 'tv-5-keyboard.png') });
    const logAt = serverLog().length;
    // Down from the last row of keys, then left, reaches "Email me a code".
    await tv.keyboard.press('ArrowDown');
    for (let i = 0; i < 3 && (await focusedId(frame)) !== 'send-code'; i++) await tv.keyboard.press('ArrowLeft');
    assert.equal(await focusedId(frame), 'send-code');
    await tv.keyboard.press('Enter');
    await frame.getByTestId('tv-otp').waitFor();
    const otp = await codeFromLog('grace@example.com', logAt);
    // A wrong code first: refused on the TV, and the right one still works.
    await typeOnTv(tv, frame, otp === '000000' ? '111111' : '000000');
    assert.equal(await focusedId(frame), 'confirm', 'the pad moves on to Confirm after six digits');
    await tv.keyboard.press('Enter');
    await frame.locator('[role="alert"]').waitFor();
    await typeOnTv(tv, frame, otp);
    await tv.screenshot({ path: join(SHOTS, 'tv-6-code.png') });
    await tv.keyboard.press('Enter');
    const paid = frame.getByTestId('tv-paid');
    await paid.waitFor();
    const number = (await paid.textContent()).match(/^Paid — order #(\d+)$/)?.[1];
    assert.ok(number, await paid.textContent());
    await tv.screenshot({ path: join(SHOTS, 'tv-7-returning-paid.png') });
    const orders = await admin(demo, 'GET', '/orders');
    const mine = orders.body.data.find((o) => String(o.number) === number);
    assert.ok(mine, `order ${number} in the admin API`);
    await tv.close();
  });

  let adServerOrigin = '';
  await check('an ad through an ad server: three origins, buy inside, the publisher never navigates', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
    await page.goto(demo.ad_server_page_url);
    const frame = await frameWith(page, '/widget/checkout/');
    const origins = new Set(page.frames().map((f) => new URL(f.url()).origin));
    adServerOrigin = new URL((await frameWith(page, '/adserver/creative')).url()).origin;
    assert.equal(origins.size, 3, `publisher, ad server and anycart: ${[...origins]}`);
    assert.ok(frame.parentFrame().url().includes('/adserver/creative'), 'the checkout sits in the creative');
    await frame.getByRole('button', { name: 'Buy now' }).click();
    const order = await payInWidget(frame, 'ads@example.com');
    assert.match(order, /^\d+$/);
    assert.equal(navigations, 1, 'only the first load');
    await page.screenshot({ path: join(SHOTS, 'ads-1-paid.png') });
    await page.close();
  });

  await check('an ad chain whose outer origin is not allowed is refused', async () => {
    const ad = await admin(demo, 'GET', `/placements/${demo.ad_server_placement}`);
    const created = await admin(demo, 'POST', '/placements', {
      product_id: ad.body.product_id,
      channel: 'display_ad',
      allowed_origins: [adServerOrigin],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.goto(`${demo.ad_server_page_url}?placement=${created.body.id}`);
    const frame = await frameWith(page, '/widget/checkout/');
    assert.match(await frame.locator('[data-code="origin_not_allowed"]').textContent(), /not available on this website/);
    await page.screenshot({ path: join(SHOTS, 'ads-2-refused.png') });
    await page.close();
  });

  await check('the placement downloads as an IAB HTML5 creative zip', async () => {
    const res = await fetch(`${demo.base_url}/v1/placements/${demo.ad_server_placement}/creative.zip?size=300x250`, {
      headers: { Authorization: `Bearer ${demo.secret_key}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.subarray(0, 2).toString(), 'PK');
    const bad = await fetch(`${demo.base_url}/v1/placements/${demo.ad_server_placement}/creative.zip?size=728x90`, {
      headers: { Authorization: `Bearer ${demo.secret_key}` },
    });
    assert.equal(bad.status, 400);
  });

  console.log(`surfaces: ${passed} checks passed`);
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
