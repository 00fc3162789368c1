// Prints the widget's weight (gzip -9 of each built asset) and fails over budget
// (IAB LEAN guidance for ads): the loader ≤ 6 KB gzipped, and the static part of
// "everything to interactive" (loader + app JS + app CSS) ≤ 60 KB gzipped.
// The TV page (crates/server/assets/tv: tv.js built from src/tv, tv.css) is a page
// of its own, counted apart: ≤ 12 KB gzipped, about one and a half times its
// weight on the SDK (7 KB + 1 KB), since TV browsers parse slowly and a CTV ad
// unit is under the same LEAN guidance; a framework pulled in fails it.
// The browser test (tests/e2e/widget.mjs) measures the real page too: every
// request up to interactive (≤ 10) and their gzipped bodies including the iframe
// document, the product image and the checkout API call.
// Stripe.js (for merchants paid through Stripe) is not anycart's weight: it comes
// from Stripe's origin, and only once the shopper pressed "Buy now", so it is in
// neither count (tests/e2e/stripe.mjs checks that it loads no earlier).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER_GZIP_MAX = 6 * 1024;
const INTERACTIVE_GZIP_MAX = 60 * 1024;
const TV_GZIP_MAX = 12 * 1024;
const assets = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'crates', 'server', 'assets');
const dir = join(assets, 'widget');
const files = ['embed.js', 'app.js', 'app.css'];

/** gzip -9 of a built asset, printed with its raw size. */
function weigh(path, name) {
  const raw = readFileSync(path);
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`  ${name.padEnd(10)} ${String(raw.length).padStart(7)} B raw  ${String(gz).padStart(6)} B gzip`);
  return gz;
}

let total = 0;
let loader = 0;
console.log('widget weight (gzip -9)');
for (const f of files) {
  const gz = weigh(join(dir, f), f);
  total += gz;
  if (f === 'embed.js') loader = gz;
}
console.log(`  loader ${loader} B of ${LOADER_GZIP_MAX} B; static assets to interactive ${total} B of ${INTERACTIVE_GZIP_MAX} B`);
console.log('  (Stripe.js is not counted: it loads from Stripe\'s origin, after "Buy now", for Stripe merchants only)');
console.log('TV page weight (gzip -9)');
let tv = 0;
for (const f of ['tv.js', 'tv.css']) tv += weigh(join(assets, 'tv', f), f);
console.log(`  TV page static assets ${tv} B of ${TV_GZIP_MAX} B`);
let ok = true;
if (loader > LOADER_GZIP_MAX) { console.error(`FAIL: loader is ${loader} B gzipped (budget ${LOADER_GZIP_MAX} B)`); ok = false; }
if (total > INTERACTIVE_GZIP_MAX) { console.error(`FAIL: assets are ${total} B gzipped (budget ${INTERACTIVE_GZIP_MAX} B)`); ok = false; }
if (tv > TV_GZIP_MAX) { console.error(`FAIL: the TV page's assets are ${tv} B gzipped (budget ${TV_GZIP_MAX} B)`); ok = false; }
process.exit(ok ? 0 : 1);
