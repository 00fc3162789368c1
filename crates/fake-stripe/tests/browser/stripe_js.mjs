// Browser test of the Stripe.js stand-in (assets/stripe-v3.js), run by
// tests/api/stripe_js.rs against a running fake: it serves a host page on another
// origin that loads <fake>/v3, then drives Debian's Chromium through
// playwright-core. This script plays the merchant's server too (it creates and
// confirms PaymentIntents with the secret key).
//
// Env: FAKE_STRIPE_URL, FAKE_STRIPE_SECRET_KEY, FAKE_STRIPE_PUBLISHABLE_KEY,
// FAKE_STRIPE_NODE_MODULES (holds playwright-core), CHROMIUM_PATH.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const FAKE = process.env.FAKE_STRIPE_URL;
const SK = process.env.FAKE_STRIPE_SECRET_KEY;
const PK = process.env.FAKE_STRIPE_PUBLISHABLE_KEY;
const require = createRequire(join(process.env.FAKE_STRIPE_NODE_MODULES, 'noop.js'));
const { chromium } = require('playwright-core');
const STEP_TIMEOUT_MS = 10_000;

/** The merchant's server: create and confirm a PaymentIntent with `pm`. */
async function serverPay(pm, amount = 2000) {
  const body = new URLSearchParams({
    amount: String(amount), currency: 'usd', payment_method: pm, confirm: 'true',
    'automatic_payment_methods[enabled]': 'true', 'automatic_payment_methods[allow_redirects]': 'never',
  });
  const r = await fetch(`${FAKE}/v1/payment_intents`, {
    method: 'POST', body, headers: { Authorization: `Bearer ${SK}` },
  });
  return { status: r.status, body: await r.json() };
}

const page_html = `<!doctype html><html><head><title>host</title></head><body>
<script src="${FAKE}/v3"></script>
<div id="pe"></div><div id="ece"></div>
</body></html>`;

// The host page's CSP is as strict as anycart's checkout iframe: scripts and
// styles from the fake's origin only, no 'unsafe-inline'.
const CSP = `default-src 'none'; script-src ${FAKE}; style-src ${FAKE}; connect-src ${FAKE}`;
const host = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': CSP });
  res.end(page_html);
});
await new Promise((r) => host.listen(0, '127.0.0.1', r));
const HOST = `http://127.0.0.1:${host.address().port}/`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH, args: ['--no-sandbox'] });
let passed = 0;
async function check(name, fn) {
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const blocked = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  try {
    await page.goto(HOST);
    await fn(page);
    assert.deepEqual(blocked, [], 'the stand-in does nothing the CSP blocks');
    passed += 1;
    console.log(`  ok  ${name}`);
  } finally {
    await page.close();
  }
}

async function paymentElement(page) {
  await page.evaluate((pk) => {
    window.stripe = Stripe(pk);
    window.elements = stripe.elements({ mode: 'payment', amount: 2000, currency: 'usd' });
    window.changes = [];
    const pe = elements.create('payment');
    pe.on('change', (e) => changes.push(e));
    pe.mount('#pe');
  }, PK);
}

async function typeCard(page, number) {
  for (const label of ['Card number', 'Expiration date', 'Security code']) await page.getByLabel(label).fill('');
  await page.getByLabel('Card number').pressSequentially(number);
  await page.getByLabel('Expiration date').pressSequentially('1234');
  await page.getByLabel('Security code').pressSequentially('123');
}

async function createPm(page) {
  return page.evaluate(async () => {
    const submitted = await elements.submit();
    if (submitted.error) return submitted;
    return stripe.createPaymentMethod({ elements });
  });
}

try {
  await check('card fields are labelled, validated and formatted like the Payment Element', async (page) => {
    await paymentElement(page);
    for (const label of ['Card number', 'Expiration date', 'Security code', 'Country']) {
      await page.getByLabel(label).waitFor();
    }
    assert.equal(await page.getByLabel('Expiration date').getAttribute('placeholder'), 'MM / YY');
    const empty = await page.evaluate(() => elements.submit());
    assert.equal(empty.error.code, 'incomplete_number');
    await page.getByText('Your card number is incomplete.').waitFor();
    const early = await page.evaluate(() => stripe.createPaymentMethod({ elements }).then(() => 'resolved', (e) => e.name));
    assert.equal(early, 'IntegrationError', 'createPaymentMethod needs elements.submit() first');
    await typeCard(page, '4242424242424242');
    assert.equal(await page.getByLabel('Card number').inputValue(), '4242 4242 4242 4242');
    assert.equal(await page.getByLabel('Expiration date').inputValue(), '12 / 34');
    const last = await page.evaluate(() => changes[changes.length - 1]);
    assert.equal(last.complete, true);
    assert.equal(last.empty, false);
  });

  await check('4242 makes a PaymentMethod that succeeds; 0002 one that declines', async (page) => {
    await paymentElement(page);
    await typeCard(page, '4242 4242 4242 4242');
    const ok = await createPm(page);
    assert.match(ok.paymentMethod.id, /^pm_/);
    assert.equal(ok.paymentMethod.card.brand, 'visa');
    assert.equal(ok.paymentMethod.card.last4, '4242');
    assert.equal((await serverPay(ok.paymentMethod.id)).body.status, 'succeeded');
    await typeCard(page, '4000000000000002');
    const declining = await createPm(page);
    const paid = await serverPay(declining.paymentMethod.id);
    assert.equal(paid.status, 402);
    assert.equal(paid.body.error.decline_code, 'generic_decline');
  });

  for (const [button, status] of [['Complete', 'succeeded'], ['Fail', 'payment_intent_authentication_failure']]) {
    await check(`3184 asks for 3-D Secure; "${button}" in the dialog gives ${status}`, async (page) => {
      await paymentElement(page);
      await typeCard(page, '4000 0027 6000 3184');
      const { paymentMethod } = await createPm(page);
      const pi = (await serverPay(paymentMethod.id)).body;
      assert.equal(pi.status, 'requires_action');
      await page.evaluate((cs) => { window.next = stripe.handleNextAction({ clientSecret: cs }); }, pi.client_secret);
      const dialog = page.getByRole('dialog', { name: '3-D Secure' });
      await dialog.waitFor();
      // Styled by the stylesheet on the fake's origin, not by an inline <style> the CSP would block.
      assert.equal(await page.locator('[data-fake-stripe="dialog"]').evaluate((o) => getComputedStyle(o).position), 'fixed');
      await dialog.getByRole('button', { name: button }).click();
      const result = await page.evaluate(() => window.next);
      if (button === 'Complete') {
        assert.equal(result.paymentIntent.status, 'succeeded');
      } else {
        assert.equal(result.error.code, 'payment_intent_authentication_failure');
        assert.equal(result.error.payment_intent.status, 'requires_payment_method');
      }
      assert.equal(await page.getByRole('dialog').count(), 0, 'the dialog closes');
    });
  }

  await check('Express Checkout: click, sheet, address and rate changes, confirm, a wallet PaymentMethod', async (page) => {
    await page.evaluate((pk) => {
      window.stripe = Stripe(pk);
      window.elements = stripe.elements({ mode: 'payment', amount: 2000, currency: 'usd' });
      window.seen = {};
      const ece = elements.create('expressCheckout');
      ece.on('ready', (e) => { seen.ready = e.availablePaymentMethods; });
      ece.on('click', (e) => e.resolve({
        emailRequired: true, shippingAddressRequired: true,
        shippingRates: [{ id: 'std', amount: 500, displayName: 'Standard' }],
      }));
      ece.on('shippingaddresschange', (e) => {
        seen.address = e.address;
        setTimeout(() => e.resolve({ shippingRates: [
          { id: 'std', amount: 500, displayName: 'Standard' }, { id: 'exp', amount: 1500, displayName: 'Express' }] }), 50);
      });
      ece.on('shippingratechange', (e) => { seen.rate = e.shippingRate.id; e.resolve({}); });
      ece.on('confirm', async (e) => {
        seen.confirm = { type: e.expressPaymentType, billing: e.billingDetails, shipping: e.shippingAddress, rate: e.shippingRate };
        await elements.submit();
        seen.pm = await stripe.createPaymentMethod({ elements });
      });
      ece.mount('#ece');
    }, PK);
    await page.waitForFunction(() => window.seen.ready);
    assert.deepEqual(await page.evaluate(() => seen.ready), { applePay: true, googlePay: true, link: false, paypal: false, amazonPay: false });
    await page.getByRole('button', { name: 'Apple Pay' }).click();
    const sheet = page.getByRole('dialog', { name: 'Apple Pay (test wallet)' });
    await sheet.waitFor();
    await sheet.getByText('jenny.rosen@example.com').waitFor();
    await sheet.getByLabel(/Express/).check();
    await page.waitForFunction(() => window.seen.rate === 'exp');
    await sheet.getByRole('button', { name: 'Pay' }).click();
    await page.waitForFunction(() => window.seen.pm);
    const seen = await page.evaluate(() => window.seen);
    assert.deepEqual(seen.address, { city: 'San Francisco', state: 'CA', postal_code: '94105', country: 'US' }, 'redacted as on Stripe');
    assert.equal(seen.confirm.type, 'apple_pay');
    assert.equal(seen.confirm.billing.email, 'jenny.rosen@example.com');
    assert.equal(seen.confirm.shipping.address.line1, '1 Market Street');
    assert.equal(seen.confirm.rate.id, 'exp');
    assert.equal(seen.pm.paymentMethod.card.wallet.type, 'apple_pay');
    assert.equal((await serverPay(seen.pm.paymentMethod.id)).body.status, 'succeeded');
  });

  await check('no wallet buttons when window.__fakeStripeWallets is false', async (page) => {
    await page.evaluate((pk) => {
      window.__fakeStripeWallets = false;
      window.seen = {};
      const ece = Stripe(pk).elements({ mode: 'payment', amount: 100, currency: 'usd' }).create('expressCheckout');
      ece.on('ready', (e) => { seen.ready = true; seen.available = e.availablePaymentMethods; });
      ece.mount('#ece');
    }, PK);
    await page.waitForFunction(() => window.seen.ready);
    assert.equal(await page.evaluate(() => window.seen.available), undefined);
    assert.equal(await page.getByRole('button', { name: 'Apple Pay' }).count(), 0);
  });
} finally {
  await browser.close();
  host.close();
}
console.log(`stripe.js stand-in: ${passed} browser checks passed`);
