// The frame around every step: brand header, the current step, the error
// region (`aria-live`, with ACP codes in data-codes) and notices. A re-render
// keeps keyboard focus where it was.
import { cfg } from '../config';
import { type Step, state } from '../state';
import { contactView } from './contact';
import { h } from './dom';
import { doneView, refusedView } from './done';
import { expressView } from './express';
import { paymentView } from './payment';
import { productView } from './product';
import { reviewView } from './review';
import { signinView } from './signin';

const VIEWS: Record<Exclude<Step, 'refused'>, () => HTMLElement> = {
  loading: () => h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'),
  product: productView, contact: contactView, signin: signinView, express: expressView, review: reviewView, payment: paymentView, done: doneView,
};

function header(): HTMLElement {
  const logo = cfg.theme.logo_url ? h('img', { class: 'logo', src: cfg.theme.logo_url, alt: '' }) : null;
  return h('header', {}, logo, h('span', { class: 'brand' }, 'Secure checkout'));
}

export function renderShell(root: HTMLElement): void {
  const active = state.focus || document.activeElement?.id;
  state.focus = '';
  root.replaceChildren(
    state.step === 'refused' ? refusedView() : h('div', { class: `shell ${cfg.layout}` },
      header(),
      VIEWS[state.step](),
      h('div', { class: 'errors', role: 'alert', 'aria-live': 'assertive', 'data-testid': 'errors', 'data-codes': state.errorCodes.join(' ') }, ...state.errors.map((t) => h('p', {}, t))),
      state.notices.length ? h('div', { class: 'notices', 'aria-live': 'polite', 'data-testid': 'notices' }, ...state.notices.map((t) => h('p', {}, t))) : null));
  if (active) document.getElementById(active)?.focus();
  revealErrors(root);
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
