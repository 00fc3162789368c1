// The Stripe state of the open checkout: its Elements group (once Stripe.js is
// loaded) and what the views show of it. group.ts makes and ends groups; the
// payment paths read them here.
import type { Session } from '../../api/types';
import { CallError } from '../api';
import { paysWithStripe } from '../payment';
import { state } from '../state';
import type { Elements, ExpressCheckoutElement, PaymentElement, Stripe } from './types';

/** Session statuses after which nothing is paid any more. */
const ENDED = new Set(['completed', 'canceled', 'expired']);

/** Stripe.js and the Elements of one checkout session. */
export interface Group {
  sessionId: string;
  stripe: Stripe;
  elements: Elements;
  /** The amount the Elements group was last told (minor units). */
  amount: number;
  /** The nodes the elements live in: made once per session, never moved. */
  walletSlot: HTMLElement;
  cardSlot: HTMLElement;
  wallet: ExpressCheckoutElement | null;
  card: PaymentElement | null;
  cardMounted: boolean;
}

/** What the views show of Stripe's state. */
export const stripeUi = {
  /** Stripe.js reported at least one wallet (Apple Pay, Google Pay) on this device. */
  wallets: false,
  /** The Payment Element finished loading. */
  cardReady: false,
  /** Why Stripe.js could not load, if it could not. */
  loadError: '',
};

let group: Group | null = null;
/** The session for which Stripe.js failed to load: not retried until the shopper acts. */
let failedFor = '';

export function loadFailed(sessionId: string): boolean {
  return failedFor === sessionId;
}

export function setLoadFailed(sessionId: string): void {
  failedFor = sessionId;
}

/** The session Stripe's Elements are for: open, and paid through Stripe. */
export function payableSession(): Session | null {
  const s = state.session;
  return paysWithStripe() && s && !ENDED.has(s.status) ? s : null;
}

/** The group as made (possibly for a session that since ended). */
export function anyGroup(): Group | null {
  return group;
}

export function setGroup(g: Group | null): void {
  group = g;
}

/** The session's total in minor units (what Stripe's `amount` is). */
export function sessionTotal(s: Session): number {
  return s.totals.find((t) => t.type === 'total')?.amount ?? 0;
}

/** Tells Stripe's Elements the session's total (Stripe wants it before a wallet's
 * sheet is told of a new address or rate). */
export function syncAmount(g: Group, s: Session): void {
  const amount = sessionTotal(s);
  if (amount === g.amount || amount <= 0) return;
  g.elements.update({ amount });
  g.amount = amount;
}

/** The Elements group of the open session, once Stripe.js is loaded. */
export function currentGroup(): Group | null {
  return group && group.sessionId === payableSession()?.id ? group : null;
}

export function requireGroup(): Group {
  const g = currentGroup();
  if (g) return g;
  const message = stripeUi.loadError || 'The card form is still loading. Please try again in a moment.';
  // The shopper asked to pay: the render after this failure loads Stripe.js again.
  failedFor = '';
  stripeUi.loadError = '';
  throw new CallError(0, { type: 'client', code: 'stripe_unavailable', message });
}
