// The country picker: which countries it offers is the merchant's shipping
// zones (WidgetConfig.shipping_countries / ships_worldwide); their names and
// order are presentation, from the browser's own Intl data.
import { cfg } from './config';

/** CLDR region codes that name groupings or test regions, not places to ship to. */
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'QO', 'UN', 'XA', 'XB', 'ZZ']);

function displayNames(): Intl.DisplayNames | null {
  try {
    return new Intl.DisplayNames(undefined, { type: 'region', fallback: 'none' });
  } catch {
    return null; // very old browser: show the codes
  }
}

/** Every current region the browser can name (for a catch-all shipping zone). */
function allRegions(names: Intl.DisplayNames): string[] {
  const out: string[] = [];
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      // Deprecated codes (YU, SU…) canonicalise to their successor: skip them.
      if (!NOT_COUNTRIES.has(code) && names.of(code) !== undefined && Intl.getCanonicalLocales(`und-${code}`)[0] === `und-${code}`) out.push(code);
    }
  }
  return out;
}

/** `[code, name]` of each country the merchant ships to, sorted by name. */
export function shippingCountries(): [string, string][] {
  const names = displayNames();
  const codes = new Set(cfg.shipping_countries);
  if (cfg.ships_worldwide && names) for (const c of allRegions(names)) codes.add(c);
  return Array.from(codes, (c): [string, string] => [c, names?.of(c) ?? c]).sort((x, y) => x[1].localeCompare(y[1]));
}

/** The shopper's own country when the merchant ships there, else the first one. */
export function defaultCountry(options: [string, string][]): string {
  for (const lang of navigator.languages ?? [navigator.language]) {
    try {
      const region = new Intl.Locale(lang).maximize().region;
      if (region && options.some(([c]) => c === region)) return region;
    } catch { /* not a locale tag */ }
  }
  return options[0]?.[0] ?? '';
}
