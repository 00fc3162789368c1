// Pieces several steps share: the totals list and the Cancel / submit row.
import { cancel } from '../checkout';
import { sessionMoney } from '../money';
import { state } from '../state';
import { run } from '../ui';
import { h } from './dom';

/** The session's totals as the server computed them (the base amount and a zero
 * discount are left out: they say nothing the shopper needs). */
export function totalsList(): HTMLElement {
  const s = state.session;
  const dl = h('dl', { class: 'totals' });
  if (!s) return dl;
  for (const t of s.totals) {
    const discount = t.type === 'items_discount' || t.type === 'discount';
    if (t.type === 'items_base_amount' || (t.amount === 0 && discount)) continue;
    dl.append(h('dt', { class: t.type }, t.display_text), h('dd', { class: t.type, 'data-total': t.type }, sessionMoney(t.amount, s.currency)));
  }
  return dl;
}

/** Cancel (ends the session, back to the product) and the step's submit button. */
export function actions(label: string): HTMLElement {
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'link', onclick: () => void run(cancel), disabled: state.busy }, 'Cancel'),
    h('button', { type: 'submit', class: 'primary', disabled: state.busy }, label));
}
