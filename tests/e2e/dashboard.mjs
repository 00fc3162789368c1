// Browser test of the merchant dashboard, run by scripts/test (and so by CI).
//
// Starts `anycart serve --demo` and a fake Shopify (a few lines of Node below that
// speak its GraphQL for order pushes), then drives Debian's Chromium through
// playwright-core as a merchant would:
//   1. a wrong password is refused in words; the printed credentials sign in;
//   2. connect Shopify through the Connections form (the fake's URL), test the
//      connection, import its catalogue with the progress shown, reconcile now;
//   3. make a placement for a campaign with a brand colour, and see that colour
//      on the Buy button of the live preview (the real widget at 300×250);
//   4. buy in the demo ad showing that placement; the order appears on the Orders
//      page and the funnel counts the sale, within seconds;
//   5. the fake Shopify refused the push: the Orders page shows the platform's
//      reason, Retry sends it again, and the order shows the platform's order id;
//   6. keyboard only: sign in, move between pages, open an order;
//   7. axe-core on every page: no serious or critical violation;
//   8. API keys: a secret key made in Settings works until it is revoked there;
//   9. install the Shopify app from the Connections page: the browser goes through
//      the fake's grant screen (OAuth, HMAC-signed callback) and back, connected,
//      with the app's webhooks subscribed through the fake's Admin API.
// Screenshots go to target/e2e/ (docs/src/images/ takes copies for the manual).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(repo, 'web', 'dashboard', 'package.json'));
const { chromium } = require('playwright-core');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BIN = process.env.ANYCART_BIN ?? join(repo, 'target', 'debug', 'anycart');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(repo, 'target', 'e2e');
const STEP_TIMEOUT_MS = 15_000;
const BRAND = '#b91c1c';
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
async function check(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

/** anycart's Shopify app as the server is configured with it (step 9). */
const APP = { clientId: 'e2e-client', secret: 'e2e-app-secret', shop: 'e2e-shop.myshopify.com' };

async function startServer(shopify) {
  const dir = mkdtempSync(join(tmpdir(), 'anycart-e2e-dash-'));
  const env = {
    ...process.env,
    ANYCART_SHOPIFY_APP_CLIENT_ID: APP.clientId,
    ANYCART_SHOPIFY_APP_CLIENT_SECRET: APP.secret,
    ANYCART_SHOPIFY_APP_SHOP_BASE_URL: shopify.url,
  };
  const child = spawn(BIN, ['serve', '--demo', '--addr', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
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

/** Shopify's callback signature: hex HMAC-SHA256 of the sorted `name=value` pairs. */
function signCallback(pairs) {
  const message = Object.keys(pairs).sort().map((k) => `${k}=${pairs[k]}`).join('&');
  return createHmac('sha256', APP.secret).update(message).digest('hex');
}

/** A fake Shopify Admin GraphQL endpoint: refuses order pushes until `accept` is set.
 * Also its OAuth: the grant screen approves at once and sends the browser back signed. */
async function startFakeShopify() {
  const fake = { accept: false, created: [], refused: 0, attributes: [], codes: [], subscriptions: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://fake');
    if (req.method === 'GET' && url.pathname === '/admin/oauth/authorize') {
      const q = Object.fromEntries(url.searchParams);
      if (q.client_id !== APP.clientId || !q.scope || !q.state || !q.redirect_uri) { res.writeHead(400); res.end('Oauth error invalid_request'); return; }
      const code = `code-${fake.codes.length + 1}`;
      fake.codes.push(code);
      const pairs = { code, host: 'YWRtaW4', shop: APP.shop, state: q.state, timestamp: String(Math.floor(Date.now() / 1000)) };
      const back = new URL(q.redirect_uri);
      for (const [k, v] of Object.entries(pairs)) back.searchParams.set(k, v);
      back.searchParams.set('hmac', signCallback(pairs));
      res.writeHead(302, { Location: back.toString() });
      res.end();
      return;
    }
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (url.pathname === '/admin/oauth/access_token') {
        const b = JSON.parse(body || '{}');
        const known = fake.codes.indexOf(b.code);
        if (b.client_id !== APP.clientId || b.client_secret !== APP.secret || known < 0) { res.writeHead(400, { 'Content-Type': 'application/json' }); res.end('{"error":"invalid_request"}'); return; }
        fake.codes.splice(known, 1);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'shpat_e2e_offline', scope: 'write_orders,read_products,read_inventory,read_locations' }));
        return;
      }
      const { query, variables } = JSON.parse(body || '{}');
      let data;
      if (/AnycartWebhookSubscriptionCreate/.test(query)) {
        fake.subscriptions.push({ topic: variables.topic, uri: variables.webhookSubscription.uri });
        data = { webhookSubscriptionCreate: { webhookSubscription: { id: `gid://shopify/WebhookSubscription/${fake.subscriptions.length}` }, userErrors: [] } };
      } else if (/FindAnycartOrder/.test(query)) {
        data = { orders: { nodes: [] } };
      } else if (/AnycartImportProducts/.test(query)) {
        // Three pages of one product each (a sun cap with 5 in stock), so the import shows progress.
        const page = variables.after ? Number(variables.after) : 0;
        const n = page + 1;
        data = {
          shop: { currencyCode: 'USD' },
          products: {
            pageInfo: { hasNextPage: n < 3, endCursor: String(n) },
            nodes: [{
              id: `gid://shopify/Product/cap${n}`, title: `Sun Cap ${n}`, description: 'Imported from Shopify.', status: 'ACTIVE',
              media: { nodes: [] },
              variants: { nodes: [{
                id: `gid://shopify/ProductVariant/cap${n}`, title: 'One size', sku: `SHOP-CAP-${n}`, price: '19.00',
                inventoryItem: { id: `gid://shopify/InventoryItem/cap${n}`, inventoryLevels: { nodes: [{ location: { id: 'gid://shopify/Location/1', name: 'Shopify warehouse' }, quantities: [{ name: 'available', quantity: 5 }] }] } },
              }] },
            }],
          },
        };
      } else if (/AnycartOrderCreate/.test(query)) {
        if (fake.accept) {
          const id = `gid://shopify/Order/${5000 + fake.created.length}`;
          fake.created.push(id);
          fake.attributes.push({ attributes: variables.order.customAttributes, sourceName: variables.order.sourceName });
          data = { orderCreate: { order: { id, name: `#${5000 + fake.created.length}` }, userErrors: [] } };
        } else {
          fake.refused += 1;
          data = { orderCreate: { order: null, userErrors: [{ field: ['order', 'lineItems'], message: 'Inventory location is inactive', code: 'INVALID' }] } };
        }
      } else {
        data = {};
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ data }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => server.close();
  return fake;
}

/** The topics the app subscribed to `uri` on the fake, in order. */
function fakeTopics(fake, uri) {
  return fake.subscriptions.filter((s) => s.uri === uri).map((s) => s.topic);
}

async function admin(demo, method, path, body) {
  const res = await fetch(`${demo.base_url}/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${demo.secret_key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Runs axe-core on the page; fails on serious or critical violations. */
async function axe(page, name) {
  // Evaluated through the DevTools protocol: the dashboard's CSP (rightly) refuses inline scripts.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(`${AXE_SOURCE};0`);
  const results = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], `axe on ${name}`);
  return results.violations.length;
}

async function signIn(page, demo) {
  await page.goto(demo.dashboard_url);
  await page.getByLabel('Email').fill(demo.dashboard_email);
  await page.getByLabel('Password').fill(demo.dashboard_password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

async function frameOf(page, part) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const f = page.frames().find((fr) => fr.url().includes(part));
    if (f) return f;
    if (Date.now() > deadline) throw new Error(`no frame ${part}`);
    await page.waitForTimeout(50);
  }
}

/** Polls `read` until `ok(value)`, then returns the value. */
async function eventually(read, ok, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const shopify = await startFakeShopify();
const { child, demo } = await startServer(shopify);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const pagesOrigin = new URL(demo.ad_page_url).origin;
  assert.ok(demo.dashboard_url && demo.dashboard_email && demo.dashboard_password, 'demo.json names the dashboard and its credentials');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  let placementId = '';
  let orderId = '';

  await check('a wrong password is refused in words, the printed credentials sign in', async () => {
    await page.goto(demo.dashboard_url);
    await page.getByRole('heading', { name: 'Sign in to anycart' }).waitFor();
    await axe(page, 'sign-in');
    await page.getByLabel('Email').fill(demo.dashboard_email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'email or password is not right' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard-1-sign-in.png') });
    await signIn(page, demo);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'anycart_dashboard');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
    await page.screenshot({ path: join(SHOTS, 'dashboard-2-overview.png') });
  });

  await check('connect Shopify with the form, test it, import with progress, reconcile', async () => {
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.getByLabel('Platform', { exact: true }).selectOption('shopify');
    await page.getByLabel('Shop domain (x.myshopify.com)').fill('demo-shop.myshopify.com');
    await page.getByLabel('Admin API access token').fill('shpat_test_token');
    await page.getByLabel('Webhook secret').fill('whsec_test');
    await page.getByLabel('API base URL (tests only)').fill(shopify.url);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByTestId('platform-name').filter({ hasText: 'shopify' }).waitFor();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').filter({ hasText: 'Connected: the platform answered with 1 products' }).waitFor();
    await page.getByRole('button', { name: 'Import catalogue' }).click();
    await page.getByTestId('import-status').filter({ hasText: '3 pages, 3 products, 3 variants' }).waitFor();
    await page.getByText('Catalogue import: done').waitFor();
    await page.getByRole('button', { name: 'Reconcile stock now' }).click();
    await page.getByRole('status').filter({ hasText: 'Stock re-read from the platform' }).waitFor();
    const products = await admin(demo, 'GET', '/products?limit=100');
    assert.ok(products.body.data.some((p) => p.title === 'Sun Cap 2'), 'the imported products are in the catalogue');
    await axe(page, 'connections');
    await page.screenshot({ path: join(SHOTS, 'dashboard-2b-connections.png'), fullPage: true });
    // Link the demo catalogue to Shopify ids (what `anycart import` records).
    for (const v of demo.variants) {
      const r = await admin(demo, 'POST', '/connection/links', { kind: 'variant', external_id: `gid://shopify/ProductVariant/${v.sku}`, internal_id: v.id });
      assert.equal(r.status, 204, JSON.stringify(r.body));
    }
  });

  await check('make a placement for a campaign, brand colour in the live preview', async () => {
    await page.getByRole('link', { name: 'Placements' }).click();
    await page.getByRole('link', { name: 'New placement' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Heatwave 300×250');
    await page.getByLabel('Product', { exact: true }).selectOption({ label: 'Summit Water Bottle' });
    await page.getByLabel('Channel', { exact: true }).selectOption('display_ad');
    await page.getByLabel('Allowed host origins (one per line)').fill(pagesOrigin);
    await page.getByLabel('Ad servers (one per line)').fill('https://ads.example.test');
    await page.getByLabel('Campaign name').fill('heatwave');
    await page.getByLabel('Creative').fill('300x250-red');
    await page.getByLabel('Brand colour', { exact: true }).fill(BRAND);
    await page.getByRole('button', { name: 'Create placement' }).click();
    await page.getByRole('heading', { name: 'Live preview' }).waitFor();
    placementId = (await page.getByTestId('snippet').textContent()).match(/plc_[0-9a-f]{32}/)[0];
    const stored = await admin(demo, 'GET', `/placements/${placementId}`);
    assert.deepEqual(stored.body.ad_servers, ['https://ads.example.test'], 'the form saves ad servers');
    assert.equal(await page.getByLabel('Ad servers (one per line)').inputValue(), 'https://ads.example.test');
    const preview = await frameOf(page, `/dashboard/preview/${placementId}?layout=compact`);
    const buy = preview.getByRole('button', { name: 'Buy now' });
    await buy.waitFor();
    const bg = await eventually(() => buy.evaluate((b) => getComputedStyle(b).backgroundColor).catch(() => ''), (c) => c === 'rgb(185, 28, 28)', 'the brand colour');
    assert.equal(bg, 'rgb(185, 28, 28)');
    await axe(page, 'placement editor');
    await page.screenshot({ path: join(SHOTS, 'dashboard-3-placement.png'), fullPage: true });
  });

  await check('buy in the demo ad; the order and the funnel show it within seconds', async () => {
    const ad = await browser.newPage({ viewport: { width: 900, height: 600 } });
    ad.setDefaultTimeout(STEP_TIMEOUT_MS);
    await ad.goto(`${demo.ad_page_url}?placement=${placementId}`);
    const frame = await frameOf(ad, `/widget/checkout/${placementId}`);
    const buy = frame.getByRole('button', { name: 'Buy now' });
    await buy.waitFor();
    await ad.waitForTimeout(1200); // in view for a second: a viewable impression
    await buy.click();
    await frame.getByLabel('Email').fill('grace@example.com');
    await frame.getByLabel('Full name').fill('Grace Hopper');
    await frame.getByLabel('Address').fill('1 Market St');
    await frame.getByLabel('City').fill('San Francisco');
    await frame.getByLabel('State / region').fill('CA');
    await frame.getByLabel('Postal code').fill('94105');
    await frame.getByRole('button', { name: 'Continue', exact: true }).click();
    await frame.getByRole('button', { name: 'Continue to payment' }).click();
    await frame.getByLabel('Card number').fill('4242 4242 4242 4242');
    await frame.getByLabel('Expiry (MM/YY)').fill('12/30');
    await frame.getByLabel('CVC').fill('123');
    await frame.getByRole('button', { name: /^Pay / }).click();
    await frame.getByTestId('order-number').waitFor();
    await ad.screenshot({ path: join(SHOTS, 'dashboard-4-ad-bought.png') });
    await ad.close({ runBeforeUnload: true }); // pagehide sends what is still queued

    await page.getByRole('link', { name: 'Orders' }).click();
    const row = page.getByTestId('orders').getByRole('row').filter({ hasText: 'heatwave' });
    await row.waitFor();
    orderId = (await row.getByRole('link').getAttribute('href')).replace('#/orders/', '');
    await page.getByRole('link', { name: 'Funnel' }).click();
    await page.getByLabel('Placement', { exact: true }).selectOption(placementId);
    const count = (step) => page.locator(`[data-step="${step}"] .count`).textContent().then(Number);
    for (const step of ['impression', 'opened', 'checkout_started', 'contact', 'shipping', 'payment_attempted', 'paid']) {
      await eventually(async () => { await page.getByLabel('Placement', { exact: true }).selectOption(''); await page.getByLabel('Placement', { exact: true }).selectOption(placementId); return count(step); }, (n) => n === 1, `funnel step ${step}`);
    }
    const funnel = await admin(demo, 'GET', `/analytics/funnel?placement=${placementId}`);
    assert.deepEqual(funnel.body.steps.map((s) => s.count), [1, 1, 1, 1, 1, 1, 1], JSON.stringify(funnel.body.steps));
    await axe(page, 'funnel');
    await page.screenshot({ path: join(SHOTS, 'dashboard-5-funnel.png'), fullPage: true });
  });

  await check('a push the platform refused shows its reason; Retry delivers it', async () => {
    await eventually(() => shopify.refused, (n) => n >= 1, 'the refused push');
    await page.getByRole('link', { name: 'Orders' }).click();
    const dead = page.getByTestId('dead-letters');
    await dead.getByText('Inventory location is inactive').waitFor();
    await axe(page, 'orders');
    await page.screenshot({ path: join(SHOTS, 'dashboard-6-dead-letter.png'), fullPage: true });
    shopify.accept = true;
    await dead.getByRole('button', { name: /^Retry/ }).first().click();
    await page.getByRole('status').filter({ hasText: 'Push queued again' }).waitFor();
    await page.goto(`${demo.dashboard_url}#/orders/${orderId}`);
    await eventually(async () => { await page.reload(); return page.getByTestId('push-state').textContent().catch(() => ''); }, (s) => s === 'delivered', 'the delivered push');
    assert.equal(await page.getByTestId('platform-order-id').textContent(), shopify.created[0]);
    const sent = shopify.attributes[0];
    const attr = Object.fromEntries(sent.attributes.map((a) => [a.key, a.value]));
    assert.equal(attr.anycart_channel, 'display_ad', JSON.stringify(sent));
    assert.equal(attr.anycart_placement_id, placementId);
    assert.equal(attr.anycart_campaign, 'heatwave');
    assert.equal(attr.anycart_creative, '300x250-red');
    await axe(page, 'order detail');
    await page.screenshot({ path: join(SHOTS, 'dashboard-7-order.png'), fullPage: true });
  });

  await check('every page passes axe-core (no serious or critical violation)', async () => {
    for (const [hash, heading] of [['#/', 'Overview'], ['#/placements', 'Placements'], ['#/products', 'Products and stock'], ['#/settings', 'Settings']]) {
      await page.goto(`${demo.dashboard_url}${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForTimeout(300);
      await axe(page, heading);
    }
    await page.screenshot({ path: join(SHOTS, 'dashboard-8-products.png') });
  });

  await check('API keys: create a secret key, it works; revoke it, it stops', async () => {
    await page.goto(`${demo.dashboard_url}#/settings`);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByRole('button', { name: 'New secret key' }).click();
    const secret = await eventually(() => page.getByTestId('new-key').inputValue().catch(() => ''), (v) => v.startsWith('sk_'), 'the new key');
    const me = (key) => fetch(`${demo.base_url}/v1/merchant`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);
    assert.equal(await me(secret), 200);
    page.once('dialog', (d) => d.accept());
    await page.getByTestId('api-keys').getByRole('button', { name: `Revoke sk_…${secret.slice(-4)}` }).click();
    await page.getByRole('status').filter({ hasText: 'was revoked' }).waitFor();
    assert.equal(await me(secret), 401);
    await axe(page, 'settings with keys');
  });

  await check('install the Shopify app: the grant screen and back, connected, webhooks subscribed', async () => {
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.getByRole('heading', { name: 'Install the Shopify app' }).waitFor();
    await axe(page, 'connections with the app install');
    await page.getByLabel('Shop to install on (x.myshopify.com)').fill(APP.shop);
    await page.getByRole('button', { name: 'Install the Shopify app' }).click();
    // Shopify (the fake) approves and sends the browser back through anycart's callback.
    await page.waitForURL(/\/dashboard\/#\/connections$/);
    await page.getByText(APP.shop, { exact: true }).waitFor();
    assert.equal(await page.getByTestId('platform-name').textContent(), 'shopify');
    const connection = await admin(demo, 'GET', '/connection');
    assert.equal(connection.body.shop_domain, APP.shop);
    assert.deepEqual(
      fakeTopics(shopify, connection.body.webhook_url),
      ['INVENTORY_LEVELS_UPDATE', 'ORDERS_CREATE', 'PRODUCTS_UPDATE', 'REFUNDS_CREATE', 'APP_UNINSTALLED'],
    );
    await page.screenshot({ path: join(SHOTS, 'dashboard-10-shopify-app.png'), fullPage: true });
    assert.equal(shopify.codes.length, 0, 'the code was exchanged');
  });

  await check('keyboard only: sign in, move between pages, open an order', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const kb = await context.newPage();
    kb.setDefaultTimeout(STEP_TIMEOUT_MS);
    await kb.goto(demo.dashboard_url);
    await kb.getByRole('heading', { name: 'Sign in to anycart' }).waitFor();
    const focused = () => kb.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || '');
    // Tab to the email field (past the skip link), type, Tab to the password, Enter.
    for (let i = 0; i < 5 && (await focused()) !== 'email'; i++) await kb.keyboard.press('Tab');
    assert.equal(await focused(), 'email');
    await kb.keyboard.type(demo.dashboard_email);
    await kb.keyboard.press('Tab');
    assert.equal(await focused(), 'password');
    await kb.keyboard.type(demo.dashboard_password);
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Overview' }).waitFor();
    // Tab through the navigation to Orders, and Enter.
    for (let i = 0; i < 15 && (await focused()) !== 'Orders'; i++) await kb.keyboard.press('Tab');
    assert.equal(await focused(), 'Orders');
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Orders', exact: true }).waitFor();
    for (let i = 0; i < 30 && !/^#\d+$/.test(await focused()); i++) await kb.keyboard.press('Tab');
    assert.match(await focused(), /^#\d+$/, 'an order link takes focus');
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: /^Order #\d+$/ }).waitFor();
    await kb.screenshot({ path: join(SHOTS, 'dashboard-9-keyboard.png') });
    await context.close();
  });

  assert.deepEqual(pageErrors, [], 'no script errors in the dashboard');
  console.log(`${passed} passed, 0 failed`);
} finally {
  await browser.close();
  shopify.close();
  child.kill();
}
