// Builds the loader (embed.js) and the in-iframe app (app.js + app.css) into
// crates/server/assets/widget/, and the TV page's script (src/tv → tv.js) into
// crates/server/assets/tv/, where the server embeds them. All are on @anycart/sdk,
// so the widget and the TV page share one client. The output is committed so
// `cargo run` needs no Node; CI rebuilds and fails if it is stale.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, '..', '..', 'crates', 'server', 'assets', 'widget');
const tvOut = join(root, '..', '..', 'crates', 'server', 'assets', 'tv');
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, format: 'iife', target: 'es2020', legalComments: 'none', charset: 'utf8' };
await build({ ...common, entryPoints: [join(root, 'src', 'embed.ts')], outfile: join(out, 'embed.js') });
await build({ ...common, entryPoints: [join(root, 'src', 'app', 'main.ts')], outfile: join(out, 'app.js') });
await build({ entryPoints: [join(root, 'src', 'app', 'app.css')], outfile: join(out, 'app.css'), minify: true, bundle: true, charset: 'utf8' });
// tv.css stays hand-written beside it (crates/server/assets/tv/tv.css).
await build({ ...common, entryPoints: [join(root, 'src', 'tv', 'main.ts')], outfile: join(tvOut, 'tv.js') });
console.log(`built widget into ${out} and the TV script into ${tvOut}`);
