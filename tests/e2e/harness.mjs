// What browser and SDK tests share: a real `anycart serve --demo` on free ports
// (API and demo pages on two origins), the admin API with the demo's secret key,
// and Debian's Chromium through playwright-core. (widget.mjs, stripe.mjs,
// docs.mjs and dashboard.mjs predate it and keep their own copies.)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.ANYCART_BIN ?? join(repo, 'target', 'debug', 'anycart');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const START_TIMEOUT_MS = 60_000;

/** Starts the demo; `log()` is its stderr so far (sign-in codes are logged there). */
export async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), 'anycart-e2e-'));
  const child = spawn(BIN, ['serve', '--demo', '--addr', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let out = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { out += d; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/demo\.json/.test(out) || !existsSync(join(dir, 'demo.json'))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const demo = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8'));
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${demo.base_url}/healthz`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, demo, log: () => stderr };
}

/** Calls the admin API (`/v1…`) with the demo's secret key. */
export async function admin(demo, method, path, body) {
  const res = await fetch(`${demo.base_url}/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${demo.secret_key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Headless Chromium (playwright-core from web/widget's node_modules). */
export async function launchChromium() {
  const require = createRequire(join(repo, 'web', 'widget', 'package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

let checksPassed = 0;

/** Runs one named check and prints how long it took; `passed()` counts them. */
export async function check(name, fn) {
  const started = Date.now();
  await fn();
  checksPassed += 1;
  console.log(`  ok  ${name} (${Date.now() - started} ms)`);
}

export function passed() {
  return checksPassed;
}
