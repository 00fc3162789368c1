// The SDK against a real `anycart serve --demo` (target/debug/anycart, or
// ANYCART_BIN): the built package (dist/, as `npm pack` ships it) buys, follows
// live stock, reports funnel events and fails with the server's ACP errors.
// Run: npm run build && npm test (scripts/test does both); the server is
// tests/e2e/harness.mjs's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startDemo } from '../../../tests/e2e/harness.mjs';
import * as sdk from '../dist/index.js';

const ADDRESS = { name: 'Ada Lovelace', line_one: '1 Market St', city: 'San Francisco', state: 'CA', country: 'US', postal_code: '94105' };
const GOOD_CARD = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' };
const DECLINED_CARD = { ...GOOD_CARD, number: '4000000000000002' };

let child;
let demo;
let log = () => '';

before(async () => {
  const server = await startDemo();
  child = server.child;
  demo = server.demo;
  log = server.log;
});

after(() => child?.kill());

/** The app placement's client (its own key: sales are attributed to it). */
function app() {
  return sdk.createAnycart({ baseUrl: demo.base_url, publishableKey: demo.app_publishable_key });
}

function bottle(n = 0) {
  const v = demo.variants.filter((x) => x.sku.startsWith('BTL-'))[n];
  assert.ok(v, 'the demo sells the bottle');
  return v;
}

async function openReadySession(ac, variant) {
  const s = await sdk.createSession(ac, { currency: 'usd', line_items: [{ id: variant.id, quantity: 1 }], capabilities: {} });
  assert.equal(s.line_items[0].variant_id, variant.id);
  return sdk.updateSession(ac, s.id, { buyer: { email: 'ada@example.com' }, fulfillment_details: { name: ADDRESS.name, address: ADDRESS } });
}

test('a session from create to paid; a retried complete with the same key charges once', async () => {
  const ac = app();
  const s = await openReadySession(ac, bottle());
  assert.equal(s.status, 'ready_for_payment', JSON.stringify(s.messages));
  assert.equal((await sdk.getSession(ac, s.id)).id, s.id);
  assert.ok(sdk.totalOf(s, 'total') > 0);
  const token = await sdk.sandboxCardToken(ac, GOOD_CARD);
  const idempotencyKey = sdk.newIdempotencyKey();
  const paid = await sdk.payWithSandboxCard(ac, s, token, { idempotencyKey });
  assert.equal(paid.status, 'completed');
  assert.ok(paid.order?.id);
  const again = await sdk.payWithSandboxCard(ac, s, token, { idempotencyKey });
  assert.equal(again.order?.id, paid.order.id, 'the retry replays the first answer');
  const orders = await (await fetch(`${demo.base_url}/v1/orders`, { headers: { Authorization: `Bearer ${demo.secret_key}` } })).json();
  const mine = orders.data.filter((o) => o.checkout_session_id === s.id || o.session_id === s.id || o.id === paid.order.id);
  assert.equal(mine.length, 1, 'one order');
  assert.equal(mine[0].attribution?.channel, 'app', 'attributed to the app placement');
});

test('a declined card leaves the session open and says why', async () => {
  const ac = app();
  const s = await openReadySession(ac, bottle());
  const done = await sdk.payWithSandboxCard(ac, s, await sdk.sandboxCardToken(ac, DECLINED_CARD));
  assert.notEqual(done.status, 'completed');
  assert.ok(done.messages.some((m) => m.type === 'error'), JSON.stringify(done.messages));
  assert.equal((await sdk.cancelSession(ac, s.id)).status, 'canceled');
});

test('bad input: an AnycartError with the ACP code and HTTP status', async () => {
  const ac = app();
  await assert.rejects(sdk.createSession(ac, { currency: 'usd', line_items: [{ id: 'var_nope', quantity: 1 }], capabilities: {} }), (e) => {
    assert.ok(e instanceof sdk.AnycartError);
    assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
    assert.equal(typeof e.code, 'string');
    return true;
  });
  const stranger = sdk.createAnycart({ baseUrl: demo.base_url, publishableKey: 'pk_test_nope' });
  await assert.rejects(sdk.getSession(stranger, 'cs_nope'), (e) => e instanceof sdk.AnycartError && e.status === 401);
  const nowhere = sdk.createAnycart({ baseUrl: 'http://127.0.0.1:9', publishableKey: 'pk_x' });
  await assert.rejects(sdk.getSession(nowhere, 'cs_x'), (e) => e instanceof sdk.AnycartError && e.code === 'network' && e.status === 0);
});

test('live stock: the current figure, then the change a purchase makes', async () => {
  const ac = app();
  const v = bottle(1);
  const seen = [];
  let unavailable = false;
  const stop = sdk.watchStock(ac, [v.id], (e) => seen.push(e), { EventSource, onUnavailable: () => { unavailable = true; } });
  try {
    const wait = async (pred) => {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`no such stock event: ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await wait(() => seen.length > 0);
    const before = seen[seen.length - 1].available;
    assert.equal(seen[0].variant_id, v.id);
    await openReadySession(ac, v);
    await wait(() => seen.some((e) => e.available === before - 1));
  } finally {
    stop();
  }
  assert.equal(unavailable, false);
  let refused = false;
  const stop2 = sdk.watchStock(ac, [], () => undefined, { EventSource, onUnavailable: () => { refused = true; } });
  stop2();
  assert.equal(refused, true, 'no variants: nothing to watch');
});

test('funnel events: a signed view, each step counted once, only with the placement\'s own key', async () => {
  const ac = app();
  const view = await sdk.startView(ac, demo.app_placement);
  const first = await sdk.sendEvents(ac, demo.app_placement, view, [{ step: 'impression' }, { step: 'opened' }]);
  assert.equal(first.counted, 2);
  const again = await sdk.sendEvents(ac, demo.app_placement, view, [{ step: 'impression' }]);
  assert.equal(again.counted, 0);
  assert.equal(again.duplicates, 1);
  const general = sdk.createAnycart({ baseUrl: demo.base_url, publishableKey: demo.publishable_key });
  await assert.rejects(sdk.startView(general, demo.app_placement), (e) => e instanceof sdk.AnycartError && e.status === 401);
  const forged = { ...view, view_token: `${Date.now()}.00` };
  await assert.rejects(sdk.sendEvents(ac, demo.app_placement, forged, [{ step: 'paid' }]), (e) => e instanceof sdk.AnycartError && e.status >= 400);
});

test('returning shopper: a code is emailed; a wrong code is refused', async () => {
  const ac = app();
  const sent = await sdk.sendSignInCode(ac, { email: 'grace@example.com', placement_id: demo.app_placement });
  assert.ok(sent);
  await assert.rejects(sdk.verifySignInCode(ac, { email: 'grace@example.com', code: '000000', placement_id: demo.app_placement }), (e) => e instanceof sdk.AnycartError && e.status >= 400 && e.status < 500);
  assert.match(log(), /demo sign-in code email=grace@example\.com code=\d{6}/);
});
