// Browser test of link checkout and the SDK app, run by scripts/test (and CI).
//
// Starts `anycart serve --demo` and drives Debian's Chromium (playwright-core):
//   1. the link checkout (`link_url`): Open Graph / Twitter tags with an absolute
//      image and the price, the product rendered before the script, interactive
//      time (performance mark), only anycart's origin; then a purchase on the page,
//      attributed to the link's placement (channel `social`);
//   2. the social post (`social_post_url`): the link card shows the image, title
//      and price unfurled from those tags, and opens the link;
//   3. the game (`app_page_url`): live stock, buy through @anycart/sdk with the
//      sandbox card, the stock figure drops, the order is attributed to `app`;
//   4. bad input: a disabled placement's link is an HTML 410 page, an unknown one
//      an HTML 404 page, and nothing is held.
// Screenshots go to target/e2e/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { admin, check, launchChromium, passed, repo, startDemo } from './harness.mjs';

const SHOTS = join(repo, 'target', 'e2e');
const STEP_TIMEOUT_MS = 15_000;
/** A generous bound: the figure is reported, the assertion only catches a hang. */
const LINK_INTERACTIVE_MS_MAX = 5_000;
mkdirSync(SHOTS, { recursive: true });


async function fillAddress(scope) {
  await scope.getByLabel('Email').fill('ada@example.com');
  await scope.getByLabel('Full name').fill('Ada Lovelace');
  await scope.getByLabel('Address').fill('1 Market St');
  await scope.getByLabel('City').fill('San Francisco');
  await scope.getByLabel(/^State/).fill('CA');
  await scope.getByLabel('Postal code').fill('94105');
}

async function orderOf(demo, orderId) {
  const order = await admin(demo, 'GET', `/orders/${orderId}`);
  assert.equal(order.status, 200, JSON.stringify(order.body));
  return order.body;
}

/** The newest order's id (the admin list is newest first). */
async function newestOrder(demo) {
  const list = await admin(demo, 'GET', '/orders');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  return list.body.data[0];
}

const { child, demo } = await startDemo();
const browser = await launchChromium();
try {
  const apiOrigin = new URL(demo.base_url).origin;
  assert.ok(demo.link_url && demo.social_post_url && demo.app_page_url, 'demo.json lists the surfaces');

  await check('link checkout: preview tags, fast first paint, buy on the page (channel social)', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    const res = await page.goto(demo.link_url);
    assert.equal(res.status(), 200);
    const meta = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('meta[property], meta[name]')]
      .map((m) => [m.getAttribute('property') ?? m.getAttribute('name'), m.getAttribute('content')])));
    assert.equal(meta['og:title'], 'Trail Runner Tee');
    assert.equal(meta['og:type'], 'product');
    assert.equal(meta['twitter:card'], 'summary_large_image');
    assert.equal(meta['product:price:amount'], '32.00');
    assert.equal(meta['product:price:currency'], 'USD');
    assert.ok(meta['og:description']);
    assert.equal(meta['og:url'], demo.link_url);
    assert.match(meta['og:image'], /^http:\/\/.+\/assets\/demo\/tee\.svg$/);
    assert.equal((await fetch(meta['og:image'])).status, 200, 'og:image resolves');
    const buy = page.getByRole('button', { name: 'Buy now' });
    await buy.waitFor();
    const interactiveMs = await page.evaluate(() => performance.getEntriesByName('anycart:interactive')[0]?.startTime ?? -1);
    const nav = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; return { ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd }; });
    assert.ok(interactiveMs > 0 && interactiveMs < LINK_INTERACTIVE_MS_MAX, `interactive at ${interactiveMs} ms`);
    const toInteractive = requests.length;
    console.log(`      link page interactive at ${interactiveMs.toFixed(0)} ms (first byte ${nav.ttfb.toFixed(0)} ms, DOMContentLoaded ${nav.dcl.toFixed(0)} ms), ${toInteractive} requests: ${requests.map((u) => new URL(u).pathname).join(', ')}`);
    assert.ok(requests.every((u) => new URL(u).origin === apiOrigin), `only anycart's origin: ${requests.join(' ')}`);
    await page.screenshot({ path: join(SHOTS, 'link-1-product.png') });

    await buy.click();
    await fillAddress(page);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.getByRole('heading', { name: 'Shipping & total' }).waitFor();
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByLabel('Expiry (MM/YY)').fill('12/30');
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: /^Pay / }).click();
    const number = page.getByTestId('order-number');
    await number.waitFor();
    await page.screenshot({ path: join(SHOTS, 'link-2-confirmed.png') });
    assert.equal(page.url(), demo.link_url, 'no redirect');
    const order = await orderOf(demo, (await newestOrder(demo)).id);
    assert.equal(`#${order.number}`, await number.textContent());
    assert.equal(order.attribution?.channel, 'social', JSON.stringify(order.attribution));
    assert.equal(order.attribution?.placement_id, demo.link_placement);
    await page.close();
  });

  await check('social post: the link card shows the image, title and price, and opens the link', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 700 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.goto(demo.social_post_url);
    const card = page.getByTestId('link-card');
    await card.waitFor();
    assert.equal(await page.getByTestId('card-title').textContent(), 'Trail Runner Tee');
    assert.equal(await page.getByTestId('card-price').textContent(), '$32.00');
    const image = page.getByTestId('card-image');
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await image.elementHandle());
    assert.equal(await card.getAttribute('href'), demo.link_url);
    await page.screenshot({ path: join(SHOTS, 'social-1-post.png') });
    await card.click();
    await page.waitForURL(demo.link_url);
    await page.getByRole('button', { name: 'Buy now' }).waitFor();
    await page.close();
  });

  await check('the game: live stock, buy through the SDK with its own UI (channel app)', async () => {
    const page = await browser.newPage({ viewport: { width: 700, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.goto(demo.app_page_url);
    await page.getByTestId('run').click();
    assert.match(await page.getByTestId('score').textContent(), /^100 m run · energy 4$/);
    await page.getByTestId('open-shop').click();
    const variant = demo.variants.find((v) => v.sku.startsWith('BTL-'));
    // The shop redraws on every stock event: wait on the selector, not on one node.
    const stockSel = `[data-testid="stock-${variant.id}"]`;
    await page.waitForFunction((sel) => /^\d+ left$/.test(document.querySelector(sel)?.textContent ?? ''), stockSel);
    const stock = page.locator(stockSel);
    const before = Number((await stock.textContent()).split(' ')[0]);
    await page.screenshot({ path: join(SHOTS, 'app-1-shop.png') });
    await page.getByTestId('shop-buy').click();
    await page.getByTestId('address-form').waitFor();
    await fillAddress(page);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('card-form').waitFor();
    assert.match(await page.getByTestId('shop-total').textContent(), /^Total \$\d+\.\d\d/);
    await page.getByRole('button', { name: /^Pay / }).click();
    const paid = page.getByTestId('shop-paid');
    await paid.waitFor();
    const orderNumber = /order #(\d+)/.exec(await paid.textContent())?.[1];
    assert.ok(orderNumber, await paid.textContent());
    assert.match(await page.getByTestId('score').textContent(), /energy 9$/);
    await page.screenshot({ path: join(SHOTS, 'app-2-paid.png') });
    const order = await orderOf(demo, (await newestOrder(demo)).id);
    assert.equal(String(order.number), orderNumber);
    assert.equal(order.attribution?.channel, 'app', JSON.stringify(order.attribution));
    await page.getByTestId('shop-close').click();
    await page.getByTestId('open-shop').click();
    // The live stream brings the sale's effect without a reload.
    await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.textContent === `${n} left`, [stockSel, before - 1]);
    await page.close();
  });

  await check('bad input: a disabled placement\'s link is an HTML 410 page, an unknown one 404', async () => {
    const off = await admin(demo, 'POST', `/placements/${demo.link_placement}/disable`);
    assert.equal(off.body.enabled, false);
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const res = await page.goto(demo.link_url);
    assert.equal(res.status(), 410);
    assert.match(res.headers()['content-type'], /^text\/html/);
    await page.getByText('This product link is no longer available.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0);
    await page.screenshot({ path: join(SHOTS, 'link-3-disabled.png') });
    const unknown = await page.goto(`${demo.base_url}/buy/plc_00000000000000000000000000`);
    assert.equal(unknown.status(), 404);
    await page.getByText('This product link does not exist.').waitFor();
    const garbage = await fetch(`${demo.base_url}/buy/%3Cscript%3E`);
    assert.equal(garbage.status, 404);
    assert.ok(!(await garbage.text()).includes('<script>'));
    await admin(demo, 'POST', `/placements/${demo.link_placement}/enable`);
    await page.close();
  });
  console.log(`e2e surfaces: ${passed()} passed; screenshots in ${join('target', 'e2e')}`);
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
