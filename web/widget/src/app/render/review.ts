// The review step: shipping options with their prices, a discount code, and
// the totals; it moves on to payment only when no server message blocks.
import type { FulfillmentOption, Session } from '../../api/types';
import { applyCode, chooseShipping } from '../checkout';
import { sessionMoney } from '../money';
import { blocked, optionAmount } from '../session';
import { state } from '../state';
import { go, run } from '../ui';
import { field, h, heading, stepForm } from './dom';
import { actions, totalsList } from './parts';

function optionPrice(o: FulfillmentOption, s: Session): string {
  return sessionMoney(optionAmount(o), s.currency);
}

export function reviewView(): HTMLElement {
  const s = state.session;
  const selected = s?.selected_fulfillment_options[0]?.option_id;
  return stepForm('step', () => { if (s && !blocked(s)) go('payment'); },
    heading('Shipping & total'),
    h('fieldset', {}, h('legend', {}, 'Shipping'),
      ...(s?.fulfillment_options ?? []).map((o) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'ship', value: o.id, checked: o.id === selected, onchange: () => void run(() => chooseShipping(o.id)) }),
        ` ${o.title} · ${optionPrice(o, s as Session)}`))),
    h('div', { class: 'row code' },
      field('Discount code', 'code', { required: false, autocomplete: 'off', onkeydown: (e: Event) => { if ((e as KeyboardEvent).key === 'Enter' && state.form.code.trim()) { e.preventDefault(); void run(applyCode); } } }),
      h('button', { type: 'button', class: 'secondary', onclick: () => void run(applyCode), disabled: state.busy }, 'Apply')),
    totalsList(),
    actions('Continue to payment'));
}
