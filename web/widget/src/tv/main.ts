// The TV checkout (served by crates/server/src/routes/tv/page.rs). Remote only:
// arrow keys move the focus between buttons, Enter presses one; no pointer, no
// typed text. "Buy" opens the checkout session through the ACP API with the
// placement's publishable key, holding the stock, then shows a hand-off code and
// its QR (drawn by the server) for the shopper's phone, and follows the session
// until it is paid. A returning shopper may instead confirm on the TV: their
// email on an on-screen keyboard, the 6-digit code emailed to them on a number
// pad, then the address and card saved with the merchant pay the held session
// (the widget's calls: sendSignInCode, verifySignInCode, prefillSession, then
// completeSession with the shopper token as the credential).
//
// Every call goes through @anycart/sdk, the widget's client (one client, issue
// 13); the hand-off code, which the SDK has no helper for, through its typed
// `post`. Text is set with textContent only; the one markup inserted is the
// server's own QR SVG, parsed as XML. Built by scripts/build.mjs into
// crates/server/assets/tv/tv.js.
import {
  SANDBOX_CARD_HANDLER,
  completeSession,
  createAnycart,
  createSession,
  getSession,
  post,
  prefillSession,
  sendSignInCode,
  verifySignInCode,
  cancelSession as sdkCancelSession,
} from '@anycart/sdk';
import type { Session, Verified, components } from '@anycart/sdk';
import { focus, focusDefault, focusLost, h, move, moveInGrid, root, show } from './dom';

type Schemas = components['schemas'];
type Variant = Schemas['WidgetVariant'];
type Handoff = Schemas['HandoffWire'];

const cfg = JSON.parse(document.getElementById('anycart-config')?.textContent ?? '{}') as Schemas['WidgetConfig'];
const client = createAnycart({ baseUrl: '', publishableKey: cfg.publishable_key, apiVersion: cfg.api_version });

const POLL_MS = 2000;
const BACK_KEYS = ['Escape', 'Backspace', 'GoBack', 'BrowserBack'];
const BACK_KEY_CODES = [461, 10009, 8, 27]; // webOS, Tizen, and the usual two
const EMAIL_MAX = 254;
const CODE_DIGITS = cfg.sign_in_code_digits || 6;
/** The on-screen keyboard for an email: one grid, moved through with the arrows. */
const EMAIL_KEYS = [
  ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
  ['q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p'],
  ['a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', '@'],
  ['z', 'x', 'c', 'v', 'b', 'n', 'm', '.', '_', '-'],
  ['.com', '+', 'delete', 'clear'],
];
const PAD_KEYS = [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9'], ['delete', '0', 'clear']];
const KEY_LABELS: Record<string, string> = { delete: '\u232b Delete', clear: 'Clear' };
const DIRS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

interface State {
  variant: Variant;
  quantity: number;
  session: Session | null;
  handoff: Handoff | null;
  timer: number;
  busy: boolean;
  email: string;
  code: string;
}

const st: State = { variant: pickVariant(), quantity: Math.max(1, cfg.quantity || 1), session: null, handoff: null, timer: 0, busy: false, email: '', code: '' };

function pickVariant(): Variant {
  const vs = cfg.product.variants;
  return vs.find((v) => v.id === cfg.variant_id) ?? vs.find((v) => v.available > 0) ?? vs[0];
}

/** What to tell the shopper about a failure: the server's ACP message (the SDK's
 * `AnycartError`), or the sentence this script threw. */
function said(e: unknown): string {
  return e instanceof Error ? e.message : 'Something went wrong. Please try again.';
}

function money(amount: number, v: Variant): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: v.currency.toUpperCase() }).format(amount / Math.pow(10, v.exponent));
  } catch {
    return (amount / Math.pow(10, v.exponent)).toFixed(v.exponent) + ' ' + v.currency.toUpperCase();
  }
}

function productScreen(error?: string): void {
  const v = st.variant;
  const media = h('div', { class: 'media' }, cfg.product.image_url || v.image_url ? h('img', { src: v.image_url || cfg.product.image_url || '', alt: '' }) : null);
  const variants = cfg.product.variants.length > 1 ? h('div', { class: 'row', role: 'group', 'aria-label': 'Options' }) : null;
  for (const x of cfg.product.variants) {
    if (!variants) break;
    variants.append(
      h('button', {
        'data-variant': x.id,
        'aria-pressed': String(x.id === v.id),
        onclick: () => {
          st.variant = x;
          productScreen();
          focus(`[data-variant="${x.id}"]`);
        },
      }, x.title),
    );
  }
  const cap = Math.min(cfg.quantity_max, v.max_quantity_per_order || cfg.quantity_max, Math.max(1, v.available));
  const qty = h('div', { class: 'row', role: 'group', 'aria-label': 'Quantity' },
    h('button', { id: 'less', 'aria-label': 'One less', onclick: () => setQty(st.quantity - 1, 'less') }, '−'),
    h('span', { class: 'qty', 'data-testid': 'quantity' }, String(st.quantity)),
    h('button', { id: 'more', 'aria-label': 'One more', onclick: () => setQty(Math.min(cap, st.quantity + 1), 'more') }, '+'));
  const soldOut = v.available <= 0;
  const panel = h('div', { class: 'panel' },
    h('h1', {}, cfg.product.title),
    h('div', { class: 'price' }, money(v.amount * st.quantity, v)),
    variants, qty,
    h('div', { class: 'row' }, h('button', { id: 'buy', class: 'primary', onclick: () => void buy() }, soldOut ? 'Sold out' : 'Buy')),
    error ? h('p', { class: 'error', role: 'alert' }, error) : h('p', { class: 'muted' }, 'Use the arrows to choose and OK to buy. You pay on your phone.'));
  show([media, panel], 'buy');
  if (soldOut) (document.getElementById('buy') as HTMLButtonElement).disabled = true;
}

function setQty(n: number, keep: string): void {
  st.quantity = Math.max(1, n);
  productScreen();
  focus('#' + keep);
}

async function buy(): Promise<void> {
  if (st.busy) return;
  st.busy = true;
  const v = st.variant;
  try {
    const s = await createSession(client, { currency: v.currency, line_items: [{ id: v.id, quantity: st.quantity }], capabilities: {} });
    st.session = s;
    const basket = (s.messages || []).filter((m) => m.resolution === 'requires_buyer_input' && (m.param || '').indexOf('$.line_items') === 0);
    if (basket.length) {
      // Nothing to buy: give the stock back at once.
      await cancelSession();
      throw new Error(basket[0].content);
    }
    handoffScreen(await post(client, '/widget/handoffs', { checkout_session_id: s.id }));
  } catch (e) {
    productScreen(said(e));
  } finally {
    st.busy = false;
  }
}

function handoffScreen(ho: Handoff): void {
  const qr = h('div', { class: 'qr', 'aria-label': 'QR code to continue on your phone', role: 'img' });
  const svg = new DOMParser().parseFromString(ho.qr_svg, 'image/svg+xml').documentElement;
  if (svg && svg.nodeName === 'svg') qr.append(document.importNode(svg, true));
  const panel = h('div', { class: 'panel' },
    h('h1', {}, 'Finish on your phone'),
    h('p', {}, 'Scan the code with your phone\u2019s camera, or go to ', h('strong', {}, ho.short_url), ' and enter'),
    h('div', { class: 'code', 'data-testid': 'handoff-code', 'data-code': ho.code }, ho.code_display),
    h('p', { class: 'status', 'data-testid': 'tv-status' }, 'Your items are held for you. Waiting for your phone\u2026'),
    h('div', { class: 'row' }, h('button', { id: 'cancel', onclick: () => void cancelSession().then(() => productScreen()) }, 'Cancel')));
  panel.querySelector('.row')?.prepend(h('button', { id: 'returning', onclick: () => emailScreen() }, 'I\u2019ve bought here before'));
  st.handoff = ho;
  show([qr, panel], 'cancel');
  follow();
}

/** A key of a grid, or an action button on its last row. */
type Key = string | { id: string; label: string; primary?: boolean; onclick: () => void };

/** A grid of keys (`rows` of key names) with `actions` as its last row; every
 * button knows its row and column, so the arrows move through it as a grid. */
function keyGrid(rows: string[][], actions: Key[], press: (k: string) => void): HTMLElement {
  const grid = h('div', { class: 'keys', role: 'group', 'aria-label': 'Keyboard' });
  ([...rows, actions] as Key[][]).forEach((keys, r) => {
    const row = h('div', { class: 'keyrow' });
    keys.forEach((k, c) => {
      const b = typeof k === 'string'
        ? h('button', { 'data-key': k, onclick: () => press(k) }, KEY_LABELS[k] || k)
        : h('button', { id: k.id, class: k.primary ? 'primary' : '', onclick: k.onclick }, k.label);
      b.setAttribute('data-row', String(r));
      b.setAttribute('data-col', String(c));
      row.append(b);
    });
    grid.append(row);
  });
  return grid;
}

function field(testid: string, text: string, placeholder: string): HTMLElement {
  return h('div', { class: 'field', 'data-testid': testid, 'aria-live': 'polite' }, text || h('span', { class: 'muted' }, placeholder));
}

function problem(error?: string): HTMLElement | null {
  return error ? h('p', { class: 'error', role: 'alert' }, error) : null;
}

function emailScreen(error?: string): void {
  const panel = h('div', { class: 'panel wide' },
    h('h1', {}, 'Your email'),
    h('p', { class: 'muted' }, 'We\u2019ll email you a code to confirm it\u2019s you, then pay with your saved address and card.'),
    field('tv-email', st.email, 'name@example.com'),
    problem(error),
    keyGrid(EMAIL_KEYS, [
      { id: 'send-code', label: 'Email me a code', primary: true, onclick: () => void sendCode() },
      { id: 'back', label: 'Back', onclick: () => backToHandoff() },
    ], (k) => {
      if (k === 'delete') st.email = st.email.slice(0, -1);
      else if (k === 'clear') st.email = '';
      else st.email = (st.email + k).slice(0, EMAIL_MAX);
      document.querySelector('[data-testid="tv-email"]')?.replaceChildren(st.email || h('span', { class: 'muted' }, 'name@example.com'));
    }));
  show([panel], 'send-code');
  focus('[data-key="1"]');
}

function codeScreen(error?: string): void {
  const panel = h('div', { class: 'panel wide' },
    h('h1', {}, 'Enter the code'),
    h('p', {}, 'We emailed a ' + CODE_DIGITS + '-digit code to ', h('strong', {}, st.email), '.'),
    field('tv-otp', st.code.replace(/./g, '\u25cf '), CODE_DIGITS + ' digits'),
    problem(error),
    keyGrid(PAD_KEYS, [
      { id: 'confirm', label: 'Confirm and pay', primary: true, onclick: () => void confirmCode() },
      { id: 'back', label: 'Back', onclick: () => emailScreen() },
    ], (k) => {
      if (k === 'delete') st.code = st.code.slice(0, -1);
      else if (k === 'clear') st.code = '';
      else if (st.code.length < CODE_DIGITS) st.code += k;
      const otp = document.querySelector('[data-testid="tv-otp"]');
      otp?.replaceChildren(st.code.replace(/./g, '\u25cf ') || h('span', { class: 'muted' }, CODE_DIGITS + ' digits'));
      otp?.setAttribute('data-length', String(st.code.length));
      if (st.code.length === CODE_DIGITS) focus('#confirm');
    }));
  show([panel], 'confirm');
  focus('[data-key="1"]');
}

/** Back to the hand-off code, saying `error` there (or to the product without a session). */
function backToHandoff(error?: string): void {
  const text = error ?? '';
  if (!st.session || !st.handoff) return productScreen(text);
  handoffScreen(st.handoff);
  const p = problem(text);
  if (p) root.querySelector('.status')?.replaceWith(p);
}

async function sendCode(): Promise<void> {
  if (st.busy) return;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(st.email)) return emailScreen('Type your whole email address, like name@example.com.');
  st.busy = true;
  try {
    await sendSignInCode(client, { placement_id: cfg.placement_id, email: st.email });
    st.code = '';
    codeScreen();
  } catch (e) {
    emailScreen(said(e));
  } finally {
    st.busy = false;
  }
}

/** The code → the shopper token → the session filled from the saved details →
 * paid with the saved card (the token is the credential; the card itself never
 * reaches the TV). Anything short of that: finish on the phone. */
async function confirmCode(): Promise<void> {
  if (st.busy || !st.session) return;
  if (st.code.length !== CODE_DIGITS) return codeScreen('Enter all ' + CODE_DIGITS + ' digits.');
  st.busy = true;
  const session = st.session;
  try {
    let v: Verified;
    try {
      v = await verifySignInCode(client, { placement_id: cfg.placement_id, email: st.email, code: st.code });
    } catch (e) {
      st.code = '';
      codeScreen(said(e));
      return;
    }
    if (!v.profile) throw new Error('Nothing is saved for this email yet. Scan the code to finish on your phone.');
    const s = await prefillSession(client, session.id, v.shopper_token);
    if (s.status !== 'ready_for_payment') throw new Error('Your saved details are not enough for this order. Scan the code to finish on your phone.');
    const done = await payWithSaved(s, v.shopper_token);
    if (done.status === 'completed') return paidScreen(done);
    backToHandoff(done.messages?.[0]?.content || 'The payment did not go through. Scan the code to finish on your phone.');
  } catch (e) {
    backToHandoff(said(e));
  } finally {
    st.busy = false;
  }
}

function payWithSaved(s: Session, shopperToken: string): Promise<Session> {
  const stripe = cfg.payment && cfg.payment.provider === 'stripe';
  const handler = (s.capabilities.payment.handlers || []).find((x) => (stripe ? x.psp === 'stripe' : x.name === SANDBOX_CARD_HANDLER));
  if (!handler) throw new Error('Card payments are not available here. Scan the code to finish on your phone.');
  return completeSession(client, s.id, {
    payment_data: { handler_id: handler.id, instrument: { type: 'card', credential: { type: stripe ? 'card' : 'spt', token: shopperToken } } },
  });
}

/** Follows the held session until it is paid on the phone, cancelled or expired. */
function follow(): void {
  clearTimeout(st.timer);
  if (!st.session) return;
  const id = st.session.id;
  st.timer = window.setTimeout(() => {
    getSession(client, id).then((s) => {
      if (!st.session || st.session.id !== id) return; // paid on the TV meanwhile, or cancelled
      if (s.status === 'completed') return paidScreen(s);
      if (s.status === 'canceled' || s.status === 'expired') return endedScreen();
      follow();
    }, follow);
  }, POLL_MS);
}

function paidScreen(s: Session): void {
  st.session = null;
  st.handoff = null;
  st.code = '';
  clearTimeout(st.timer);
  const number = s.order && s.order.order_number ? s.order.order_number : '';
  show([h('div', { class: 'panel' },
    h('p', { class: 'paid', 'data-testid': 'tv-paid' }, 'Paid \u2014 order #' + number),
    h('p', {}, 'Thank you! Your confirmation is on its way to your email.'),
    h('div', { class: 'row' }, h('button', { id: 'done', onclick: () => productScreen() }, 'Done')))], 'done');
}

function endedScreen(): void {
  st.session = null;
  st.handoff = null;
  show([h('div', { class: 'panel' },
    h('h1', { 'data-testid': 'tv-ended' }, 'This checkout has ended'),
    h('p', {}, 'The hold ran out or the checkout was cancelled. Nothing was charged.'),
    h('div', { class: 'row' }, h('button', { id: 'again', onclick: () => productScreen() }, 'Start again')))], 'again');
}

/** Gives the held stock back (best effort: an unreachable server lets the hold run out). */
async function cancelSession(): Promise<void> {
  const s = st.session;
  st.session = null;
  st.handoff = null;
  clearTimeout(st.timer);
  if (!s) return;
  await sdkCancelSession(client, s.id).catch(() => undefined);
}

window.addEventListener('focus', () => {
  if (focusLost()) focusDefault();
});

document.addEventListener('keydown', (e) => {
  if (focusLost() && e.key !== 'Tab') {
    e.preventDefault();
    focusDefault();
    return;
  }
  const d = DIRS[e.key];
  const at = document.activeElement;
  if (d && at && at.hasAttribute('data-row')) {
    e.preventDefault();
    moveInGrid(at, d[0], d[1]);
    return;
  }
  if (d) {
    e.preventDefault();
    move(d[0], d[1]);
    return;
  }
  if (BACK_KEYS.includes(e.key) || BACK_KEY_CODES.includes(e.keyCode)) {
    const back = document.getElementById('back') || document.getElementById('cancel') || document.getElementById('done') || document.getElementById('again');
    if (back) {
      e.preventDefault();
      back.click();
    }
  }
});

productScreen();
