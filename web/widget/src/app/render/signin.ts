// The sign-in step for returning shoppers: email, then the emailed code. How
// long the code is and how long it works are the server's (config, CodeSent).
import { cfg } from '../config';
import { sendCode, verifyCode } from '../shopper';
import { state } from '../state';
import { go, run } from '../ui';
import { field, h, heading, stepForm } from './dom';

function validFor(seconds: number): string {
  const min = Math.max(1, Math.round(seconds / 60));
  return `${min} minute${min === 1 ? '' : 's'}`;
}

export function signinView(): HTMLElement {
  const sent = state.codeSent;
  const digits = cfg.sign_in_code_digits;
  return stepForm('step', () => void run(sent ? verifyCode : sendCode),
    heading('Faster checkout'),
    h('p', { class: 'muted', id: 'signin-help', 'aria-live': 'polite' }, sent
      ? `We emailed a code to ${state.form.email.trim()}. It works for ${validFor(sent.expires_in)}.`
      : 'We email you a one-time code that unlocks the address and card you saved with this shop.'),
    sent
      ? field(`${digits}-digit code`, 'otp', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: digits, pattern: `[0-9]{${digits}}`, 'aria-describedby': 'signin-help' })
      : field('Email', 'email', { type: 'email', autocomplete: 'email', 'aria-describedby': 'signin-help' }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'link', onclick: () => { state.codeSent = null; state.notices = []; go('contact'); }, disabled: state.busy }, 'Back'),
      sent ? h('button', { type: 'button', class: 'link', onclick: () => void run(sendCode), disabled: state.busy }, 'New code') : null,
      h('button', { type: 'submit', class: 'primary', disabled: state.busy }, sent ? 'Verify' : 'Email me a code')));
}
