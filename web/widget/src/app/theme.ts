// Brand theming: the merchant's theme with the placement's overrides (from the
// server) becomes CSS custom properties; app.css reads them with its defaults.
import type { Theme } from '../api/types';

export function applyTheme(t: Theme): void {
  const s = document.documentElement.style;
  const set = (k: string, v: string | null | undefined): void => { if (v) s.setProperty(k, v); };
  if (t.dark) document.documentElement.classList.add('dark');
  set('--ac-primary', t.primary_color);
  set('--ac-bg', t.background_color);
  set('--ac-text', t.text_color);
  set('--ac-font', t.font_family);
  if (t.radius_px !== null && t.radius_px !== undefined) set('--ac-radius', `${t.radius_px}px`);
}
