// The placement's configuration, embedded by the server in the iframe document
// (`crates/server/src/routes/widget/page.rs`), so the app is interactive without
// another request. Limits and lists the app obeys (shipping countries, quantity
// caps, low-stock threshold, code length) are read from here, never copied.
import type { WidgetConfig, WidgetVariant } from '../api/types';

export const cfg = JSON.parse(document.getElementById('anycart-config')?.textContent ?? '{}') as WidgetConfig;

export const variants: WidgetVariant[] = cfg.product.variants;
