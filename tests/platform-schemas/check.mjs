// Holds the connectors to the platforms' own published API descriptions, over the
// exchanges the connector tests recorded with their fakes (ANYCART_PLATFORM_RECORD_DIR):
//   Shopify     every document in crates/connectors/src/shopify/ validated against the
//               Admin schema of the pinned version, each one sent at least once in the
//               tests, its variables coerced, the fake's answers re-executed on the schema;
//   Salesforce  each request against the SCAPI OpenAPI files;
//   Adobe       each request against the Adobe Commerce 2.4.9 REST schema.
// --plant takes one good exchange per platform, plants a wrong field in it (a field the
// query cannot select, an input field, an answer field, a body field, a query
// parameter) and requires the check to refuse every plant: proof it can fail.
//
// Usage: node check.mjs --records DIR --shopify-schema admin_<version>.json.gz --specs DIR [--version V] [--plant]

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Spec } from './openapi.mjs';
import * as shopify from './shopify.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? true : all[i + 1]]);
    return acc;
  }, []),
);
const root = new URL('../..', import.meta.url).pathname;
for (const required of ['records', 'shopify-schema', 'specs']) {
  if (!args[required]) { console.error(`usage: --${required} missing`); process.exit(2); }
}

function records(platform) {
  const dir = join(args.records, platform);
  let files = [];
  try { files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort(); } catch { /* none */ }
  return files.map((f) => ({ file: join(dir, f), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

// Shopify: the pinned version, its schema, the connector's documents.
const connectorSource = ['shopify.rs', 'shopify/wire.rs', 'shopify/oauth.rs', 'shopify/convert.rs']
  .map((f) => { try { return readFileSync(join(root, 'crates/connectors/src', f), 'utf8'); } catch { return ''; } })
  .join('\n');
const pinned = shopify.pinnedVersion(connectorSource);
// --version: another version a connection may name (SHOPIFY_API_VERSIONS_SUPPORTED),
// checked with the same exchanges (recorded at the pin) against that version's schema.
const version = typeof args.version === 'string' ? args.version : pinned;
if (!args['shopify-schema'].includes(`admin_${version}.`)) {
  console.error(`the Shopify schema ${args['shopify-schema']} is not version ${version}`);
  process.exit(1);
}
const schema = shopify.loadSchema(JSON.parse(gunzipSync(readFileSync(args['shopify-schema'])).toString('utf8')));
const documents = shopify.documentsInSource(connectorSource);

const salesforceSpecs = readdirSync(join(args.specs, 'salesforce'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => new Spec(join(args.specs, 'salesforce', f)));
const adobeSpec = new Spec(join(args.specs, 'adobe', 'admin-schema-2.4.9.yaml'));

/** Magento's REST layer reads searchCriteria in snake_case or camelCase and any index;
 * the schema lists the camelCase names with index 0. */
function adobeQueryName(name) {
  return name
    .replace(/\[(\d+)\]/g, '[0]')
    .replace(/\[([a-z]+(?:_[a-z]+)+)\]/g, (_, s) => `[${s.replace(/_([a-z])/g, (_m, c) => c.toUpperCase())}]`);
}

/** Shopify's OAuth endpoints (not GraphQL, not versioned; no published schema to hold them to). */
const SHOPIFY_OAUTH = new Set(['GET /admin/oauth/authorize', 'POST /admin/oauth/access_token']);

function checkShopify(r) {
  if (r.path.startsWith('/admin/oauth/')) {
    return SHOPIFY_OAUTH.has(`${r.method} ${r.path}`) ? [] : [`${r.method} ${r.path} is not a Shopify OAuth endpoint`];
  }
  const problems = [];
  if (r.path !== `/admin/api/${pinned}/graphql.json`) problems.push(`path ${r.path} is not the pinned version's endpoint`);
  if (!r.path.endsWith('/graphql.json')) return problems;
  let request;
  try { request = JSON.parse(r.request_body); } catch { return [...problems, 'request body is not JSON']; }
  problems.push(...shopify.checkRequest(schema, request.query, request.variables).map((p) => `request: ${p}`));
  if (problems.length === 0 && r.status === 200) {
    let answer;
    try { answer = JSON.parse(r.response_body); } catch { return [...problems, 'the fake answered 200 with a body that is not JSON']; }
    problems.push(...shopify.checkResponse(schema, request.query, request.variables, answer).map((p) => `fake's answer: ${p}`));
  }
  return problems;
}

function checkSalesforce(r) {
  const spec = salesforceSpecs.find((s) => r.path.startsWith(`${s.basePath}/`));
  return spec ? spec.checkRequest(r) : [`no SCAPI description serves ${r.path}`];
}

function checkAdobe(r) {
  const path = r.path.replace(/^\/rest(\/[A-Za-z0-9_]+)?(?=\/V1\/)/, '');
  return adobeSpec.checkRequest({ ...r, path }, adobeQueryName);
}

const checkers = { shopify: checkShopify, salesforce: checkSalesforce, adobe: checkAdobe };

function checkAll() {
  const failures = [];
  const counts = {};
  for (const platform of Object.keys(checkers)) {
    const all = records(platform);
    counts[platform] = all.length;
    for (const r of all) {
      for (const p of checkers[platform](r)) failures.push(`${platform} ${r.method} ${r.path} (${r.file}): ${p}`);
    }
  }
  // Every document the connector can send is valid, and sent at least once in the tests
  // (so its variables were checked too).
  const sent = new Set(records('shopify').map((r) => { try { return JSON.parse(r.request_body).query; } catch { return null; } }));
  for (const d of documents) {
    for (const p of shopify.checkRequest(schema, d.query, undefined).filter((x) => !x.startsWith('variables:'))) {
      failures.push(`shopify document ${d.name}: ${p}`);
    }
    if (!sent.has(d.query)) failures.push(`shopify document ${d.name} is never sent in the connector tests: its variables are unchecked`);
  }
  return { failures, counts };
}

/** One wrong thing per kind, each planted in a copy of a good exchange; all must be refused. */
function plants() {
  const firstGood = (platform, pred) => records(platform).find((r) => pred(r) && checkers[platform](r).length === 0);
  const list = [];
  const create = firstGood('shopify', (r) => r.status === 200 && /orderCreate\(/.test(r.request_body));
  if (create) {
    const req = JSON.parse(create.request_body);
    list.push(['shopify: a field the query cannot select', 'shopify', { ...create, request_body: JSON.stringify({ ...req, query: req.query.replace('{ order { id', '{ order { id anycartPlantedField') }) }]);
    list.push(['shopify: an input field OrderCreateOrderInput does not have', 'shopify', { ...create, request_body: JSON.stringify({ ...req, variables: { ...req.variables, order: { ...req.variables.order, anycartPlantedField: 'x' } } }) }]);
    list.push(['shopify: an enum value the schema does not list', 'shopify', { ...create, request_body: JSON.stringify({ ...req, variables: { ...req.variables, options: { ...req.variables.options, inventoryBehaviour: 'DECREMENT_PLANTED' } } }) }]);
    const answer = JSON.parse(create.response_body);
    const payload = answer.data?.orderCreate ?? {};
    list.push(['shopify: the fake answers a field the query did not ask for', 'shopify', { ...create, response_body: JSON.stringify({ ...answer, data: { orderCreate: { ...payload, anycartPlantedField: 1 } } }) }]);
    list.push(['shopify: the fake answers null where the schema forbids it', 'shopify', { ...create, response_body: JSON.stringify({ ...answer, data: { orderCreate: { ...payload, userErrors: null } } }) }]);
  }
  const order = firstGood('salesforce', (r) => r.method === 'POST' && /shopper-orders/.test(r.path));
  if (order) list.push(['salesforce: a body field Shopper Orders does not take', 'salesforce', { ...order, request_body: JSON.stringify({ ...JSON.parse(order.request_body), anycartPlantedField: 'x' }) }]);
  const basket = firstGood('salesforce', (r) => r.method === 'POST' && /\/baskets$/.test(r.path));
  if (basket) list.push(['salesforce: a query parameter Shopper Baskets does not declare', 'salesforce', { ...basket, query: `${basket.query ?? ''}&anycartPlanted=1` }]);
  const cart = firstGood('adobe', (r) => r.method === 'POST' && /shipping-information$/.test(r.path));
  if (cart) {
    const body = JSON.parse(cart.request_body);
    list.push(['adobe: an address field the schema does not have', 'adobe', { ...cart, request_body: JSON.stringify({ ...body, addressInformation: { ...body.addressInformation, shipping_address: { ...body.addressInformation.shipping_address, anycart_planted: 1 } } }) }]);
  }
  let missed = 0;
  for (const [name, platform, record] of list) {
    const problems = checkers[platform](record);
    if (problems.length === 0) { missed += 1; console.error(`NOT CAUGHT: ${name}`); } else console.log(`caught: ${name}: ${problems[0].slice(0, 200)}`);
  }
  const expected = 8;
  if (list.length !== expected) {
    console.error(`--plant: found good exchanges for ${list.length} of ${expected} plants (did the connector tests run with recording?)`);
    missed += 1;
  }
  if (missed > 0) { console.error(`--plant: ${missed} planted error(s) not refused or not planted`); process.exit(1); }
  console.log(`--plant: all ${list.length} planted errors refused`);
}

if (args.plant) {
  plants();
} else {
  const { failures, counts } = checkAll();
  for (const f of failures) console.error(f);
  console.log(`platform schemas: Shopify Admin ${version} (${documents.length} documents, ${counts.shopify} exchanges), Salesforce SCAPI (${counts.salesforce} requests), Adobe Commerce 2.4.9 (${counts.adobe} requests): ${failures.length} problem(s)`);
  process.exit(failures.length === 0 ? 0 : 1);
}
