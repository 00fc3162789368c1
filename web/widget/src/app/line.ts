// The waiting room in front of a hot drop: join the line, show the place, ask
// again as often as the server says, and start the checkout with the ticket the
// moment it is admitted. A shopper who closes the page simply stops asking and,
// after a while, leaves the line (the server's rule, not ours).
import { get, post } from './api';
import { showErrors, state, variant } from './state';
import { go, render, run } from './ui';

let timer: ReturnType<typeof setTimeout> | undefined;

/** The admitted ticket for `variantId`, if the shopper holds one. */
export function admittedTicket(variantId: string): string | undefined {
  const l = state.line;
  return l && l.variant_id === variantId && l.status === 'admitted' ? l.ticket : undefined;
}

/** Joins the line for the chosen variant; `admitted` runs once it is the shopper's turn. */
export async function joinLine(admitted: () => Promise<void>): Promise<void> {
  const v = variant();
  if (!v) return;
  state.line = await post('/widget/waiting_room', { variant_id: v.id });
  showErrors([], []);
  go('line');
  follow(admitted);
}

/** Leaves the line (the server lets the place lapse once nobody asks about it). */
export function leaveLine(): void {
  clearTimeout(timer);
  state.line = null;
  go('product');
}

function follow(admitted: () => Promise<void>): void {
  clearTimeout(timer);
  const l = state.line;
  if (!l || state.step !== 'line') return;
  if (l.status === 'admitted') void run(admitted);
  else if (l.status === 'waiting') timer = setTimeout(() => void ask(admitted), l.poll_after_ms);
}

async function ask(admitted: () => Promise<void>): Promise<void> {
  const l = state.line;
  if (!l) return;
  try {
    state.line = await get('/widget/waiting_room/{ticket}', { ticket: l.ticket });
  } catch {
    // A network blip: the place is kept, ask again on the next beat.
  }
  render();
  follow(admitted);
}
