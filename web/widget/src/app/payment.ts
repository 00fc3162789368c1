// Paying, whichever provider the merchant uses: the session's payment handler,
// "Remember me" (sent before paying), and the complete call. Sandbox cards are
// typed into anycart's fields and tokenised by `/v1/sandbox/tokens`, with a
// 3-D Secure confirmation when the bank asks; Stripe's path is in stripe/.
// Card data only ever goes to the tokeniser; the session sees a token.
import type { PaymentHandler, Session } from '../api/types';
import { CallError, post } from './api';
import { cfg } from './config';
import { tellHost } from './host';
import { left, track } from './funnel';
import { absorb } from './session';
import { showErrors, state } from './state';

/** The spec name of the payment handler that takes sandbox card tokens. */
const SANDBOX_CARD_HANDLER = 'dev.anycart.sandbox.card';
/** The payment service provider Stripe's handler names. */
const STRIPE_PSP = 'stripe';

/** How a 3-D Secure challenge ended, as the complete call reports it. */
export type Outcome = 'authenticated' | 'denied';

export function paysWithStripe(): boolean {
  return cfg.payment.provider === 'stripe';
}

/** The handler this session offers for the merchant's provider (the server's choice). */
function handler(s: Session): PaymentHandler {
  const h = s.capabilities.payment.handlers.find((x) => (paysWithStripe() ? x.psp === STRIPE_PSP : x.name === SANDBOX_CARD_HANDLER));
  if (!h) throw new CallError(0, { type: 'client', code: 'no_payment_handler', message: 'Card payments are not available for this checkout.' });
  return h;
}

/** Completes with `token` (a provider token, or the shopper token standing for a
 * saved card); `outcome` answers a 3-D Secure challenge. Returns the session. */
export async function complete(s: Session, token: string, outcome?: Outcome): Promise<Session> {
  track('payment_attempted');
  if (outcome === 'denied') left('three_ds_failed');
  const done = await post('/checkout_sessions/{checkout_session_id}/complete', {
    payment_data: { handler_id: handler(s).id, instrument: { type: 'card', credential: { type: paysWithStripe() ? 'card' : 'spt', token } } },
    ...(outcome ? { authentication_result: { outcome } } : {}),
  }, { checkout_session_id: s.id });
  absorb(done);
  // The sandbox asks the shopper to confirm in the form; Stripe runs its own challenge.
  if (!paysWithStripe()) state.pending3ds = done.status === 'authentication_required' ? token : '';
  if (done.status === 'completed' && done.order) {
    state.form.number = '';
    state.form.cvc = '';
    tellHost('ec.complete', { checkout: { id: done.id }, order: { id: done.order.id, order_number: done.order.order_number, permalink_url: done.order.permalink_url } });
    state.step = 'done';
  }
  return done;
}

/** Sends the "Remember me" box when ticked, or to withdraw an earlier tick. */
export async function sendRemember(s: Session): Promise<void> {
  if (!state.remember && !state.rememberSent) return;
  // Saving is a convenience: it never stands in the way of paying.
  await post('/widget/shoppers/remember', { checkout_session_id: s.id, remember: state.remember, shopper_token: state.shopper?.shopper_token ?? null })
    .then(() => { state.rememberSent = state.remember; }, () => undefined);
}

/** Pays with the sandbox card typed into the form. */
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
  await complete(s, token);
}

/** The sandbox bank's challenge, confirmed by the shopper. */
export async function confirm3ds(): Promise<void> {
  const s = state.session;
  if (s && state.pending3ds) await complete(s, state.pending3ds, 'authenticated');
}
