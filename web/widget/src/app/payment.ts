// Paying: card fields → sandbox token (`/v1/sandbox/tokens`) → complete, with a
// 3-D Secure confirmation when the bank asks. Card data only ever goes to the
// tokeniser; the session sees a token. "Remember me" is sent before paying.
import type { Session } from '../api/types';
import { CallError, post } from './api';
import { tellHost } from './host';
import { absorb } from './session';
import { showErrors, state } from './state';

/** The spec name of the payment handler that takes sandbox card tokens. */
const SANDBOX_CARD_HANDLER = 'dev.anycart.sandbox.card';

/** The handler id this session offers for sandbox cards (the server's choice). */
function cardHandler(s: Session): string {
  const h = s.capabilities.payment.handlers.find((x) => x.name === SANDBOX_CARD_HANDLER);
  if (!h) throw new CallError({ type: 'client', code: 'no_payment_handler', message: 'Card payments are not available for this checkout.' });
  return h.id;
}

/** Completes with `token`; `authenticated` answers a 3-D Secure challenge. */
export async function complete(s: Session, token: string, authenticated: boolean): Promise<void> {
  const done = await post('/checkout_sessions/{checkout_session_id}/complete', {
    payment_data: { handler_id: cardHandler(s), instrument: { type: 'card', credential: { type: 'spt', token } } },
    ...(authenticated ? { authentication_result: { outcome: 'authenticated' } } : {}),
  }, { checkout_session_id: s.id });
  absorb(done);
  state.pending3ds = done.status === 'authentication_required' ? token : '';
  if (done.status === 'completed' && done.order) {
    state.form.number = '';
    state.form.cvc = '';
    tellHost('ec.complete', { checkout: { id: done.id }, order: { id: done.order.id, order_number: done.order.order_number, permalink_url: done.order.permalink_url } });
    state.step = 'done';
  }
}

/** Sends the "Remember me" box when ticked, or to withdraw an earlier tick. */
async function sendRemember(s: Session): Promise<void> {
  if (!state.remember && !state.rememberSent) return;
  // Saving is a convenience: it never stands in the way of paying.
  await post('/widget/shoppers/remember', { checkout_session_id: s.id, remember: state.remember, shopper_token: state.shopper?.shopper_token ?? null })
    .then(() => { state.rememberSent = state.remember; }, () => undefined);
}

/** Pays with the card typed into the form. */
export async function pay(): Promise<void> {
  const s = state.session;
  if (!s) return;
  const f = state.form;
  await sendRemember(s);
  // One "MM/YY" box for the shopper; the tokeniser wants month and year apart.
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{2,4})\s*$/.exec(f.exp);
  if (!m) {
    showErrors(['Enter the expiry date as MM/YY.'], ['invalid']);
    return;
  }
  const { token } = await post('/v1/sandbox/tokens', { number: f.number, exp_month: Number(m[1]), exp_year: Number(m[2]), cvc: f.cvc.trim() });
  await complete(s, token, false);
}

export async function confirm3ds(): Promise<void> {
  const s = state.session;
  if (s && state.pending3ds) await complete(s, state.pending3ds, true);
}
