// The contact & delivery step: email, name, address, and a way in for
// returning shoppers (a code, or their saved details once signed in).
import { saveContact } from '../checkout';
import { useSaved } from '../shopper';
import { countries, state } from '../state';
import { go, run } from '../ui';
import { field, h, heading, stepForm } from './dom';
import { actions } from './parts';

/** Only the countries the merchant ships to (from its shipping zones). */
function countrySelect(): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: 'f-country' }, 'Country'),
    h('select', { id: 'f-country', autocomplete: 'country', onchange: (e: Event) => { state.form.country = (e.target as HTMLSelectElement).value; } },
      ...countries.map(([c, n]) => h('option', { value: c, selected: c === state.form.country }, n))));
}

export function contactView(): HTMLElement {
  const saved = state.shopper?.profile;
  return stepForm('step', () => void run(saveContact),
    heading('Contact & delivery'),
    saved
      ? h('button', { type: 'button', class: 'secondary', onclick: () => void run(useSaved), disabled: state.busy }, `Use my saved details (•••• ${saved.card_last4 ?? ''})`)
      : h('button', { type: 'button', class: 'secondary', 'data-testid': 'signin', onclick: () => go('signin'), disabled: state.busy }, 'Saved your details before? Get a code'),
    field('Email', 'email', { type: 'email', autocomplete: 'email' }),
    field('Full name', 'name', { autocomplete: 'name' }),
    field('Address', 'line_one', { autocomplete: 'address-line1' }),
    h('div', { class: 'row' }, field('City', 'city', { autocomplete: 'address-level2' }), field('State / region', 'state', { autocomplete: 'address-level1', required: false })),
    h('div', { class: 'row' }, field('Postal code', 'postal_code', { autocomplete: 'postal-code' }), countrySelect()),
    actions('Continue'));
}
