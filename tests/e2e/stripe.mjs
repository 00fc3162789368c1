// Browser test of the checkout paid through Stripe, run by scripts/test (and so by CI).
//
// Starts the fake Stripe (`target/debug/fake-stripe`, whose /v3 is a Stripe.js
// stand-in) and `anycart serve --demo`, switches the demo merchant to Stripe with
// the fake's keys (`PUT /v1/payment_provider`, `api_base` = the fake), then drives
// Debian's Chromium through playwright-core inside the demo's 300×250 ad:
//   a. a card in the Payment Element (4242 4242 4242 4242), "Remember me" ticked;
//   b. a declined card (…0002): the decline shows in place, then 4242 pays;
//   c. a 3-D Secure card (…3184) through the stand-in's challenge dialog (failed,
//      then passed);
//   d. a new shopper with the wallet stand-in ("Google Pay"): "Buy now", then the
//      wallet's button, no typing (address and email come from the wallet), with
//      another rate picked in the wallet's sheet;
// then: closing the sheet puts back the typed address; Stripe.js unreachable (said
// once, "Pay" retries); no wallet buttons on a device without wallets; the article
// (fluid) and 300×600 layouts.
// For each: the order in the admin API, exactly one succeeded PaymentIntent at the
// fake with the order's id in its metadata, a host page that never navigated, the
// primary button inside the 300×250 slot at every step, and no CSP violation.
// Screenshots go to target/e2e/ (stripe-*.png).
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
const FAKE_BIN = process.env.FAKE_STRIPE_BIN ?? join(repo, 'target', 'debug', 'fake-stripe');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(repo, 'target', 'e2e');
const STEP_TIMEOUT_MS = 15_000;
const SLOT = { width: 300, height: 250 };
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
async function check(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

/** Spawns `bin args` and waits until `ready(stdout)` returns a value. */
async function startProcess(bin, args, ready) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = ready(out);
    if (value) return { child, value, log: () => err };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${bin} did not start:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startFakeStripe() {
  const { child, value } = await startProcess(FAKE_BIN, ['--addr', '127.0.0.1:0'], (out) => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? JSON.parse(line) : null;
  });
  return { child, fake: value };
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'anycart-e2e-stripe-'));
  const { child } = await startProcess(BIN, ['serve', '--demo', '--addr', '127.0.0.1:0', '--data-dir', dir],
    (out) => /demo\.json/.test(out) && existsSync(join(dir, 'demo.json')));
  const demo = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8'));
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${demo.base_url}/healthz`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, demo };
}

async function admin(demo, method, path, body) {
  const res = await fetch(`${demo.base_url}/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${demo.secret_key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function checkoutFrame(page) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const f = page.frames().find((fr) => fr.url().includes('/widget/checkout/'));
    if (f) return f;
    if (Date.now() > deadline) throw new Error('no checkout iframe');
    await page.waitForTimeout(50);
  }
}

/** Waits for the widget's error region to carry one of `codes`; says what it shows instead. */
async function expectCodes(frame, codes) {
  const sel = codes.map((c) => `[data-codes~="${c}"]`).join(', ');
  try {
    await frame.locator(sel).waitFor({ state: 'attached' });
  } catch (e) {
    const shown = await frame.getByTestId('errors').evaluate((el) => `${el.dataset.codes}: ${el.textContent}`).catch(() => '?');
    throw new Error(`expected ${codes.join('|')}, widget shows ${shown}`, { cause: e });
  }
}

/** The 300×250 ad page, watched: main-frame navigations, CSP violations, requests. */
async function openAd(context, demo) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const watch = { navigations: 0, csp: [], requests: [] };
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) watch.navigations += 1; });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) watch.csp.push(m.text()); });
  page.on('request', (r) => watch.requests.push(r.url()));
  await page.goto(demo.ad_page_url);
  const frame = await checkoutFrame(page);
  await frame.getByRole('button', { name: 'Buy now' }).waitFor();
  const slot = await page.locator('anycart-checkout').boundingBox();
  assert.deepEqual([Math.round(slot.width), Math.round(slot.height)], [SLOT.width, SLOT.height]);
  return { page, frame, slot, watch };
}

/** `locator`'s box lies inside the ad slot (so the shopper can see and press it). */
async function insideSlot(ad, locator, what) {
  // (Read again if a re-render, e.g. Stripe's element reporting ready, replaced the node.)
  let b = null;
  for (let i = 0; i < 40 && !b; i++) {
    await locator.waitFor();
    b = await locator.boundingBox().catch(() => null);
  }
  const s = ad.slot;
  const inside = b && b.x >= s.x - 0.5 && b.y >= s.y - 0.5 && b.x + b.width <= s.x + s.width + 0.5 && b.y + b.height <= s.y + s.height + 0.5;
  assert.ok(inside, `${what} at ${JSON.stringify(b)} is outside the 300×250 slot ${JSON.stringify(s)}`);
}

/** The step's primary button (Buy now, Continue, Pay) is inside the slot; a screenshot. */
async function step(ad, heading, shot) {
  if (heading) await ad.frame.getByRole('heading', { name: heading }).waitFor();
  await insideSlot(ad, ad.frame.locator('button.primary').first(), `the primary button (${heading ?? 'product'})`);
  await ad.page.screenshot({ path: join(SHOTS, `stripe-${shot}.png`) });
}

async function fillContact(frame, email) {
  await frame.getByLabel('Email').fill(email);
  await frame.getByLabel('Full name').fill('Ada Lovelace');
  await frame.getByLabel('Address').fill('1 Market St');
  await frame.getByLabel('City').fill('San Francisco');
  await frame.getByLabel('State / region').fill('CA');
  await frame.getByLabel('Postal code').fill('94105');
}

/** The Payment Element stand-in's fields (cleared first: a retry types a new card). */
async function typeCard(frame, number) {
  for (const label of ['Card number', 'Expiration date', 'Security code']) await frame.getByLabel(label).fill('');
  await frame.getByLabel('Card number').pressSequentially(number);
  await frame.getByLabel('Expiration date').pressSequentially('1234');
  await frame.getByLabel('Security code').pressSequentially('123');
}

/** Product → contact → review → payment, each step's button inside the slot. */
async function toPayment(ad, email, shot) {
  const { frame } = ad;
  await step(ad, null, `${shot}-1-product`);
  await frame.getByRole('button', { name: 'Buy now' }).click();
  await step(ad, 'Contact & delivery', `${shot}-2-contact`);
  await fillContact(frame, email);
  await frame.getByRole('button', { name: 'Continue', exact: true }).click();
  await step(ad, 'Shipping & total', `${shot}-3-review`);
  await frame.getByRole('button', { name: 'Continue to payment' }).click();
  await frame.getByLabel('Card number').waitFor();
  await step(ad, 'Payment', `${shot}-4-payment`);
}

/** Product → payment when the card form cannot show (Stripe.js unreachable). */
async function toPaymentWithoutCard(ad, email) {
  const { frame } = ad;
  await frame.getByRole('button', { name: 'Buy now' }).click();
  await frame.getByRole('heading', { name: 'Contact & delivery' }).waitFor();
  await fillContact(frame, email);
  await frame.getByRole('button', { name: 'Continue', exact: true }).click();
  await frame.getByRole('button', { name: 'Continue to payment' }).click();
  await step(ad, 'Payment', 'h-payment-without-card');
}

/** The order the host page was told about, checked in the admin API and at the fake Stripe. */
async function paidOnce(ad, demo, fake) {
  const number = ad.frame.getByTestId('order-number');
  await number.waitFor();
  const logged = ad.page.locator('#log li[data-event="complete"]').last();
  await logged.waitFor();
  const detail = JSON.parse((await logged.textContent()).replace(/^complete /, ''));
  assert.match(detail.order.id, /^ord_/);
  assert.equal(`#${detail.order.order_number}`, await number.textContent());
  const order = await admin(demo, 'GET', `/orders/${detail.order.id}`);
  assert.equal(order.status, 200, JSON.stringify(order.body));
  assert.equal(order.body.payment_provider, 'stripe');
  const listed = await admin(demo, 'GET', '/orders?limit=100');
  assert.ok(listed.body.data.some((o) => o.id === detail.order.id), 'GET /v1/orders lists the order');
  const intents = await (await fetch(`${fake.base_url}/test_control/payment_intents`)).json();
  const mine = intents.filter((pi) => pi.metadata?.anycart_order_id === detail.order.id);
  assert.equal(mine.filter((pi) => pi.status === 'succeeded').length, 1, `one succeeded PaymentIntent for ${detail.order.id}: ${JSON.stringify(mine)}`);
  const pi = mine.find((p) => p.status === 'succeeded');
  assert.equal(order.body.payment_reference, pi.id);
  assert.equal(pi.amount, order.body.totals.total_minor, 'Stripe charged the order\'s total');
  assert.equal(ad.watch.navigations, 1, 'the host page navigated');
  assert.equal(ad.page.url(), demo.ad_page_url);
  assert.deepEqual(ad.watch.csp, [], 'nothing was blocked by a Content-Security-Policy');
  return { order: order.body, intent: pi };
}

const { child: fakeChild, fake } = await startFakeStripe();
const { child, demo } = await startServer();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const put = await admin(demo, 'PUT', '/payment_provider', {
    provider: 'stripe',
    secret_key: fake.secret_key,
    publishable_key: fake.publishable_key,
    webhook_secret: fake.webhook_secret,
    api_base: fake.base_url,
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const fakeOrigin = new URL(fake.base_url).origin;

  await check('a card in the Payment Element pays inside the 300×250 ad; Stripe.js loads only after "Buy now"', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const ad = await openAd(context, demo);
    assert.ok(!ad.watch.requests.some((u) => u.startsWith(fakeOrigin)), 'Stripe.js is not loaded before the shopper buys');
    await toPayment(ad, 'card@example.com', 'a');
    assert.ok(ad.watch.requests.some((u) => u.startsWith(`${fakeOrigin}/v3`)), 'Stripe.js came from the Stripe origin in the config');
    await typeCard(ad.frame, '4242424242424242');
    const remember = ad.frame.getByLabel('Remember me for faster checkout');
    assert.equal(await remember.isChecked(), false, 'saving is opt-in');
    await remember.check();
    await step(ad, 'Payment', 'a-5-card-typed');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    const { intent } = await paidOnce(ad, demo, fake);
    assert.ok(ad.watch.requests.some((u) => u.endsWith('/widget/shoppers/remember')), '"Remember me" is sent before paying');
    const pms = ad.watch.requests.filter((u) => u === `${fakeOrigin}/v1/payment_methods`);
    assert.equal(pms.length, 1, 'the card went to Stripe (a PaymentMethod), never to anycart');
    assert.ok(!ad.watch.requests.some((u) => u.includes('/v1/sandbox/tokens')));
    assert.match(intent.payment_method, /^pm_/);
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-a-6-confirmed.png') });
    await context.close();
  });

  await check('a declined card shows the decline in place with the card form still there; then 4242 pays', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const ad = await openAd(context, demo);
    await toPayment(ad, 'declined@example.com', 'b');
    await typeCard(ad.frame, '4000000000000002');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    await expectCodes(ad.frame, ['payment_declined']);
    const errors = ad.frame.getByTestId('errors');
    assert.equal(await errors.getAttribute('aria-live'), 'assertive');
    assert.ok((await errors.textContent()).length > 0);
    await ad.frame.getByLabel('Card number').waitFor();
    await step(ad, 'Payment', 'b-5-declined');
    await typeCard(ad.frame, '4242 4242 4242 4242');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    await paidOnce(ad, demo, fake);
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-b-6-confirmed.png') });
    await context.close();
  });

  await check('a 3-D Secure card: a failed challenge declines in place, a passed one pays (Stripe.js\'s dialog in the iframe)', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const ad = await openAd(context, demo);
    await toPayment(ad, 'threeds@example.com', 'c');
    // A failed challenge first: a decline in place, nothing charged.
    await typeCard(ad.frame, '4000 0027 6000 3184');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    const dialog = ad.frame.getByRole('dialog', { name: '3-D Secure' });
    await dialog.getByRole('button', { name: 'Fail' }).click();
    await expectCodes(ad.frame, ['payment_declined']);
    await step(ad, 'Payment', 'c-5-3ds-failed');
    // Then the shopper passes it.
    await typeCard(ad.frame, '4000 0027 6000 3184');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    await dialog.waitFor();
    await insideSlot(ad, dialog.getByRole('button', { name: 'Complete' }), 'the challenge\'s button');
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-c-6-3ds.png') });
    await dialog.getByRole('button', { name: 'Complete' }).click();
    await paidOnce(ad, demo, fake);
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-c-7-confirmed.png') });
    await context.close();
  });

  await check('a new shopper pays with the wallet in two taps: "Buy now", then "Google Pay", nothing typed', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const ad = await openAd(context, demo);
    // Nothing is typed below: every detail comes from the wallet.
    await step(ad, null, 'd-1-product');
    await ad.frame.getByRole('button', { name: 'Buy now' }).click();
    const wallet = ad.frame.getByRole('button', { name: 'Google Pay' });
    await insideSlot(ad, wallet, 'the Google Pay button');
    await step(ad, 'Contact & delivery', 'd-2-wallet-button');
    await wallet.click();
    const sheet = ad.frame.getByRole('dialog', { name: 'Google Pay (test wallet)' });
    await sheet.waitFor();
    // The sheet asked for the address; the session quoted its rates for the wallet's region.
    await sheet.getByRole('radio').first().waitFor();
    assert.ok((await sheet.getByRole('radio').count()) >= 1, 'shipping rates from the session');
    await sheet.getByText('jenny.rosen@example.com').waitFor();
    // Another rate picked in the sheet is selected on the session, and the total follows.
    const standardTotal = await sheet.getByText(/^Total /).textContent();
    await sheet.getByLabel(/^Express /).check();
    await ad.frame.waitForFunction((t) => !document.body.innerText.includes(t), standardTotal);
    const pay = sheet.getByRole('button', { name: 'Pay' });
    // The stand-in's sheet is page content (a real wallet's sheet is the browser's
    // own window): taller than the ad, it scrolls inside it.
    await pay.scrollIntoViewIfNeeded();
    await insideSlot(ad, pay, 'the wallet sheet\'s Pay button');
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-d-3-wallet-sheet.png') });
    await pay.click();
    const { order, intent } = await paidOnce(ad, demo, fake);
    assert.equal(order.email, 'jenny.rosen@example.com', 'the email came from the wallet');
    assert.equal(order.shipping_address.line_one, '1 Market Street', 'the address came from the wallet');
    assert.equal(order.shipping_title, 'Express', 'the rate picked in the sheet');
    assert.match(intent.payment_method, /^pm_/);
    const methods = await (await fetch(`${fake.base_url}/v1/payment_methods/${intent.payment_method}`, { headers: { Authorization: `Bearer ${fake.secret_key}` } })).json();
    assert.equal(methods.card?.wallet?.type, 'google_pay', 'paid with the wallet\'s card');
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-d-4-confirmed.png') });
    await context.close();
  });

  await check('closing the wallet sheet puts back the address typed before; the card then pays', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const ad = await openAd(context, demo);
    await ad.frame.getByRole('button', { name: 'Buy now' }).click();
    await fillContact(ad.frame, 'typed@example.com');
    await ad.frame.getByRole('button', { name: 'Continue', exact: true }).click();
    await ad.frame.getByRole('heading', { name: 'Shipping & total' }).waitFor();
    await ad.frame.getByRole('button', { name: 'Apple Pay' }).click();
    const sheet = ad.frame.getByRole('dialog', { name: 'Apple Pay (test wallet)' });
    await sheet.getByRole('radio').first().waitFor();
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await sheet.waitFor({ state: 'detached' });
    await ad.frame.getByRole('button', { name: 'Continue to payment' }).click();
    await typeCard(ad.frame, '4242424242424242');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    const { order } = await paidOnce(ad, demo, fake);
    assert.equal(order.email, 'typed@example.com');
    assert.equal(order.shipping_address.line_one, '1 Market St', 'the typed street, not the wallet\'s region');
    await context.close();
  });

  await check('Stripe.js unreachable: the payment step says so without retrying in a loop, and "Pay" tries again', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    let blocked = 0;
    await context.route(`${fakeOrigin}/v3/`, (route) => { blocked += 1; return route.abort(); });
    const ad = await openAd(context, demo);
    await toPaymentWithoutCard(ad, 'offline@example.com');
    await ad.frame.getByTestId('card-loading').getByText('could not load').waitFor();
    await ad.page.waitForTimeout(500);
    assert.equal(blocked, 1, 'one attempt, not a loop');
    await ad.page.screenshot({ path: join(SHOTS, 'stripe-h-unreachable.png') });
    await context.unroute(`${fakeOrigin}/v3/`);
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    await expectCodes(ad.frame, ['stripe_unavailable']);
    await typeCard(ad.frame, '4242424242424242');
    await ad.frame.getByRole('button', { name: /^Pay / }).click();
    await paidOnce(ad, demo, fake);
    await context.close();
  });

  await check('no wallet on the device: no wallet buttons, the card form only', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    // The stand-in's switch for "this browser has neither Apple Pay nor Google Pay".
    await context.addInitScript(() => { window.__fakeStripeWallets = false; });
    const ad = await openAd(context, demo);
    await toPayment(ad, 'nowallet@example.com', 'e');
    assert.equal(await ad.frame.getByRole('button', { name: /Google Pay|Apple Pay/ }).count(), 0);
    assert.equal(await ad.frame.getByText('or', { exact: true }).isVisible(), false);
    await ad.frame.getByRole('button', { name: 'Cancel' }).click();
    await ad.frame.getByRole('button', { name: 'Buy now' }).waitFor();
    await context.close();
  });

  await check('the other layouts: the article (fluid) and a 300×600 slot', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.goto(demo.article_page_url);
    let frame = await checkoutFrame(page);
    await frame.getByRole('button', { name: 'Buy now' }).click();
    await frame.getByRole('button', { name: 'Google Pay' }).waitFor();
    await fillContact(frame, 'article@example.com');
    await frame.getByRole('button', { name: 'Continue', exact: true }).click();
    await frame.getByRole('button', { name: 'Continue to payment' }).click();
    await frame.getByLabel('Card number').waitFor();
    await page.screenshot({ path: join(SHOTS, 'stripe-f-article-payment.png'), fullPage: true });
    await frame.getByRole('button', { name: 'Cancel' }).click();
    await page.goto(`${demo.ad_page_url}?size=300x600`);
    frame = await checkoutFrame(page);
    await frame.getByRole('button', { name: 'Buy now' }).click();
    await frame.getByRole('button', { name: 'Google Pay' }).waitFor();
    await fillContact(frame, 'halfpage@example.com');
    await frame.getByRole('button', { name: 'Continue', exact: true }).click();
    await frame.getByRole('button', { name: 'Continue to payment' }).click();
    await frame.getByLabel('Card number').waitFor();
    const slot = await page.locator('anycart-checkout').boundingBox();
    assert.deepEqual([Math.round(slot.width), Math.round(slot.height)], [300, 600]);
    await insideSlot({ slot }, frame.getByRole('button', { name: /^Pay / }), 'Pay in 300×600');
    await page.screenshot({ path: join(SHOTS, 'stripe-g-300x600-payment.png') });
    await frame.getByRole('button', { name: 'Cancel' }).click();
    await context.close();
  });

  console.log(`e2e stripe: ${passed} passed; screenshots in ${SHOTS}`);
} finally {
  await browser.close();
  child.kill('SIGTERM');
  fakeChild.kill('SIGTERM');
}
