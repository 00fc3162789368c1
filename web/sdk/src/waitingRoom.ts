// A hot drop's waiting room: join the line for a variant, ask where the ticket
// stands as often as the server says (`retry_after_ms`), then create the
// session with the admitted ticket in `Anycart-Waiting-Room-Ticket`.
import { type Anycart, type CallOptions, get, post } from './client.js';
import type { Place } from './types.js';

/** The header that carries an admitted ticket to `createSession`. */
export const WAITING_ROOM_TICKET_HEADER = 'Anycart-Waiting-Room-Ticket';

/** Joins the line for `variantId`. */
export function joinWaitingRoom(ac: Anycart, variantId: string, options?: CallOptions): Promise<Place> {
  return post(ac, '/widget/waiting_room', { variant_id: variantId }, undefined, options);
}

/** Where `ticket` stands now. */
export function waitingRoomPlace(ac: Anycart, ticket: string, options?: CallOptions): Promise<Place> {
  return get(ac, '/widget/waiting_room/{ticket}', { ticket }, options);
}
