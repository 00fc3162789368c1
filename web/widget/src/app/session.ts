// Reading a checkout session the server sent. What blocks payment is the
// server's call, stated on each message (`resolution: requires_buyer_input`,
// see crates/server/src/routes/acp/convert.rs); the app only reads it.
import type { FulfillmentOption, Message, Session } from '../api/types';
import { tellHost } from './host';
import { showErrors, state } from './state';

/** The server will not take payment until the shopper fixes this message. */
export function isBlocking(m: Message): boolean {
  return m.resolution === 'requires_buyer_input';
}

/** Some message blocks payment. */
export function blocked(s: Session): boolean {
  return s.messages.some(isBlocking);
}

/** Blocking messages about the basket itself (`param` under `$.line_items`, e.g.
 * out of stock or over a limit): the product step's to fix, not a later one's. */
export function basketProblems(s: Session): Message[] {
  return s.messages.filter((m) => isBlocking(m) && (m.param ?? '').startsWith('$.line_items'));
}

/** Takes in a session answer: its messages, and the stock its lines report.
 * `quiet` keeps the error region as it is (a wallet's sheet is filling the session
 * in steps, and "email missing" is not news while it does). */
export function absorb(s: Session, quiet = false): void {
  state.session = s;
  for (const li of s.line_items) state.live.set(li.variant_id, li.available_quantity);
  const errors = s.messages.filter((m) => m.type === 'error');
  if (!quiet) showErrors(errors.map((m) => m.content), errors.map((m) => m.code ?? ''));
  state.notices = s.messages.filter((m) => m.type !== 'error').map((m) => m.content);
  tellHost('ec.messages.change', { messages: s.messages });
}

/** The session's total of `kind` (`total`, `discount`, …), 0 when absent. */
export function total(kind: string): number {
  return state.session?.totals.find((t) => t.type === kind)?.amount ?? 0;
}

/** What a shipping option costs, as the server priced it (minor units). */
export function optionAmount(o: FulfillmentOption): number {
  return o.totals.find((t) => t.type === 'fulfillment' || t.type === 'total')?.amount ?? 0;
}
