// Builds the dashboard into crates/server/assets/dashboard/ (app.js + app.css,
// fixed names, one chunk), where the server embeds them. The output is committed
// so running anycart needs no Node; CI rebuilds and fails if it is stale.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../../crates/server/assets/dashboard', import.meta.url));

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: out,
    emptyOutDir: true,
    target: 'es2022',
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: fileURLToPath(new URL('./src/main.ts', import.meta.url)),
      output: {
        format: 'es',
        inlineDynamicImports: true,
        entryFileNames: 'app.js',
        assetFileNames: 'app[extname]',
      },
    },
  },
});
