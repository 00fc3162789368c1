// Checkout sessions (ACP): create with line items, update buyer, address,
// shipping and discount codes, read, complete with a payment token, cancel.
// Every answer is the whole session as the server now sees it: totals,
// messages (what still blocks payment), live availability per line.
import { type Anycart, type CallOptions, get, post } from './client.js';
import type { CompleteSessionRequest, CreateSessionRequest, Message, Session, UpdateSessionRequest } from './types.js';

/** Opens a session and holds its stock. A hot drop's waiting room needs
 * `headers: { 'Anycart-Waiting-Room-Ticket': ticket }` (see `joinWaitingRoom`). */
export function createSession(ac: Anycart, body: CreateSessionRequest, options?: CallOptions): Promise<Session> {
  return post(ac, '/checkout_sessions', body, undefined, options);
}

/** Changes buyer, address, items, shipping option or discount codes. */
export function updateSession(ac: Anycart, id: string, body: UpdateSessionRequest, options?: CallOptions): Promise<Session> {
  return post(ac, '/checkout_sessions/{checkout_session_id}', body, { checkout_session_id: id }, options);
}

/** Reads a session (expired ones say so in `status`). */
export function getSession(ac: Anycart, id: string, options?: CallOptions): Promise<Session> {
  return get(ac, '/checkout_sessions/{checkout_session_id}', { checkout_session_id: id }, options);
}

/** Pays: `status` becomes `completed` with an `order`, or stays open with a
 * message saying why (declined, price changed, 3-D Secure required). */
export function completeSession(ac: Anycart, id: string, body: CompleteSessionRequest, options?: CallOptions): Promise<Session> {
  return post(ac, '/checkout_sessions/{checkout_session_id}/complete', body, { checkout_session_id: id }, options);
}

/** Ends a session and releases its held stock. */
export function cancelSession(ac: Anycart, id: string, options?: CallOptions): Promise<Session> {
  return post(ac, '/checkout_sessions/{checkout_session_id}/cancel', {}, { checkout_session_id: id }, options);
}

/** The server will not take payment until the shopper fixes this message. */
export function isBlocking(m: Message): boolean {
  return m.resolution === 'requires_buyer_input';
}

/** The session's total of `kind` (`total`, `subtotal`, `discount`, …), 0 when absent. */
export function totalOf(s: Session, kind: string): number {
  return s.totals.find((t) => t.type === kind)?.amount ?? 0;
}
