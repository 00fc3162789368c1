// Money on screen. The server decides the amounts (integer minor units), the
// currency and its exponent; Intl only decides how that looks in the shopper's
// locale. Never arithmetic on prices here.
import { variants } from './config';

/** `amount` minor units of `currency` with `exponent` decimals, e.g. 3200 usd 2 → "$32.00". */
export function formatMoney(amount: number, currency: string, exponent: number): string {
  const major = amount / 10 ** exponent;
  const code = currency.toUpperCase();
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: code, minimumFractionDigits: exponent, maximumFractionDigits: exponent }).format(major);
  } catch {
    return `${major.toFixed(exponent)} ${code}`;
  }
}

/** Formats an amount of a session priced in `currency` (the catalogue's currency,
 * whose exponent came with the variants). */
export function sessionMoney(amount: number, currency: string): string {
  const exponent = variants.find((v) => v.currency === currency.toLowerCase())?.exponent;
  if (exponent !== undefined) return formatMoney(amount, currency, exponent);
  // Not a catalogue currency (never expected): its standard digits, as Intl knows them.
  try {
    return formatMoney(amount, currency, new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 0);
  } catch {
    return `${amount} ${currency.toUpperCase()}`;
  }
}
