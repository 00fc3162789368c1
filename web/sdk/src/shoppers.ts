// Returning shoppers: email → one-time code → a shopper token that unlocks the
// address and card saved with this merchant → one tap. The token is the
// shopper's credential: keep it where only this shopper's browser can read it.
import { type Anycart, type CallOptions, post } from './client.js';
import type { CodeSent, RememberRequest, Session, Verified, components } from './types.js';

type Schemas = components['schemas'];

/** Emails a one-time sign-in code (answers the same whether or not the email is known). */
export function sendSignInCode(ac: Anycart, body: Schemas['CodeRequest'], options?: CallOptions): Promise<CodeSent> {
  return post(ac, '/widget/shoppers/codes', body, undefined, options);
}

/** Swaps the emailed code for a shopper token and the saved profile. */
export function verifySignInCode(ac: Anycart, body: Schemas['VerifyRequest'], options?: CallOptions): Promise<Verified> {
  return post(ac, '/widget/shoppers/verify', body, undefined, options);
}

/** Fills a session with the shopper's saved address (and makes the saved card payable). */
export function prefillSession(ac: Anycart, sessionId: string, shopperToken: string, options?: CallOptions): Promise<Session> {
  return post(ac, '/widget/shoppers/prefill', { checkout_session_id: sessionId, shopper_token: shopperToken }, undefined, options);
}

/** "Remember me": saves (or, with `remember: false`, withdraws) this session's details once it is paid. */
export function rememberShopper(ac: Anycart, body: RememberRequest, options?: CallOptions): Promise<void> {
  return post(ac, '/widget/shoppers/remember', body, undefined, options);
}

/** Ends the shopper token's sign-in. */
export function signOutShopper(ac: Anycart, shopperToken: string, options?: CallOptions): Promise<void> {
  return post(ac, '/widget/shoppers/sign_out', { shopper_token: shopperToken }, undefined, options);
}

/** "Forget me": deletes the saved address and card on the server. */
export function forgetShopper(ac: Anycart, shopperToken: string, options?: CallOptions): Promise<void> {
  return post(ac, '/widget/shoppers/forget', { shopper_token: shopperToken }, undefined, options);
}
