import type { components } from '../api/schema';

type Money = components['schemas']['MoneyWire'];

const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp', 'isk', 'ugx']);

/** `{amount: 1999, currency: 'usd'}` → `$19.99` (minor units, never floats in the API). */
export function money(m: Money | undefined | null): string {
  if (!m) return '—';
  const digits = ZERO_DECIMAL.has(m.currency) ? 0 : 2;
  const value = m.amount / 10 ** digits;
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currency.toUpperCase(), minimumFractionDigits: digits }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${m.currency.toUpperCase()}`;
  }
}

/** The first entry of a per-currency list, or a zero. */
export function firstMoney(list: Money[] | undefined, currency = 'usd'): Money {
  return list?.[0] ?? { amount: 0, currency };
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
}

/** Basis points as a percentage: 1234 → `12.3 %`. */
export function percent(bp: number | null | undefined): string {
  return bp == null ? '—' : `${(bp / 100).toFixed(1)} %`;
}

/** `YYYY-MM-DD` of a Date (UTC). */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export const STEP_LABELS: Record<string, string> = {
  impression: 'Viewable impressions',
  opened: 'Opened',
  checkout_started: 'Checkout started',
  contact: 'Contact',
  shipping: 'Shipping',
  payment_attempted: 'Payment attempted',
  paid: 'Paid',
};

export const REASON_LABELS: Record<string, string> = {
  closed: 'Closed',
  out_of_stock: 'Out of stock',
  declined: 'Card declined',
  price_changed: 'Price changed',
  three_ds_failed: '3-D Secure failed',
  hold_expired: 'Hold expired',
  limit_reached: 'Limit reached',
};

export const CHANNELS = ['display_ad', 'publisher', 'social', 'ctv', 'own_site', 'app'] as const;
