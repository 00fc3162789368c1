// Bundles the demo game (examples/game.ts, the SDK and openapi-fetch) into
// crates/server/assets/demo/game.js, which the demo pages serve at `/app/game.js`.
// Committed like the widget's bundle, so `cargo run` needs no Node; scripts/test
// rebuilds it and fails when the committed file is stale.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, '..', '..', 'crates', 'server', 'assets', 'demo', 'game.js');
await build({ entryPoints: [join(root, 'examples', 'game.ts')], outfile, bundle: true, minify: true, format: 'esm', target: 'es2020', legalComments: 'none', charset: 'utf8' });
console.log(`built the demo game into ${outfile}`);
