// The one-tap step for a signed-in returning shopper: saved address, totals,
// and "Pay with VISA •••• 4242" (the saved card never reaches this page).
import { sessionMoney } from '../money';
import { total } from '../session';
import { forgetMe, oneTap, signOut } from '../shopper';
import { state } from '../state';
import { go, run } from '../ui';
import { h, heading, stepForm } from './dom';
import { totalsList } from './parts';

export function expressView(): HTMLElement {
  const s = state.session;
  const p = state.shopper?.profile;
  const opt = s?.fulfillment_options.find((o) => o.id === s.selected_fulfillment_options[0]?.option_id);
  const card = `${(p?.card_brand ?? 'card').toUpperCase()} •••• ${p?.card_last4 ?? ''}`;
  return stepForm('step', () => void run(oneTap),
    heading(p?.name ? `Welcome back, ${p.name}` : 'Welcome back'),
    h('p', { class: 'saved', 'data-testid': 'saved-address' }, `Ship to ${p?.address ?? ''}${opt ? ` · ${opt.title}` : ''}`),
    totalsList(),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'one-tap', disabled: state.busy }, state.busy ? 'Paying…' : `Pay ${s ? sessionMoney(total('total'), s.currency) : ''} with ${card}`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'link', onclick: () => go('payment'), disabled: state.busy }, 'Use another card'),
      h('button', { type: 'button', class: 'link', onclick: signOut, disabled: state.busy }, 'Not you?'),
      h('button', { type: 'button', class: 'link', 'data-testid': 'forget-me', onclick: () => void run(forgetMe), disabled: state.busy }, 'Forget my details')));
}
