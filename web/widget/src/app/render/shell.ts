// The frame around every step: brand header, wallet buttons (Stripe, when the
// device has a wallet), the current step, the error region (`aria-live`, with
// ACP codes in data-codes) and notices. A re-render keeps keyboard focus where
// it was. The frame itself is kept across renders, so the nodes holding Stripe's
// iframes inside it never move.
import { cfg } from '../config';
import { type Step, state } from '../state';
import { mountStripe, prepareStripe, walletSlot } from '../stripe/group';
import { contactView } from './contact';
import { h } from './dom';
import { doneView, refusedView } from './done';
import { expressView } from './express';
import { keep, place } from './keep';
import { lineView } from './line';
import { paymentView } from './payment';
import { productView } from './product';
import { reviewView } from './review';
import { signinView } from './signin';

const VIEWS: Record<Exclude<Step, 'refused'>, () => HTMLElement> = {
  loading: () => h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'),
  product: productView, line: lineView, contact: contactView, signin: signinView, express: expressView, review: reviewView, payment: paymentView, done: doneView,
};

function header(): HTMLElement {
  const logo = cfg.theme.logo_url ? h('img', { class: 'logo', src: cfg.theme.logo_url, alt: '' }) : null;
  return h('header', {}, logo, h('span', { class: 'brand' }, 'Secure checkout'));
}

/** The steps of an open session where wallet buttons pay instead of the forms. */
const WALLET_STEPS: ReadonlySet<Step> = new Set<Step>(['contact', 'review', 'payment']);

let shownStep: Step | null = null;

export function renderShell(root: HTMLElement): void {
  const active = state.focus || document.activeElement?.id;
  state.focus = '';
  prepareStripe();
  if (state.step === 'refused') {
    root.replaceChildren(refusedView());
  } else {
    const shell = keep('shell', () => h('div', { class: `shell ${cfg.layout}` }));
    place(root, [shell]);
    place(shell, [
      header(),
      walletSlot(WALLET_STEPS.has(state.step)),
      VIEWS[state.step](),
      h('div', { class: 'errors', role: 'alert', 'aria-live': 'assertive', 'data-testid': 'errors', 'data-codes': state.errorCodes.join(' ') }, ...state.errors.map((t) => h('p', {}, t))),
      state.notices.length ? h('div', { class: 'notices', 'aria-live': 'polite', 'data-testid': 'notices' }, ...state.notices.map((t) => h('p', {}, t))) : null,
    ]);
    // A new step starts at its top (the frame is kept, and so is its scroll).
    if (state.step !== shownStep) shell.scrollTop = 0;
  }
  shownStep = state.step;
  if (active) document.getElementById(active)?.focus();
  revealErrors(root);
  mountStripe();
}

/** In a short ad slot the shell scrolls: keep a new error in view (without ever
 * scrolling the host page, which `scrollIntoView` could do). */
function revealErrors(root: HTMLElement): void {
  const shell = root.querySelector<HTMLElement>('.shell');
  const errors = root.querySelector<HTMLElement>('.errors');
  if (!shell || !errors || state.errors.length === 0) return;
  const bottom = errors.offsetTop - shell.offsetTop + errors.offsetHeight;
  if (bottom > shell.scrollTop + shell.clientHeight) shell.scrollTop = bottom - shell.clientHeight;
}
