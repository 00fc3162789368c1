// The SDK's weight: what an app ships when it bundles the whole SDK (and
// openapi-fetch), minified and gzip -9, must stay under SDK_GZIP_MAX. A second
// bundle importing one function shows that bundlers drop the rest
// (`sideEffects: false`, named exports): it must be smaller than the whole.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SDK_GZIP_MAX = 5 * 1024;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function gzipped(contents) {
  const out = await build({
    stdin: { contents, resolveDir: root, loader: 'ts' },
    bundle: true, minify: true, format: 'esm', target: 'es2020', write: false, legalComments: 'none', treeShaking: true,
  });
  const raw = out.outputFiles[0].contents;
  return { raw: raw.length, gz: gzipSync(raw, { level: 9 }).length };
}

const whole = await gzipped("export * from './src/index.ts';");
const one = await gzipped("export { createAnycart, createSession } from './src/index.ts';");
console.log('sdk weight (esbuild --minify, gzip -9)');
console.log(`  everything          ${String(whole.raw).padStart(6)} B raw  ${String(whole.gz).padStart(5)} B gzip (budget ${SDK_GZIP_MAX} B)`);
console.log(`  createSession only  ${String(one.raw).padStart(6)} B raw  ${String(one.gz).padStart(5)} B gzip`);
let ok = true;
if (whole.gz > SDK_GZIP_MAX) { console.error(`FAIL: the SDK is ${whole.gz} B gzipped (budget ${SDK_GZIP_MAX} B)`); ok = false; }
if (one.raw >= whole.raw) { console.error('FAIL: importing one function bundles everything: tree-shaking is broken'); ok = false; }
process.exit(ok ? 0 : 1);
