// The waiting-room step: the shopper's place in line (spoken as it changes),
// their turn, or that they left the line and may join again.
import { startCheckout } from '../checkout';
import { joinLine, leaveLine } from '../line';
import { state } from '../state';
import { run } from '../ui';
import { h, heading, stepForm } from './dom';

function until(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? '' : t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function lineView(): HTMLElement {
  const l = state.line;
  const leave = h('button', { type: 'button', class: 'link', onclick: leaveLine }, 'Leave the line');
  if (l?.status === 'waiting') {
    return h('div', { class: 'step line' },
      heading('You are in line'),
      h('p', { class: 'place', 'aria-live': 'polite', 'data-testid': 'line-position' },
        l.position <= 1 ? 'You are next.' : `${l.position - 1} ${l.position === 2 ? 'shopper is' : 'shoppers are'} ahead of you.`),
      h('p', { class: 'muted' }, 'Keep this open: your checkout starts by itself when it is your turn.'),
      leave);
  }
  if (l?.status === 'admitted') {
    const by = until(l.admitted_until);
    return stepForm('step line', () => void run(startCheckout),
      heading('It is your turn'),
      by ? h('p', { class: 'muted' }, `Start your checkout before ${by}.`) : null,
      h('button', { type: 'submit', id: 'line-go', class: 'primary', disabled: state.busy }, state.busy ? 'Reserving…' : 'Check out now'),
      leave);
  }
  return stepForm('step line', () => void run(() => joinLine(startCheckout)),
    heading('You left the line'),
    h('p', { class: 'muted' }, 'Your place lapsed while this page was not asking. You can join again at the back.'),
    h('button', { type: 'submit', id: 'line-join', class: 'primary', disabled: state.busy }, 'Join again'));
}
