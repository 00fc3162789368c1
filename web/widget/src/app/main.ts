// The checkout app inside the anycart iframe: product → contact & address →
// shipping, discount & totals → card → confirmation, all through the ACP checkout
// API with the placement's publishable key. Returning shoppers sign in with an
// emailed one-time code instead and pay with their saved card in one tap.
// Rendering uses DOM APIs and textContent only (never innerHTML), so no
// catalogue or API text can inject markup.
import { cfg } from './config';
import { observe, startFunnel } from './funnel';
import { isHandoff, resumeHandoff } from './handoff';
import { ancestorOk, handshake, tellHost } from './host';
import { renderShell } from './render/shell';
import { loadShopper } from './shopper';
import { state } from './state';
import { watchStock } from './stock';
import { applyTheme } from './theme';
import { go, mount, render, run } from './ui';

async function main(): Promise<void> {
  const root = document.getElementById('app') as HTMLElement;
  mount(root, () => { renderShell(root); observe(); });
  applyTheme(cfg.theme);
  state.shopper = loadShopper();
  // Report the content's own height (not the viewport's) so the host can shrink the frame too.
  new ResizeObserver(() => tellHost('ec.resize', { height: Math.ceil(root.getBoundingClientRect().height) })).observe(root);
  render();
  // A TV's session continued on the phone: a top-level page with no host.
  if (isHandoff()) return run(resumeHandoff);
  // Link checkout (`/buy/…`) is the page itself: no host to greet. Framed, the
  // page must be the host's verified child like any widget.
  const hostedPage = cfg.hosted && window.parent === window;
  if (!hostedPage && (!ancestorOk() || !(await handshake()))) {
    state.refusal = 'This checkout is not available on this website.';
    go('refused');
    return;
  }
  go('product');
  // When the shopper can act: the browser tests read it (link checkout's
  // "interactive in under a second").
  performance.mark('anycart:interactive');
  startFunnel(root);
  watchStock(() => { if (state.step === 'product') render(); });
}

void main();
