// Trail Dash: a tiny game whose in-game shop sells a real product through
// @anycart/sdk, with the game's own UI (no widget, no iframe). The demo serves
// it at `/app` on the demo pages' origin (crates/server/src/routes/pages/surfaces.rs).
// It shows the whole SDK path: a signed view and funnel events, live stock,
// a checkout session (create → address → pay with the sandbox card), errors.
// Rendering uses DOM APIs and textContent only, never innerHTML.
import {
  AnycartError, type FunnelEvent, type Session, type View, createAnycart, createSession, isBlocking,
  payWithSandboxCard, sandboxCardToken, sendEvents, startView, totalOf, updateSession, watchStock,
} from '../src/index.js';

interface GameConfig {
  base_url: string;
  publishable_key: string;
  placement: string;
  variants: { id: string; title: string; amount: number; currency: string }[];
}

const config = JSON.parse(document.getElementById('game-config')?.textContent ?? '{}') as GameConfig;
const ac = createAnycart({ baseUrl: config.base_url, publishableKey: config.publishable_key });
const root = document.getElementById('game') as HTMLElement;

const game = { metres: 0, energy: 5 };
const shop = {
  open: false,
  variantId: config.variants[0]?.id ?? '',
  stock: new Map<string, number>(),
  session: null as Session | null,
  step: 'pick' as 'pick' | 'address' | 'pay' | 'paid',
  error: '',
  busy: false,
};
let view: View | null = null;
const reported = new Set<string>();

type Attrs = Record<string, string>;
function el(tag: string, attrs: Attrs = {}, ...kids: (Node | string | null)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) if (k !== null) e.append(k);
  return e;
}

function money(minor: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(minor / 100);
}

/** Reports a funnel step once (the server counts each once per view anyway). */
function report(e: FunnelEvent): void {
  const key = e.step === 'left' ? `left:${e.reason}` : e.step;
  if (!view || reported.has(key)) return;
  reported.add(key);
  void sendEvents(ac, config.placement, view, [e]).catch(() => undefined);
}

function button(label: string, testid: string, onClick: () => void, primary = false): HTMLElement {
  const b = el('button', { type: 'button', 'data-testid': testid, ...(primary ? { class: 'primary' } : {}) }, label);
  if (shop.busy) b.setAttribute('disabled', '');
  b.addEventListener('click', onClick);
  return b;
}

function field(label: string, name: string, value = '', type = 'text'): HTMLElement {
  return el('label', {}, label, el('input', { name, value, type, required: '' }));
}

/** Runs one shop action at a time and shows the server's error sentence. */
async function act(task: () => Promise<void>): Promise<void> {
  if (shop.busy) return;
  shop.busy = true;
  shop.error = '';
  draw();
  try {
    await task();
  } catch (e) {
    shop.error = e instanceof AnycartError ? e.message : 'Something went wrong. Please try again.';
  } finally {
    shop.busy = false;
    draw();
  }
}

function blockingMessage(s: Session): string {
  return s.messages.filter(isBlocking).map((m) => m.content).join(' ');
}

async function buy(): Promise<void> {
  const v = config.variants.find((x) => x.id === shop.variantId);
  if (!v) return;
  const s = await createSession(ac, { currency: v.currency, line_items: [{ id: v.id, quantity: 1 }], capabilities: {} });
  report({ step: 'checkout_started' });
  const basket = s.messages.filter((m) => isBlocking(m) && (m.param ?? '').startsWith('$.line_items'));
  if (basket.length) {
    shop.error = basket.map((m) => m.content).join(' ');
    report({ step: 'left', reason: 'out_of_stock' });
    return;
  }
  shop.session = s;
  shop.step = 'address';
}

async function sendAddress(form: HTMLFormElement): Promise<void> {
  const s = shop.session;
  if (!s) return;
  const f = new FormData(form);
  const text = (k: string) => String(f.get(k) ?? '').trim();
  const next = await updateSession(ac, s.id, {
    buyer: { email: text('email') },
    fulfillment_details: { name: text('name'), address: { name: text('name'), line_one: text('line_one'), city: text('city'), state: text('state'), country: 'US', postal_code: text('postal_code') } },
  });
  shop.session = next;
  report({ step: 'contact' });
  const blocking = blockingMessage(next);
  if (blocking) { shop.error = blocking; return; }
  report({ step: 'shipping' });
  shop.step = 'pay';
}

async function pay(form: HTMLFormElement): Promise<void> {
  const s = shop.session;
  if (!s) return;
  const f = new FormData(form);
  const [month, year] = String(f.get('exp') ?? '').split('/').map((x) => Number(x.trim()));
  const token = await sandboxCardToken(ac, { number: String(f.get('number') ?? ''), exp_month: month ?? 0, exp_year: year ?? 0, cvc: String(f.get('cvc') ?? '') });
  report({ step: 'payment_attempted' });
  const done = await payWithSandboxCard(ac, s, token);
  shop.session = done;
  if (done.status === 'completed' && done.order) {
    report({ step: 'paid' });
    game.energy += 5;
    shop.step = 'paid';
    return;
  }
  if (done.messages.some((m) => m.code === 'payment_declined')) report({ step: 'left', reason: 'declined' });
  shop.error = done.messages.filter((m) => m.type === 'error').map((m) => m.content).join(' ') || 'The payment did not go through.';
}

function shopView(): HTMLElement {
  const s = shop.session;
  const body: (Node | null)[] = [el('h2', {}, 'Trail shop')];
  if (shop.step === 'pick') {
    body.push(el('p', {}, 'Real gear, shipped to you. Every bottle bought refills 5 energy.'));
    for (const v of config.variants) {
      const left = shop.stock.get(v.id);
      const radio = el('input', { type: 'radio', name: 'variant', value: v.id, ...(v.id === shop.variantId ? { checked: '' } : {}) });
      radio.addEventListener('change', () => { shop.variantId = v.id; draw(); });
      body.push(el('label', { class: 'variant' }, radio, ` ${v.title} — ${money(v.amount, v.currency)} `,
        el('span', { 'data-testid': `stock-${v.id}` }, left === undefined ? '' : left > 0 ? `${left} left` : 'sold out')));
    }
    const soldOut = (shop.stock.get(shop.variantId) ?? 1) <= 0;
    body.push(button(soldOut ? 'Sold out' : 'Buy', 'shop-buy', () => { if (!soldOut) void act(buy); }, true));
  } else if (shop.step === 'address' && s) {
    const form = el('form', { 'data-testid': 'address-form' },
      field('Email', 'email', '', 'email'), field('Full name', 'name'), field('Address', 'line_one'), field('City', 'city'),
      field('State', 'state'), field('Postal code', 'postal_code'), el('button', { type: 'submit', class: 'primary' }, 'Continue')) as HTMLFormElement;
    form.addEventListener('submit', (e) => { e.preventDefault(); void act(() => sendAddress(form)); });
    body.push(form);
  } else if (shop.step === 'pay' && s) {
    body.push(el('p', { 'data-testid': 'shop-total' }, `Total ${money(totalOf(s, 'total'), s.currency)} (shipping and tax included)`));
    const form = el('form', { 'data-testid': 'card-form' },
      field('Card number', 'number', '4242 4242 4242 4242'), field('Expiry (MM/YY)', 'exp', '12/34'), field('CVC', 'cvc', '123'),
      el('button', { type: 'submit', class: 'primary' }, `Pay ${money(totalOf(s, 'total'), s.currency)}`)) as HTMLFormElement;
    form.addEventListener('submit', (e) => { e.preventDefault(); void act(() => pay(form)); });
    body.push(form);
  } else if (shop.step === 'paid' && s?.order) {
    body.push(el('p', { 'data-testid': 'shop-paid', role: 'status' }, `Paid — order #${s.order.order_number}. +5 energy!`));
    body.push(button('Back to the trail', 'shop-close', () => { shop.open = false; shop.step = 'pick'; shop.session = null; draw(); }));
  }
  body.push(el('p', { class: 'error', role: 'alert', 'data-testid': 'shop-error' }, shop.error));
  return el('section', { class: 'shop', 'aria-label': 'Trail shop' }, ...body);
}

function draw(): void {
  const run = button('Run 100 m', 'run', () => {
    if (game.energy > 0) { game.metres += 100; game.energy -= 1; }
    draw();
  });
  const openShop = button('🛒 Shop', 'open-shop', () => { shop.open = true; report({ step: 'opened' }); draw(); });
  root.replaceChildren(
    el('h1', {}, 'Trail Dash'),
    el('p', { 'data-testid': 'score' }, `${game.metres} m run · energy ${game.energy}`),
    el('div', { class: 'controls' }, run, openShop),
    ...(shop.open ? [shopView()] : []),
  );
}

async function main(): Promise<void> {
  draw();
  watchStock(ac, config.variants.map((v) => v.id), (e) => {
    shop.stock.set(e.variant_id, e.available);
    // Redraw only where the figures show: a redraw would clear a form being typed in.
    if (shop.step === 'pick') draw();
  });
  // Funnel events need a signed view; the game works without one (nothing is reported).
  view = await startView(ac, config.placement).catch(() => null);
  report({ step: 'impression' });
}

void main();
