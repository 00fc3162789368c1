// The end states: the confirmation with the order number, and the refusal shown
// when this website may not embed the checkout.
import { state } from '../state';
import { h, heading } from './dom';

export function doneView(): HTMLElement {
  const o = state.session?.order;
  return h('div', { class: 'step done' },
    heading('Thank you!'),
    h('p', {}, 'Your order ', h('strong', { 'data-testid': 'order-number' }, `#${o?.order_number ?? ''}`), ' is confirmed.'),
    h('p', { class: 'muted' }, `A receipt is on its way to ${state.form.email}.`));
}

export function refusedView(): HTMLElement {
  return h('div', { class: 'step refused' }, h('p', { role: 'alert' }, state.refusal));
}
