// The checkout session's life from the product step to review: create it,
// send contact and address, pick shipping, apply a discount code, cancel
// (a hot drop's waiting room comes first: line.ts).
// Every answer is the server's verdict; the app shows it and moves on only
// when nothing blocks.
import type { Session } from '../api/types';
import { CallError, post, postWith } from './api';
import { tellHost } from './host';
import { admittedTicket, joinLine } from './line';
import { left } from './funnel';
import { formatMoney } from './money';
import { absorb, basketProblems, blocked } from './session';
import { useSaved } from './shopper';
import { showErrors, state, variant } from './state';

export async function startCheckout(): Promise<void> {
  const v = variant();
  if (!v) return;
  // A hot drop: through the waiting room first, then in with the admitted ticket.
  const ticket = admittedTicket(v.id);
  if (v.waiting_room && !ticket) return joinLine(startCheckout);
  let s: Session;
  try {
    s = await postWith(ticket ? { 'Anycart-Waiting-Room-Ticket': ticket } : {}, '/checkout_sessions',
      { currency: v.currency, line_items: [{ id: v.id, quantity: state.quantity }], capabilities: {} });
  } catch (e) {
    // The room opened after this page loaded: join it now.
    if (!ticket && e instanceof CallError && e.body.code === 'waiting_room_required') return joinLine(startCheckout);
    throw e;
  }
  state.line = null; // the ticket is spent
  absorb(s);
  const problems = basketProblems(s);
  if (problems.length) {
    // Nothing to buy: end the session at once so no stock stays held.
    await post('/checkout_sessions/{checkout_session_id}/cancel', {}, { checkout_session_id: s.id }).catch(() => undefined);
    state.session = null;
    // Only the basket's problem matters here; "email missing" etc. belong to later steps.
    showErrors(problems.map((m) => m.content), problems.map((m) => m.code ?? ''));
    return;
  }
  // "Email missing", "address missing": that is what the next step asks for anyway.
  showErrors([], []);
  // The page may be older than the catalogue: say so when the price moved.
  const line = s.line_items.find((li) => li.variant_id === v.id);
  if (line && line.unit_amount !== v.amount) {
    state.notices = [`The price changed from ${formatMoney(v.amount, v.currency, v.exponent)} to ${formatMoney(line.unit_amount, v.currency, v.exponent)}.`, ...state.notices];
    v.amount = line.unit_amount;
  }
  tellHost('ec.start', { checkout: { id: s.id } });
  state.step = 'contact';
  if (state.shopper?.profile) await useSaved();
}

export async function saveContact(): Promise<void> {
  const s = state.session;
  if (!s) return;
  const f = state.form;
  const name = f.name.trim();
  const next = await post('/checkout_sessions/{checkout_session_id}', {
    buyer: { email: f.email.trim() },
    fulfillment_details: { name, address: { name, line_one: f.line_one.trim(), city: f.city.trim(), state: f.state.trim(), country: f.country, postal_code: f.postal_code.trim() } },
  }, { checkout_session_id: s.id });
  absorb(next);
  if (!blocked(next)) state.step = 'review';
}

export async function chooseShipping(optionId: string): Promise<void> {
  const s = state.session;
  if (!s) return;
  absorb(await post('/checkout_sessions/{checkout_session_id}', { selected_fulfillment_options: [{ type: 'shipping', option_id: optionId, item_ids: [] }] }, { checkout_session_id: s.id }));
}

export async function applyCode(): Promise<void> {
  const s = state.session;
  const code = state.form.code.trim();
  if (!s || !code) return;
  absorb(await post('/checkout_sessions/{checkout_session_id}', { discounts: { codes: [code] } }, { checkout_session_id: s.id }));
}

export async function cancel(): Promise<void> {
  const s = state.session;
  if (s) await post('/checkout_sessions/{checkout_session_id}/cancel', {}, { checkout_session_id: s.id }).catch(() => undefined);
  state.session = null;
  state.notices = [];
  if (s) left('closed');
  tellHost('ec.cancel', s ? { checkout: { id: s.id } } : {});
  state.step = 'product';
}
