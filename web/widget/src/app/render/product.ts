// The product step: image, price, live stock, variant and quantity, Buy now.
import type { WidgetVariant } from '../../api/types';
import { startCheckout } from '../checkout';
import { cfg, variants } from '../config';
import { formatMoney } from '../money';
import { available, state, variant } from '../state';
import { stockLevel } from '../stock';
import { render, run } from '../ui';
import { h, heading, stepForm } from './dom';

const STOCK_TEXT = { out: () => 'Out of stock', low: (n: number) => `Only ${n} left`, in: () => 'In stock' };

function stockLine(v: WidgetVariant): HTMLElement {
  const n = available(v.id);
  const level = stockLevel(n);
  return h('p', { class: `stock${level === 'in' ? '' : ` ${level}`}`, 'aria-live': 'polite', 'data-testid': 'stock' }, STOCK_TEXT[level](n));
}

/** The most units one order may ask for: the server's line limit, lowered by the
 * variant's own cap. (Stock is not a cap here: the server says what is left.) */
function quantityMax(v: WidgetVariant | undefined): number {
  return Math.max(1, Math.min(v?.max_quantity_per_order ?? cfg.quantity_max, cfg.quantity_max));
}

function variantLabel(x: WidgetVariant): string {
  return `${x.options.map((o) => o[1]).join(' / ') || x.title}${available(x.id) <= 0 ? ' — sold out' : ''}`;
}

export function productView(): HTMLElement {
  const v = variant();
  const max = quantityMax(v);
  const img = v?.image_url ?? cfg.product.image_url;
  const soldOut = !v || available(v.id) <= 0;
  return stepForm('step product', () => void run(startCheckout),
    h('div', { class: 'hero' },
      img ? h('img', { src: img, alt: cfg.product.title, width: 72, height: 72 }) : null,
      h('div', {},
        heading(cfg.product.title),
        v ? h('p', { class: 'price' }, formatMoney(v.amount, v.currency, v.exponent)) : null,
        v ? stockLine(v) : null)),
    variants.length > 1 ? h('div', { class: 'field' },
      h('label', { for: 'f-variant' }, 'Option'),
      h('select', { id: 'f-variant', onchange: (e: Event) => { state.variantId = (e.target as HTMLSelectElement).value; state.errors = []; render(); } },
        ...variants.map((x) => h('option', { value: x.id, selected: x.id === state.variantId }, variantLabel(x))))) : null,
    h('div', { class: 'field qty' },
      h('label', { for: 'f-qty' }, 'Quantity'),
      h('input', { id: 'f-qty', type: 'number', min: 1, max, value: state.quantity, inputmode: 'numeric', oninput: (e: Event) => { state.quantity = Math.max(1, Math.min(max, Number((e.target as HTMLInputElement).value) || 1)); } })),
    // An id, so a live-stock re-render keeps keyboard focus on it.
    h('button', { type: 'submit', id: 'buy', class: 'primary', disabled: state.busy || soldOut }, soldOut ? 'Sold out' : state.busy ? 'Reserving…' : v?.waiting_room ? 'Join the line' : 'Buy now'));
}
