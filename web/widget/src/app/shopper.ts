// Returning shoppers: email → one-time code → a shopper token that unlocks the
// address and card saved with this merchant → one tap. The token is kept in this
// iframe's storage, which browsers partition per host site, so no third-party
// cookie is involved and each site asks for a code once.
import type { Session, Verified } from '../api/types';
import { CallError, post } from './api';
import { cfg } from './config';
import { complete, paysWithStripe } from './payment';
import { absorb, blocked } from './session';
import { state } from './state';
import { completeWithStripe } from './stripe/pay';
import { go } from './ui';

/** Where the shopper token is kept: this iframe's storage, partitioned per host site. */
const SHOPPER_KEY = 'anycart.shopper';

/** The kept token, unless it expired (by the server's `expires_at`). */
export function loadShopper(): Verified | null {
  try {
    const s = JSON.parse(localStorage.getItem(SHOPPER_KEY) ?? 'null') as Verified | null;
    return s && Date.parse(s.expires_at) > Date.now() ? s : null;
  } catch {
    return null; // storage blocked: sign in each time
  }
}

function keepShopper(s: Verified | null): void {
  state.shopper = s;
  try {
    if (s) localStorage.setItem(SHOPPER_KEY, JSON.stringify(s));
    else localStorage.removeItem(SHOPPER_KEY);
  } catch { /* storage blocked: keep it in memory only */ }
}

export async function sendCode(): Promise<void> {
  state.codeSent = await post('/widget/shoppers/codes', { placement_id: cfg.placement_id, email: state.form.email.trim() });
  state.form.otp = '';
  state.focus = 'f-otp';
}

export async function verifyCode(): Promise<void> {
  const v = await post('/widget/shoppers/verify', { placement_id: cfg.placement_id, email: state.form.email.trim(), code: state.form.otp.trim() });
  state.codeSent = null;
  state.form.otp = '';
  state.notices = [];
  keepShopper(v);
  state.form.email = v.email;
  if (v.profile) {
    await useSaved();
  } else {
    state.notices = ['Nothing is saved for this email yet: fill in your details once and tick "Remember me".'];
    state.step = 'contact';
  }
}

/** Fills the session from the saved profile (server side) and offers one-tap pay. */
export async function useSaved(): Promise<void> {
  const s = state.session;
  const sh = state.shopper;
  if (!s || !sh) return;
  let next: Session;
  try {
    next = await post('/widget/shoppers/prefill', { checkout_session_id: s.id, shopper_token: sh.shopper_token });
  } catch (e) {
    // The server no longer knows the token (expired, signed out elsewhere): drop it.
    if (e instanceof CallError && (e.body.code === 'invalid_shopper_token' || e.body.code === 'not_found')) {
      keepShopper(null);
      state.step = 'contact';
      return;
    }
    throw e;
  }
  absorb(next);
  state.form.email = sh.email;
  state.step = blocked(next) || next.status !== 'ready_for_payment' ? 'review' : 'express';
}

/** Pays with the saved card: the shopper token is the credential; the server swaps
 * it for the saved provider token, which never reaches this page. */
export async function oneTap(): Promise<void> {
  const s = state.session;
  const sh = state.shopper;
  if (!s || !sh) return;
  try {
    await (paysWithStripe() ? completeWithStripe(s, sh.shopper_token) : complete(s, sh.shopper_token));
  } catch (e) {
    if (e instanceof CallError && e.body.code === 'invalid_payment_token') keepShopper(null);
    state.step = 'payment';
    throw e;
  }
  // Declined or the bank must confirm: fall back to the card form (with the reason).
  if (state.step !== 'done') state.step = 'payment';
}

export function signOut(): void {
  const token = state.shopper?.shopper_token;
  if (token) void post('/widget/shoppers/sign_out', { shopper_token: token }).catch(() => undefined);
  keepShopper(null);
  state.notices = [];
  go('contact');
}

/** "Forget me": deletes the saved address and card on the server, then signs out. */
export async function forgetMe(): Promise<void> {
  const token = state.shopper?.shopper_token;
  if (token) await post('/widget/shoppers/forget', { shopper_token: token });
  keepShopper(null);
  state.notices = [];
  go('contact');
}
