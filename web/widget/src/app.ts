// The checkout app inside the anycart iframe: product → contact & address →
// shipping, discount & totals → card → confirmation, all through the ACP checkout
// API with the placement's publishable key. Returning shoppers sign in with an
// emailed one-time code instead (no cookies: the iframe's storage is partitioned
// per host site, so each site asks once) and pay with their saved card in one tap. Rendering uses DOM APIs and
// textContent only (never innerHTML), so no catalogue or API text can inject markup.
import { EC_VERSION, isRpc } from './protocol';

interface Variant {
  id: string; title: string; options: [string, string][]; amount: number; currency: string;
  exponent: number; available: number; max_quantity_per_order: number | null; image_url: string | null;
}
interface Theme {
  primary_color: string | null; background_color: string | null; text_color: string | null;
  font_family: string | null; radius_px: number | null; logo_url: string | null; dark: boolean | null;
}
interface Config {
  placement_id: string; publishable_key: string; host_origin: string; layout: 'compact' | 'fluid';
  api_version: string; variant_id: string | null; quantity: number; theme: Theme;
  product: { title: string; description: string; image_url: string | null; variants: Variant[] };
}
interface Message { type: string; code?: string; content: string; param?: string }
interface Total { type: string; display_text: string; amount: number }
interface FulfillmentOption { id: string; title: string; description: string; totals: Total[] }
interface LineItem { variant_id: string; quantity: number; unit_amount: number; available_quantity: number; availability_status: string }
interface Session {
  id: string; status: string; currency: string; line_items: LineItem[]; totals: Total[];
  fulfillment_options: FulfillmentOption[]; selected_fulfillment_options?: { option_id: string }[];
  messages: Message[]; order?: { id: string; order_number: string; permalink_url: string };
}
interface ApiError { type: string; code: string; message: string; param?: string }

interface Profile { name: string | null; address: string | null; card_brand: string | null; card_last4: string | null }
/** A verified returning shopper (`POST /widget/shoppers/verify`). */
interface Shopper { shopper_token: string; expires_at: string; email: string; profile: Profile | null }

type Step = 'loading' | 'product' | 'contact' | 'signin' | 'express' | 'review' | 'payment' | 'done' | 'refused';

/** Where the shopper token is kept: this iframe's storage, partitioned per host site. */
const SHOPPER_KEY = 'anycart.shopper';

const HANDSHAKE_TIMEOUT_MS = 5000;
const LOW_STOCK_MAX = 5;
const BLOCKING = new Set(['out_of_stock', 'quantity_exceeded', 'missing', 'invalid']);
const COUNTRIES: [string, string][] = [['US', 'United States'], ['CA', 'Canada'], ['GB', 'United Kingdom'], ['DE', 'Germany'], ['FR', 'France'], ['NL', 'Netherlands'], ['IE', 'Ireland']];

const cfgEl = document.getElementById('anycart-config');
const cfg = JSON.parse(cfgEl?.textContent ?? '{}') as Config;
const root = document.getElementById('app') as HTMLElement;
const variants = cfg.product.variants;

const state = {
  step: 'loading' as Step,
  variantId: variants.find((v) => v.id === cfg.variant_id)?.id ?? variants.find((v) => v.available > 0)?.id ?? variants[0]?.id ?? '',
  quantity: Math.max(1, cfg.quantity || 1),
  session: null as Session | null,
  busy: false,
  errors: [] as string[],
  /** ACP codes behind `errors`, exposed as data-codes for tests and host analytics. */
  errorCodes: [] as string[],
  notices: [] as string[],
  live: new Map<string, number>(variants.map((v) => [v.id, v.available])),
  form: { email: '', name: '', line_one: '', city: '', state: '', postal_code: '', country: 'US', code: '', number: '', exp: '', cvc: '', otp: '' },
  shopper: null as Shopper | null,
  /** A sign-in code was sent (the sign-in step then asks for it). */
  codeSent: false,
  /** "Remember me for faster checkout" (off until the shopper ticks it). */
  remember: false,
  /** The opt-in the server holds for this session (so unticking withdraws it). */
  rememberSent: false,
  /** An element to focus after the next render (e.g. the code field once sent). */
  focus: '',
  refusal: '',
  /** The token awaiting a 3-D Secure confirmation (a token, never card data). */
  pending3ds: '',
};

// ---------- host messaging (strict origins both ways) ----------

function post(method: string, params: Record<string, unknown> = {}, id?: string): void {
  if (window.parent === window) return;
  const msg: Record<string, unknown> = { jsonrpc: '2.0', method, params };
  if (id) msg['id'] = id;
  // targetOrigin = the verified host origin: the browser drops it anywhere else.
  window.parent.postMessage(msg, cfg.host_origin);
}

function handshake(): Promise<boolean> {
  return new Promise((resolve) => {
    const id = `ready_${Math.random().toString(36).slice(2)}`;
    const timer = setTimeout(() => { window.removeEventListener('message', onMsg); resolve(false); }, HANDSHAKE_TIMEOUT_MS);
    function onMsg(e: MessageEvent): void {
      if (e.source !== window.parent || e.origin !== cfg.host_origin || !isRpc(e.data) || e.data.id !== id) return;
      const ucp = e.data.result?.['ucp'] as { version?: string; status?: string } | undefined;
      if (ucp?.status !== 'success' || ucp.version !== EC_VERSION) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMsg);
      resolve(true);
    }
    window.addEventListener('message', onMsg);
    post('ec.ready', { delegate: [] }, id);
  });
}

/** The framing page's origin as the browser reports it (not as the URL claims). */
function ancestorOk(): boolean {
  if (window.parent === window) return false;
  const ancestors = location.ancestorOrigins;
  if (ancestors && ancestors.length > 0) return ancestors[0] === cfg.host_origin;
  try {
    return document.referrer === '' || new URL(document.referrer).origin === cfg.host_origin;
  } catch {
    return false;
  }
}

// ---------- API ----------

function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

class CallError extends Error {
  constructor(readonly body: ApiError) { super(body.message); }
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${cfg.publishable_key}`, 'API-Version': cfg.api_version };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Idempotency-Key'] = uuid();
  }
  let res: Response;
  try {
    res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch {
    throw new CallError({ type: 'network', code: 'network', message: 'We could not reach the shop. Check your connection and try again.' });
  }
  const json = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok) throw new CallError(json as ApiError);
  return json as T;
}

// ---------- helpers ----------

function money(amount: number, currency: string, exponent = 2): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(amount / 10 ** exponent);
  } catch {
    return `${(amount / 10 ** exponent).toFixed(exponent)} ${currency.toUpperCase()}`;
  }
}

type Child = Node | string | null | false | undefined;
type Props = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== false && c !== undefined) el.append(c);
  return el;
}

function field(label: string, name: keyof typeof state.form, attrs: Props = {}): HTMLElement {
  const id = `f-${name}`;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name, value: state.form[name], required: true, oninput: (e: Event) => { state.form[name] = (e.target as HTMLInputElement).value; }, ...attrs }));
}

function variant(): Variant | undefined {
  return variants.find((v) => v.id === state.variantId);
}

function available(id: string): number {
  return state.live.get(id) ?? 0;
}

function total(kind: string): number {
  return state.session?.totals.find((t) => t.type === kind)?.amount ?? 0;
}

function absorb(s: Session): void {
  state.session = s;
  for (const li of s.line_items) state.live.set(li.variant_id, li.available_quantity);
  const errors = s.messages.filter((m) => m.type === 'error').map((m) => m.content);
  const notices = s.messages.filter((m) => m.type !== 'error').map((m) => m.content);
  state.errors = errors;
  state.errorCodes = s.messages.filter((m) => m.type === 'error').map((m) => m.code ?? '');
  state.notices = notices;
  post('ec.messages.change', { messages: s.messages });
}

function blocked(s: Session): boolean {
  return s.messages.some((m) => m.type === 'error' && BLOCKING.has(m.code ?? ''));
}

async function run(task: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  state.errors = [];
  state.errorCodes = [];
  render();
  try {
    await task();
  } catch (e) {
    const body = e instanceof CallError ? e.body : { type: 'client', code: 'client', message: 'Something went wrong. Please try again.' };
    state.errors = [body.message];
    state.errorCodes = [body.code];
    post('ec.error', { code: body.code, message: body.message });
  } finally {
    state.busy = false;
    render();
  }
}

function go(step: Step): void {
  state.step = step;
  render();
  root.querySelector<HTMLElement>('h2')?.focus();
}

// ---------- actions ----------

async function startCheckout(): Promise<void> {
  const s = await call<Session>('/checkout_sessions', {
    currency: variant()?.currency ?? 'usd',
    line_items: [{ id: state.variantId, quantity: state.quantity }],
    capabilities: {},
  });
  const stockProblem = s.messages.some((m) => m.code === 'out_of_stock' || m.code === 'quantity_exceeded');
  absorb(s);
  if (stockProblem) {
    // Nothing to buy: end the session at once so no stock stays held.
    await call<Session>(`/checkout_sessions/${s.id}/cancel`, {}).catch(() => undefined);
    state.session = null;
    // Only the stock problem matters here; "email missing" etc. belong to later steps.
    const stock = s.messages.filter((m) => m.code === 'out_of_stock' || m.code === 'quantity_exceeded');
    state.errors = stock.map((m) => m.content);
    state.errorCodes = stock.map((m) => m.code ?? '');
    return;
  }
  // "Email missing", "address missing": that is what the next step asks for anyway.
  state.errors = [];
  state.errorCodes = [];
  // The page may be older than the catalogue: say so when the price moved.
  const v = variant();
  const line = s.line_items.find((li) => li.variant_id === state.variantId);
  if (v && line && line.unit_amount !== v.amount) {
    state.notices = [`The price changed from ${money(v.amount, v.currency, v.exponent)} to ${money(line.unit_amount, v.currency, v.exponent)}.`, ...state.notices];
    v.amount = line.unit_amount;
  }
  post('ec.start', { checkout: { id: s.id } });
  state.step = 'contact';
  if (state.shopper?.profile) await useSaved();
}

async function saveContact(): Promise<void> {
  const s = state.session;
  if (!s) return;
  const f = state.form;
  const next = await call<Session>(`/checkout_sessions/${s.id}`, {
    buyer: { email: f.email.trim() },
    fulfillment_details: { name: f.name.trim(), address: { name: f.name.trim(), line_one: f.line_one.trim(), city: f.city.trim(), state: f.state.trim(), country: f.country, postal_code: f.postal_code.trim() } },
  });
  absorb(next);
  if (!blocked(next)) state.step = 'review';
}

async function chooseShipping(optionId: string): Promise<void> {
  const s = state.session;
  if (!s) return;
  absorb(await call<Session>(`/checkout_sessions/${s.id}`, { selected_fulfillment_options: [{ type: 'shipping', option_id: optionId, item_ids: [] }] }));
}

async function applyCode(): Promise<void> {
  const s = state.session;
  const code = state.form.code.trim();
  if (!s || !code) return;
  absorb(await call<Session>(`/checkout_sessions/${s.id}`, { discounts: { codes: [code] } }));
}

// ---------- returning shoppers ----------

function loadShopper(): Shopper | null {
  try {
    const s = JSON.parse(localStorage.getItem(SHOPPER_KEY) ?? 'null') as Shopper | null;
    return s && Date.parse(s.expires_at) > Date.now() ? s : null;
  } catch {
    return null; // storage blocked: sign in each time
  }
}

function keepShopper(s: Shopper | null): void {
  state.shopper = s;
  try {
    if (s) localStorage.setItem(SHOPPER_KEY, JSON.stringify(s));
    else localStorage.removeItem(SHOPPER_KEY);
  } catch { /* storage blocked: keep it in memory only */ }
}

async function sendCode(): Promise<void> {
  const email = state.form.email.trim();
  await call('/widget/shoppers/codes', { placement_id: cfg.placement_id, email });
  state.codeSent = true;
  state.form.otp = '';
  state.focus = 'f-otp';
}

async function verifyCode(): Promise<void> {
  const v = await call<Shopper>('/widget/shoppers/verify', { placement_id: cfg.placement_id, email: state.form.email.trim(), code: state.form.otp.trim() });
  state.codeSent = false;
  state.form.otp = '';
  state.notices = [];
  keepShopper(v);
  state.form.email = v.email;
  if (v.profile) {
    await useSaved();
  } else {
    state.notices = ['Nothing is saved for this email yet: fill in your details once and tick "Remember me".'];
    state.step = 'contact';
  }
}

/** Fills the session from the saved profile (server side) and offers one-tap pay. */
async function useSaved(): Promise<void> {
  const s = state.session;
  const sh = state.shopper;
  if (!s || !sh) return;
  let next: Session;
  try {
    next = await call<Session>('/widget/shoppers/prefill', { checkout_session_id: s.id, shopper_token: sh.shopper_token });
  } catch (e) {
    if (e instanceof CallError && (e.body.code === 'invalid_shopper_token' || e.body.code === 'not_found')) {
      keepShopper(null);
      state.step = 'contact';
      return;
    }
    throw e;
  }
  absorb(next);
  state.form.email = sh.email;
  state.step = blocked(next) || next.status !== 'ready_for_payment' ? 'review' : 'express';
}

/** Pays with the saved card: the shopper token is the credential; the server swaps
 * it for the saved provider token, which never reaches this page. */
async function oneTap(): Promise<void> {
  const s = state.session;
  const sh = state.shopper;
  if (!s || !sh) return;
  try {
    await complete(s, sh.shopper_token, false);
  } catch (e) {
    if (e instanceof CallError && e.body.code === 'invalid_payment_token') keepShopper(null);
    state.step = 'payment';
    throw e;
  }
  // Declined or the bank must confirm: fall back to the card form (with the reason).
  if (state.step !== 'done') state.step = 'payment';
}

function signOut(): void {
  const token = state.shopper?.shopper_token;
  if (token) void call('/widget/shoppers/sign_out', { shopper_token: token }).catch(() => undefined);
  keepShopper(null);
  state.notices = [];
  go('contact');
}

/** "Forget me": deletes the saved address and card on the server, then signs out. */
async function forgetMe(): Promise<void> {
  const token = state.shopper?.shopper_token;
  if (token) await call('/widget/shoppers/forget', { shopper_token: token });
  keepShopper(null);
  state.notices = [];
  go('contact');
}

async function pay(): Promise<void> {
  const s = state.session;
  if (!s) return;
  const f = state.form;
  if (state.remember || state.rememberSent) {
    const body: Record<string, unknown> = { checkout_session_id: s.id, remember: state.remember };
    if (state.shopper) body['shopper_token'] = state.shopper.shopper_token;
    // Saving is a convenience: it never stands in the way of paying.
    await call('/widget/shoppers/remember', body).then(() => { state.rememberSent = state.remember; }, () => undefined);
  }
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{2,4})\s*$/.exec(f.exp);
  if (!m) {
    state.errors = ['Enter the expiry date as MM/YY.'];
    state.errorCodes = ['invalid'];
    return;
  }
  const { token } = await call<{ token: string }>('/v1/sandbox/tokens', { number: f.number, exp_month: Number(m[1]), exp_year: Number(m[2]), cvc: f.cvc.trim() });
  await complete(s, token, false);
}

/** Completes with `token`; `authenticated` answers a 3-D Secure challenge. */
async function complete(s: Session, token: string, authenticated: boolean): Promise<void> {
  const body: Record<string, unknown> = {
    payment_data: { handler_id: 'card_sandbox', instrument: { type: 'card', credential: { type: 'spt', token } } },
  };
  if (authenticated) body['authentication_result'] = { outcome: 'authenticated' };
  const done = await call<Session>(`/checkout_sessions/${s.id}/complete`, body);
  absorb(done);
  state.pending3ds = done.status === 'authentication_required' ? token : '';
  if (done.status === 'completed' && done.order) {
    state.form.number = '';
    state.form.cvc = '';
    post('ec.complete', { checkout: { id: done.id }, order: { id: done.order.id, order_number: done.order.order_number, permalink_url: done.order.permalink_url } });
    state.step = 'done';
  }
}

async function confirm3ds(): Promise<void> {
  const s = state.session;
  if (s && state.pending3ds) await complete(s, state.pending3ds, true);
}

async function cancel(): Promise<void> {
  const s = state.session;
  if (s) await call<Session>(`/checkout_sessions/${s.id}/cancel`, {}).catch(() => undefined);
  state.session = null;
  state.notices = [];
  post('ec.cancel', s ? { checkout: { id: s.id } } : {});
  state.step = 'product';
}

// ---------- views ----------

function stockLine(v: Variant): HTMLElement {
  const n = available(v.id);
  const text = n <= 0 ? 'Out of stock' : n <= LOW_STOCK_MAX ? `Only ${n} left` : 'In stock';
  return h('p', { class: `stock${n <= 0 ? ' out' : n <= LOW_STOCK_MAX ? ' low' : ''}`, 'aria-live': 'polite', 'data-testid': 'stock' }, text);
}

function header(): HTMLElement {
  const logo = cfg.theme.logo_url ? h('img', { class: 'logo', src: cfg.theme.logo_url, alt: '' }) : null;
  return h('header', {}, logo, h('span', { class: 'brand' }, 'Secure checkout'));
}

function productView(): HTMLElement {
  const v = variant();
  const max = Math.max(1, Math.min(v?.max_quantity_per_order ?? 99, 99));
  const img = v?.image_url ?? cfg.product.image_url;
  const soldOut = !v || available(v.id) <= 0;
  return h('form', { class: 'step product', onsubmit: (e: Event) => { e.preventDefault(); void run(startCheckout); } },
    h('div', { class: 'hero' },
      img ? h('img', { src: img, alt: cfg.product.title, width: 72, height: 72 }) : null,
      h('div', {},
        h('h2', { tabindex: -1 }, cfg.product.title),
        v ? h('p', { class: 'price' }, money(v.amount, v.currency, v.exponent)) : null,
        v ? stockLine(v) : null)),
    variants.length > 1 ? h('div', { class: 'field' },
      h('label', { for: 'f-variant' }, 'Option'),
      h('select', { id: 'f-variant', onchange: (e: Event) => { state.variantId = (e.target as HTMLSelectElement).value; state.errors = []; render(); } },
        ...variants.map((x) => h('option', { value: x.id, selected: x.id === state.variantId }, `${x.options.map((o) => o[1]).join(' / ') || x.title}${available(x.id) <= 0 ? ' — sold out' : ''}`)))) : null,
    h('div', { class: 'field qty' },
      h('label', { for: 'f-qty' }, 'Quantity'),
      h('input', { id: 'f-qty', type: 'number', min: 1, max, value: state.quantity, inputmode: 'numeric', oninput: (e: Event) => { state.quantity = Math.max(1, Math.min(max, Number((e.target as HTMLInputElement).value) || 1)); } })),
    // An id, so a live-stock re-render keeps keyboard focus on it.
    h('button', { type: 'submit', id: 'buy', class: 'primary', disabled: state.busy || soldOut }, soldOut ? 'Sold out' : state.busy ? 'Reserving…' : 'Buy now'));
}

function signinView(): HTMLElement {
  const sent = state.codeSent;
  return h('form', { class: 'step', onsubmit: (e: Event) => { e.preventDefault(); void run(sent ? verifyCode : sendCode); } },
    h('h2', { tabindex: -1 }, 'Faster checkout'),
    h('p', { class: 'muted', id: 'signin-help', 'aria-live': 'polite' }, sent ? `We emailed a code to ${state.form.email.trim()}. It works for 10 minutes.` : 'We email you a one-time code that unlocks the address and card you saved with this shop.'),
    sent
      ? field('6-digit code', 'otp', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}', 'aria-describedby': 'signin-help' })
      : field('Email', 'email', { type: 'email', autocomplete: 'email', 'aria-describedby': 'signin-help' }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'link', onclick: () => { state.codeSent = false; state.notices = []; go('contact'); }, disabled: state.busy }, 'Back'),
      sent ? h('button', { type: 'button', class: 'link', onclick: () => void run(sendCode), disabled: state.busy }, 'New code') : null,
      h('button', { type: 'submit', class: 'primary', disabled: state.busy }, sent ? 'Verify' : 'Email me a code')));
}

function expressView(): HTMLElement {
  const s = state.session;
  const p = state.shopper?.profile;
  const opt = s?.fulfillment_options.find((o) => o.id === s.selected_fulfillment_options?.[0]?.option_id);
  const card = `${(p?.card_brand ?? 'card').toUpperCase()} •••• ${p?.card_last4 ?? ''}`;
  return h('form', { class: 'step', onsubmit: (e: Event) => { e.preventDefault(); void run(oneTap); } },
    h('h2', { tabindex: -1 }, p?.name ? `Welcome back, ${p.name}` : 'Welcome back'),
    h('p', { class: 'saved', 'data-testid': 'saved-address' }, `Ship to ${p?.address ?? ''}${opt ? ` · ${opt.title}` : ''}`),
    totalsList(),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'one-tap', disabled: state.busy }, state.busy ? 'Paying…' : `Pay ${money(total('total'), s?.currency ?? 'usd', variant()?.exponent)} with ${card}`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'link', onclick: () => go('payment'), disabled: state.busy }, 'Use another card'),
      h('button', { type: 'button', class: 'link', onclick: signOut, disabled: state.busy }, 'Not you?'),
      h('button', { type: 'button', class: 'link', 'data-testid': 'forget-me', onclick: () => void run(forgetMe), disabled: state.busy }, 'Forget my details')));
}

function contactView(): HTMLElement {
  const saved = state.shopper?.profile;
  return h('form', { class: 'step', onsubmit: (e: Event) => { e.preventDefault(); void run(saveContact); } },
    h('h2', { tabindex: -1 }, 'Contact & delivery'),
    saved
      ? h('button', { type: 'button', class: 'secondary', onclick: () => void run(useSaved), disabled: state.busy }, `Use my saved details (•••• ${saved.card_last4 ?? ''})`)
      : h('button', { type: 'button', class: 'secondary', 'data-testid': 'signin', onclick: () => go('signin'), disabled: state.busy }, 'Saved your details before? Get a code'),
    field('Email', 'email', { type: 'email', autocomplete: 'email' }),
    field('Full name', 'name', { autocomplete: 'name' }),
    field('Address', 'line_one', { autocomplete: 'address-line1' }),
    h('div', { class: 'row' }, field('City', 'city', { autocomplete: 'address-level2' }), field('State / region', 'state', { autocomplete: 'address-level1', required: false })),
    h('div', { class: 'row' },
      field('Postal code', 'postal_code', { autocomplete: 'postal-code' }),
      h('div', { class: 'field' }, h('label', { for: 'f-country' }, 'Country'),
        h('select', { id: 'f-country', autocomplete: 'country', onchange: (e: Event) => { state.form.country = (e.target as HTMLSelectElement).value; } },
          ...COUNTRIES.map(([c, n]) => h('option', { value: c, selected: c === state.form.country }, n))))),
    actions('Continue'));
}

function totalsList(): HTMLElement {
  const s = state.session;
  const dl = h('dl', { class: 'totals' });
  if (!s) return dl;
  const v = variant();
  for (const t of s.totals) {
    if (t.type === 'items_base_amount' || (t.amount === 0 && t.type === 'discount')) continue;
    dl.append(h('dt', { class: t.type }, t.display_text), h('dd', { class: t.type, 'data-total': t.type }, money(t.amount, s.currency, v?.exponent)));
  }
  return dl;
}

function reviewView(): HTMLElement {
  const s = state.session;
  const selected = s?.selected_fulfillment_options?.[0]?.option_id;
  const opts = s?.fulfillment_options ?? [];
  return h('form', { class: 'step', onsubmit: (e: Event) => { e.preventDefault(); if (!blocked(s as Session)) go('payment'); } },
    h('h2', { tabindex: -1 }, 'Shipping & total'),
    h('fieldset', {}, h('legend', {}, 'Shipping'),
      ...opts.map((o) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'ship', value: o.id, checked: o.id === selected, onchange: () => void run(() => chooseShipping(o.id)) }),
        ` ${o.title} · ${money(o.totals.find((t) => t.type === 'fulfillment' || t.type === 'total')?.amount ?? 0, s?.currency ?? 'usd')}`))),
    h('div', { class: 'row code' },
      field('Discount code', 'code', { required: false, autocomplete: 'off', onkeydown: (e: Event) => { if ((e as KeyboardEvent).key === 'Enter' && state.form.code.trim()) { e.preventDefault(); void run(applyCode); } } }),
      h('button', { type: 'button', class: 'secondary', onclick: () => void run(applyCode), disabled: state.busy }, 'Apply')),
    totalsList(),
    actions('Continue to payment'));
}

function paymentView(): HTMLElement {
  const s = state.session;
  return h('form', { class: 'step', onsubmit: (e: Event) => { e.preventDefault(); void run(pay); } },
    h('h2', { tabindex: -1 }, 'Payment'),
    field('Card number', 'number', { inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242' }),
    h('div', { class: 'row' }, field('Expiry (MM/YY)', 'exp', { autocomplete: 'cc-exp', placeholder: '12/30' }), field('CVC', 'cvc', { inputmode: 'numeric', autocomplete: 'cc-csc', placeholder: '123' })),
    state.pending3ds ? h('div', { class: 'challenge', role: 'group', 'aria-label': 'Bank verification' },
      h('p', {}, 'Sandbox bank: confirm this payment, or enter another card.'),
      h('button', { type: 'button', class: 'secondary', onclick: () => void run(confirm3ds), disabled: state.busy }, 'Confirm with my bank')) : null,
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', id: 'f-remember', checked: state.remember, 'aria-describedby': 'remember-help', onchange: (e: Event) => { state.remember = (e.target as HTMLInputElement).checked; } }),
      ' Remember me for faster checkout'),
    h('p', { class: 'hint', id: 'remember-help' }, 'Saves your address and card with this shop. Next time, a code sent to your email unlocks them.'),
    actions(state.busy ? 'Paying…' : `Pay ${money(total('total'), s?.currency ?? 'usd', variant()?.exponent)}`));
}

function doneView(): HTMLElement {
  const o = state.session?.order;
  return h('div', { class: 'step done' },
    h('h2', { tabindex: -1 }, 'Thank you!'),
    h('p', {}, 'Your order ', h('strong', { 'data-testid': 'order-number' }, `#${o?.order_number ?? ''}`), ' is confirmed.'),
    h('p', { class: 'muted' }, `A receipt is on its way to ${state.form.email}.`));
}

function actions(label: string): HTMLElement {
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'link', onclick: () => void run(cancel), disabled: state.busy }, 'Cancel'),
    h('button', { type: 'submit', class: 'primary', disabled: state.busy }, label));
}

function refusedView(): HTMLElement {
  return h('div', { class: 'step refused' }, h('p', { role: 'alert' }, state.refusal));
}

function render(): void {
  const views: Record<Step, () => HTMLElement> = {
    loading: () => h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'),
    product: productView, contact: contactView, signin: signinView, express: expressView, review: reviewView, payment: paymentView, done: doneView, refused: refusedView,
  };
  const active = state.focus || document.activeElement?.id;
  state.focus = '';
  root.replaceChildren(
    state.step === 'refused' ? views.refused() : h('div', { class: `shell ${cfg.layout}` },
      header(),
      views[state.step](),
      h('div', { class: 'errors', role: 'alert', 'aria-live': 'assertive', 'data-testid': 'errors', 'data-codes': state.errorCodes.join(' ') }, ...state.errors.map((t) => h('p', {}, t))),
      state.notices.length ? h('div', { class: 'notices', 'aria-live': 'polite', 'data-testid': 'notices' }, ...state.notices.map((t) => h('p', {}, t))) : null));
  if (active) document.getElementById(active)?.focus();
  revealErrors();
}

/** In a short ad slot the shell scrolls: keep a new error in view (without ever
 * scrolling the host page, which `scrollIntoView` could do). */
function revealErrors(): void {
  const shell = root.querySelector<HTMLElement>('.shell');
  const errors = root.querySelector<HTMLElement>('.errors');
  if (!shell || !errors || state.errors.length === 0) return;
  const bottom = errors.offsetTop - shell.offsetTop + errors.offsetHeight;
  if (bottom > shell.scrollTop + shell.clientHeight) shell.scrollTop = bottom - shell.clientHeight;
}

function applyTheme(t: Theme): void {
  const s = document.documentElement.style;
  const set = (k: string, v: string | null | undefined): void => { if (v) s.setProperty(k, v); };
  if (t.dark) document.documentElement.classList.add('dark');
  set('--ac-primary', t.primary_color);
  set('--ac-bg', t.background_color);
  set('--ac-text', t.text_color);
  set('--ac-font', t.font_family);
  if (t.radius_px !== null && t.radius_px !== undefined) set('--ac-radius', `${t.radius_px}px`);
}

function watchStock(): void {
  if (typeof EventSource === 'undefined') return;
  const q = new URLSearchParams({ key: cfg.publishable_key, variants: variants.map((v) => v.id).join(',') });
  const es = new EventSource(`/availability/stream?${q.toString()}`);
  let opened = false;
  es.onopen = () => { opened = true; };
  es.addEventListener('availability', (e) => {
    try {
      const d = JSON.parse((e as MessageEvent<string>).data) as { variant_id?: string; available?: number };
      if (typeof d.variant_id === 'string' && typeof d.available === 'number') {
        state.live.set(d.variant_id, d.available);
        if (state.step === 'product') render();
      }
    } catch { /* ignore malformed events */ }
  });
  // No stream on this server (or it went away before opening): fall back to the
  // availability that checkout responses carry, and stop the browser's retries.
  es.onerror = () => { if (!opened) es.close(); };
}

async function main(): Promise<void> {
  applyTheme(cfg.theme);
  state.shopper = loadShopper();
  // Report the content's own height (not the viewport's) so the host can shrink the frame too.
  new ResizeObserver(() => post('ec.resize', { height: Math.ceil(root.getBoundingClientRect().height) })).observe(root);
  render();
  if (!ancestorOk() || !(await handshake())) {
    state.refusal = 'This checkout is not available on this website.';
    go('refused');
    return;
  }
  go('product');
  watchStock();
}

void main();
