// Apple Pay and Google Pay through Stripe's Express Checkout Element. The wallet
// gives the address and email, so a new shopper buys in two taps ("Buy", then the
// wallet's button). While the wallet's sheet is open it only shares a redacted
// address (no street): the session is updated with that destination to learn the
// shipping rates, a rate picked in the sheet is selected on the session, and on
// "Pay" the session gets the wallet's email, name and full address before the
// wallet's card pays.
import type { AddressRequest, Session, UpdateSessionRequest } from '../../api/types';
import { CallError, post } from '../api';
import { sendRemember } from '../payment';
import { absorb, blocked, optionAmount } from '../session';
import { countries, state } from '../state';
import { render, run } from '../ui';
import { type Group, syncAmount } from './current';
import { completeWithStripe, stripeFailure } from './pay';
import type { ConfirmEvent, ExpressCheckoutElement, FullAddress, ShippingAddressChangeEvent, ShippingRate, ShippingRateChangeEvent } from './types';

/** The full address the session had when the sheet opened, put back if the shopper cancels. */
let before: { address: AddressRequest; option: string | undefined } | null = null;

function update(s: Session, body: UpdateSessionRequest): Promise<Session> {
  return post('/checkout_sessions/{checkout_session_id}', body, { checkout_session_id: s.id });
}

function selectOption(id: string): UpdateSessionRequest['selected_fulfillment_options'] {
  return [{ type: 'shipping', option_id: id, item_ids: [] }];
}

/** The session's shipping options as the wallet shows them, its choice first
 * (the sheet preselects the first rate). */
function rates(s: Session): ShippingRate[] {
  const chosen = s.selected_fulfillment_options[0]?.option_id;
  const list = s.fulfillment_options.map((o) => ({ id: o.id, amount: optionAmount(o), displayName: o.title }));
  return [...list.filter((r) => r.id === chosen), ...list.filter((r) => r.id !== chosen)];
}

function opened(s: Session): void {
  const a = s.fulfillment_details?.address;
  before = a && a.line_one ? { address: a, option: s.selected_fulfillment_options[0]?.option_id } : null;
}

async function addressChanged(e: ShippingAddressChangeEvent, g: Group): Promise<void> {
  const s = state.session;
  if (!s) return e.reject();
  const a = e.address;
  try {
    // A destination only: the sheet does not tell the street before "Pay".
    const next = await update(s, { fulfillment_details: { address: { name: e.name ?? '', line_one: '', city: a.city ?? '', state: a.state ?? '', postal_code: a.postal_code ?? '', country: a.country } } });
    absorb(next, true);
    const offered = rates(next);
    if (offered.length === 0) {
      e.reject(); // not a country the merchant ships to
    } else {
      syncAmount(g, next);
      e.resolve({ shippingRates: offered });
    }
  } catch {
    e.reject();
  }
  render();
}

async function rateChanged(e: ShippingRateChangeEvent, g: Group): Promise<void> {
  const s = state.session;
  if (!s) return e.reject();
  try {
    const next = await update(s, { selected_fulfillment_options: selectOption(e.shippingRate.id) });
    absorb(next, true);
    syncAmount(g, next);
    e.resolve();
  } catch {
    e.reject();
  }
  render();
}

/** The wallet's address in the contact form too, should the shopper go on there. */
function remember(email: string, name: string, a: FullAddress): void {
  const f = state.form;
  Object.assign(f, { email, name, line_one: a.line1 ?? '', city: a.city ?? '', state: a.state ?? '', postal_code: a.postal_code ?? '' });
  if (countries.some(([c]) => c === a.country)) f.country = a.country;
}

/** "Pay" in the sheet: the session gets who and where, then the wallet's card pays. */
async function confirmed(e: ConfirmEvent, g: Group): Promise<void> {
  const s = state.session;
  if (!s) return e.paymentFailed();
  // Stripe's rule: submit first, before anything asynchronous.
  const submitted = await g.elements.submit();
  if (submitted.error) throw stripeFailure(submitted.error);
  const ship = e.shippingAddress?.address;
  const name = e.shippingAddress?.name || e.billingDetails?.name || '';
  const email = e.billingDetails?.email ?? '';
  if (!ship || !email) throw new CallError(0, { type: 'client', code: 'missing', message: 'The wallet did not share an address and email. Please fill in the form instead.' });
  remember(email, name, ship);
  before = null;
  const next = await update(s, {
    buyer: { email },
    fulfillment_details: { name, email, address: { name, line_one: ship.line1 ?? '', line_two: ship.line2 ?? null, city: ship.city ?? '', state: ship.state ?? '', postal_code: ship.postal_code ?? '', country: ship.country } },
    ...(e.shippingRate ? { selected_fulfillment_options: selectOption(e.shippingRate.id) } : {}),
  });
  absorb(next);
  if (blocked(next)) return e.paymentFailed({ reason: 'invalid_shipping_address' });
  syncAmount(g, next);
  await sendRemember(next);
  const { paymentMethod, error } = await g.stripe.createPaymentMethod({ elements: g.elements });
  if (error || !paymentMethod) throw stripeFailure(error ?? { type: 'api_error' });
  const done = await completeWithStripe(next, paymentMethod.id);
  // Declined: the session's message says why, here; the sheet is told it failed.
  if (done.status !== 'completed') e.paymentFailed();
}

/** Closed without paying: put back the address the session had before (the form
 * waits meanwhile, so "Continue" never sees the wallet's region). */
async function cancelled(): Promise<void> {
  const s = state.session;
  const b = before;
  before = null;
  if (!s || !b || s.fulfillment_details?.address?.line_one) return;
  try {
    absorb(await update(s, { fulfillment_details: { address: b.address }, ...(b.option ? { selected_fulfillment_options: selectOption(b.option) } : {}) }), true);
  } catch { /* the contact form sends the address again anyway */ }
}

export function listenToWallets(ece: ExpressCheckoutElement, g: Group): void {
  ece.on('click', (e) => {
    const s = state.session;
    if (!s || state.busy) return;
    opened(s);
    const offered = rates(s);
    // No address yet, so no rates: the sheet asks for the address first, and
    // `shippingaddresschange` brings the rates.
    e.resolve({ emailRequired: true, shippingAddressRequired: true, ...(offered.length ? { shippingRates: offered } : {}) });
  });
  ece.on('shippingaddresschange', (e) => void addressChanged(e, g));
  ece.on('shippingratechange', (e) => void rateChanged(e, g));
  ece.on('cancel', () => void run(cancelled));
  ece.on('confirm', (e) => {
    if (state.busy) return e.paymentFailed();
    void run(async () => {
      try {
        await confirmed(e, g);
      } catch (err) {
        e.paymentFailed();
        throw err;
      }
    });
  });
}
