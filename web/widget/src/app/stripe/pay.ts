// Paying through Stripe: the Payment Element's card (or a wallet's) becomes a
// PaymentMethod (`pm_…`) in Stripe.js, and the session is completed with it
// through the Stripe handler. When the bank wants 3-D Secure the session says
// `authentication_required` with the PaymentIntent's client secret: Stripe.js
// runs the challenge in this iframe, and the session is completed again with
// the outcome. A decline comes back as the session's message, the card form
// stays, and the shopper may try another card.
import type { Session } from '../../api/types';
import { CallError } from '../api';
import { type Outcome, complete, sendRemember } from '../payment';
import { state } from '../state';
import { currentGroup, requireGroup } from './current';
import type { StripeError } from './types';

/** A Stripe.js error as the widget shows it. */
export function stripeFailure(e: StripeError): CallError {
  return new CallError(0, { type: e.type, code: e.decline_code ?? e.code ?? e.type, message: e.message ?? 'Your payment could not be processed. Please try another card.' });
}

/** Completes `s` with `token` (a `pm_…`, or the shopper token of a saved card),
 * through a 3-D Secure challenge if the bank asks for one. */
export async function completeWithStripe(s: Session, token: string): Promise<Session> {
  const done = await complete(s, token);
  if (done.status !== 'authentication_required') return done;
  const clientSecret = done.authentication_metadata?.client_secret;
  const g = currentGroup();
  // The challenge runs in this iframe. Anything but a pass (including a challenge
  // that cannot start) is reported as denied: the session goes back to payment with
  // the reason, nothing is charged, and the shopper may try another card.
  const failed = { error: { type: 'client' } };
  const { error } = clientSecret && g
    ? await g.stripe.handleNextAction({ clientSecret }).catch((): { error: StripeError } => failed)
    : failed;
  const outcome: Outcome = error ? 'denied' : 'authenticated';
  return complete(done, token, outcome);
}

/** The buyer details Stripe may use to check the card (what the session knows). */
function billingDetails(s: Session): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  const email = s.buyer?.email ?? s.fulfillment_details?.email;
  const name = s.fulfillment_details?.name ?? s.fulfillment_details?.address?.name;
  if (email) details['email'] = email;
  if (name) details['name'] = name;
  return details;
}

/** "Pay": the card in the Payment Element. */
export async function payWithCard(): Promise<void> {
  const s = state.session;
  if (!s) return;
  const g = requireGroup();
  // Stripe's rule: submit first, before anything asynchronous.
  const submitted = await g.elements.submit();
  if (submitted.error) {
    // The Payment Element shows its own field errors next to the fields.
    if (submitted.error.type === 'validation_error') return;
    throw stripeFailure(submitted.error);
  }
  await sendRemember(s);
  const { paymentMethod, error } = await g.stripe.createPaymentMethod({ elements: g.elements, params: { billing_details: billingDetails(s) } });
  if (error || !paymentMethod) throw stripeFailure(error ?? { type: 'api_error' });
  await completeWithStripe(s, paymentMethod.id);
}
