// The phone's half of a TV hand-off (`/h/{code}`, crates/server/src/routes/tv):
// the server embeds the session the TV opened as `resume_session_id`; the app
// takes it up where the TV left it (the stock is already held) and goes straight
// to contact and address. The page is the phone's top-level document, so there
// is no host page to greet.
import { get } from './api';
import { cfg } from './config';
import { absorb } from './session';
import { showErrors, state } from './state';
import { go } from './ui';

/** True when this page continues a TV's session. */
export function isHandoff(): boolean {
  return typeof cfg.resume_session_id === 'string' && cfg.resume_session_id !== '';
}

/** Loads the TV's session and continues it from the contact step. */
export async function resumeHandoff(): Promise<void> {
  const s = await get('/checkout_sessions/{checkout_session_id}', { checkout_session_id: cfg.resume_session_id ?? '' });
  const line = s.line_items[0];
  if (line) {
    state.variantId = line.variant_id;
    state.quantity = line.quantity;
  }
  absorb(s);
  // "Email missing", "address missing": that is what the contact step asks for.
  showErrors([], []);
  go('contact');
}
