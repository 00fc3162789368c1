// The payment step: card fields (sent only to the tokeniser), a 3-D Secure
// confirmation when the bank asks, and the opt-in "Remember me".
import { sessionMoney } from '../money';
import { confirm3ds, pay } from '../payment';
import { total } from '../session';
import { state } from '../state';
import { run } from '../ui';
import { field, h, heading, stepForm } from './dom';
import { actions } from './parts';

function challenge(): HTMLElement {
  return h('div', { class: 'challenge', role: 'group', 'aria-label': 'Bank verification' },
    h('p', {}, 'Sandbox bank: confirm this payment, or enter another card.'),
    h('button', { type: 'button', class: 'secondary', onclick: () => void run(confirm3ds), disabled: state.busy }, 'Confirm with my bank'));
}

export function paymentView(): HTMLElement {
  const s = state.session;
  return stepForm('step', () => void run(pay),
    heading('Payment'),
    field('Card number', 'number', { inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242' }),
    h('div', { class: 'row' }, field('Expiry (MM/YY)', 'exp', { autocomplete: 'cc-exp', placeholder: '12/30' }), field('CVC', 'cvc', { inputmode: 'numeric', autocomplete: 'cc-csc', placeholder: '123' })),
    state.pending3ds ? challenge() : null,
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', id: 'f-remember', checked: state.remember, 'aria-describedby': 'remember-help', onchange: (e: Event) => { state.remember = (e.target as HTMLInputElement).checked; } }),
      ' Remember me for faster checkout'),
    h('p', { class: 'hint', id: 'remember-help' }, 'Saves your address and card with this shop. Next time, a code sent to your email unlocks them.'),
    actions(state.busy ? 'Paying…' : `Pay ${s ? sessionMoney(total('total'), s.currency) : ''}`));
}
