// Stripe's Elements in the widget's look: the Appearance API variables from the
// same custom properties app.css uses (the merchant's theme over the defaults),
// so Stripe's fields match the anycart ones around them.
import { cfg } from '../config';
import type { StripeAppearance } from './types';

export function appearance(): StripeAppearance {
  const css = getComputedStyle(document.documentElement);
  const variables: Record<string, string> = {};
  const take = (name: string, prop: string): void => {
    const v = css.getPropertyValue(prop).trim();
    if (v) variables[name] = v;
  };
  take('colorPrimary', '--ac-primary');
  take('colorBackground', '--ac-bg');
  take('colorText', '--ac-text');
  take('colorDanger', '--ac-error');
  take('fontFamily', '--ac-font');
  take('borderRadius', '--ac-radius');
  variables['fontSizeBase'] = cfg.layout === 'compact' ? '13px' : '14px';
  if (cfg.layout === 'compact') variables['spacingUnit'] = '3px';
  return { theme: cfg.theme.dark ? 'night' : 'stripe', variables };
}
