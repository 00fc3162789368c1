// Paying in the sandbox: test card fields become a token at `/v1/sandbox/tokens`,
// and the token completes the session through the handler the session offers.
// (Live providers tokenise in their own fields, e.g. Stripe.js; the token then
// goes to `completeSession` the same way.)
import { type Anycart, type CallOptions, post } from './client.js';
import { completeSession } from './sessions.js';
import type { CardFields, PaymentHandler, Session } from './types.js';

/** The spec name of the handler that takes sandbox card tokens. */
export const SANDBOX_CARD_HANDLER = 'dev.anycart.sandbox.card';

/** Turns sandbox test card fields into a token (only test numbers exist). */
export async function sandboxCardToken(ac: Anycart, card: CardFields, options?: CallOptions): Promise<string> {
  return (await post(ac, '/v1/sandbox/tokens', card, undefined, options)).token;
}

/** The session's handler named `name`, if it offers one. */
export function paymentHandler(s: Session, name: string): PaymentHandler | undefined {
  return s.capabilities.payment.handlers.find((h) => h.name === name);
}

/** Completes `s` with a sandbox card token (`payment_attempt`'s idempotency key
 * may be passed to retry a lost answer without paying twice). */
export async function payWithSandboxCard(ac: Anycart, s: Session, token: string, options?: CallOptions): Promise<Session> {
  const handler = paymentHandler(s, SANDBOX_CARD_HANDLER);
  if (!handler) {
    throw new Error(`this session offers no ${SANDBOX_CARD_HANDLER} handler (is the merchant paid through the sandbox?)`);
  }
  return completeSession(ac, s.id, { payment_data: { handler_id: handler.id, instrument: { type: 'card', credential: { type: 'spt', token } } } }, options);
}
