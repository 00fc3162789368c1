// Funnel events: what the dashboard's funnel counts. The iframe page signed
// this view (`cfg.view`); we report each step once, batched, to `POST /events`
// with the SDK's `beaconEvents` (`navigator.sendBeacon`, so a closing tab still
// reports). No cookie, no
// storage, nothing about the shopper: only the step and why they left.
// An impression counts when at least half of the widget is in view for one
// second (IAB viewability), measured by an IntersectionObserver against the
// top-level viewport (which works from inside a cross-origin frame).
import { EVENTS_PER_REPORT_MAX, beaconEvents } from '@anycart/sdk';
import type { DropReason, FunnelEvent, FunnelStep } from '@anycart/sdk';
import { client } from './api';
import { cfg } from './config';
import { state } from './state';

const VIEWABLE_RATIO = 0.5;
const VIEWABLE_MS = 1000;
const FLUSH_DELAY_MS = 1500;

/** ACP message and error codes that say why a shopper could not go on. */
const REASONS: Record<string, DropReason> = {
  out_of_stock: 'out_of_stock',
  stock_changed: 'out_of_stock',
  quantity_exceeded: 'limit_reached',
  buyer_limit_reached: 'limit_reached',
  discount_used_up: 'price_changed',
  payment_declined: 'declined',
  card_declined: 'declined',
  price_change: 'price_changed',
  expired: 'hold_expired',
};

const sent = new Set<string>();
let queue: FunnelEvent[] = [];
let timer = 0;

function flush(): void {
  clearTimeout(timer);
  timer = 0;
  const view = cfg.view;
  if (!view || queue.length === 0) return;
  beaconEvents(client, cfg.placement_id, view, queue.splice(0, EVENTS_PER_REPORT_MAX));
  if (queue.length) flush();
}

function add(e: FunnelEvent, key: string): void {
  if (!cfg.view || sent.has(key)) return;
  sent.add(key);
  queue.push(e);
  // A batch leaves at most FLUSH_DELAY_MS after its first event (a busy shopper
  // does not hold it back); the sale itself leaves at once.
  if (e.step === 'paid') flush();
  else if (!timer) timer = window.setTimeout(flush, FLUSH_DELAY_MS);
}

/** Reports `step` (once per view). */
export function track(step: FunnelStep): void {
  add({ step }, step);
}

/** Reports that the shopper left for `reason` (once per reason). */
export function left(reason: DropReason): void {
  add({ step: 'left', reason }, `left:${reason}`);
}

/** Reads the state after a render: steps reached and reasons met. */
export function observe(): void {
  const s = state.session;
  if (s) track('checkout_started');
  if (s?.buyer?.email) track('contact');
  if (state.step === 'review' || state.step === 'payment' || state.step === 'express') track('shipping');
  if (state.step === 'done') track('paid');
  const codes = [...state.errorCodes, ...(s?.messages ?? []).map((m) => m.code ?? '')];
  for (const code of codes) {
    const reason = REASONS[code];
    if (reason) left(reason);
  }
  if (s?.status === 'expired') left('hold_expired');
}

/** Starts watching viewability and the first interaction. */
export function startFunnel(root: HTMLElement): void {
  if (!cfg.view) return;
  let since = 0;
  let dwell = 0;
  const io = new IntersectionObserver((entries) => {
    const visible = entries.some((e) => e.intersectionRatio >= VIEWABLE_RATIO);
    clearTimeout(dwell);
    if (visible && !since) {
      since = Date.now();
      dwell = window.setTimeout(() => { track('impression'); io.disconnect(); }, VIEWABLE_MS);
    } else if (!visible) {
      since = 0;
    }
  }, { threshold: [0, VIEWABLE_RATIO, 1] });
  io.observe(root);
  const open = () => track('opened');
  addEventListener('pointerdown', open, { once: true, capture: true });
  addEventListener('keydown', open, { once: true, capture: true });
  addEventListener('pagehide', () => {
    if (sent.has('opened') && !sent.has('paid')) left('closed');
    flush();
  });
}
