// The payment step. Sandbox: card fields (sent only to the tokeniser) and a 3-D
// Secure confirmation when the bank asks. Stripe: Stripe's Payment Element in a
// node kept across renders (it is an iframe; moving it would reload it and lose
// the card), whose 3-D Secure challenge Stripe.js shows itself. Both offer the
// opt-in "Remember me".
import { sessionMoney } from '../money';
import { confirm3ds, pay, paysWithStripe } from '../payment';
import { total } from '../session';
import { state } from '../state';
import { cardSlot } from '../stripe/group';
import { stripeUi } from '../stripe/current';
import { payWithCard } from '../stripe/pay';
import { run } from '../ui';
import { field, h, heading, stepForm } from './dom';
import { keep, place } from './keep';
import { actions } from './parts';

function challenge(): HTMLElement {
  return h('div', { class: 'challenge', role: 'group', 'aria-label': 'Bank verification' },
    h('p', {}, 'Sandbox bank: confirm this payment, or enter another card.'),
    h('button', { type: 'button', class: 'secondary', onclick: () => void run(confirm3ds), disabled: state.busy }, 'Confirm with my bank'));
}

function rememberMe(): HTMLElement[] {
  return [
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', id: 'f-remember', checked: state.remember, 'aria-describedby': 'remember-help', onchange: (e: Event) => { state.remember = (e.target as HTMLInputElement).checked; } }),
      ' Remember me for faster checkout'),
    h('p', { class: 'hint', id: 'remember-help' }, 'Saves your address and card with this shop. Next time, a code sent to your email unlocks them.'),
  ];
}

function payLabel(): string {
  const s = state.session;
  return state.busy ? 'Paying…' : `Pay ${s ? sessionMoney(total('total'), s.currency) : ''}`;
}

function sandboxPaymentView(): HTMLElement {
  return stepForm('step', () => void run(pay),
    heading('Payment'),
    field('Card number', 'number', { inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242' }),
    h('div', { class: 'row' }, field('Expiry (MM/YY)', 'exp', { autocomplete: 'cc-exp', placeholder: '12/30' }), field('CVC', 'cvc', { inputmode: 'numeric', autocomplete: 'cc-csc', placeholder: '123' })),
    state.pending3ds ? challenge() : null,
    ...rememberMe(),
    actions(payLabel()));
}

function stripePaymentView(): HTMLElement {
  // The form is kept too: the card's node may only sit in nodes that stay put.
  const form = keep('stripe-payment', () => stepForm('step', () => void run(payWithCard)));
  place(form, [
    heading('Payment'),
    cardSlot(),
    stripeUi.cardReady ? null : h('p', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'card-loading' }, stripeUi.loadError || 'Loading the secure card form…'),
    ...rememberMe(),
    actions(payLabel()),
  ]);
  return form;
}

export function paymentView(): HTMLElement {
  return paysWithStripe() ? stripePaymentView() : sandboxPaymentView();
}
