// Live availability: the server pushes each variant's free units over
// server-sent events (`/availability/stream`), so a sold-out product says so
// before the shopper clicks. What counts as "low" is the server's threshold.
import type { AvailabilityEvent } from '../api/types';
import { cfg, variants } from './config';
import { state } from './state';

export type StockLevel = 'out' | 'low' | 'in';

/** How `units` free reads to a shopper, by the server's low-stock threshold. */
export function stockLevel(units: number): StockLevel {
  return units <= 0 ? 'out' : units <= cfg.low_stock_threshold ? 'low' : 'in';
}

function isAvailability(d: unknown): d is AvailabilityEvent {
  const e = d as Partial<AvailabilityEvent> | null;
  return typeof e === 'object' && e !== null && typeof e.variant_id === 'string' && typeof e.available === 'number';
}

/** Follows the stream; calls `changed` after each update. */
export function watchStock(changed: () => void): void {
  if (typeof EventSource === 'undefined') return;
  // EventSource cannot send headers: the publishable key rides in the query.
  const q = new URLSearchParams({ key: cfg.publishable_key, variants: variants.map((v) => v.id).join(',') });
  const es = new EventSource(`/availability/stream?${q.toString()}`);
  let opened = false;
  es.onopen = () => { opened = true; };
  es.addEventListener('availability', (e) => {
    try {
      const d = JSON.parse((e as MessageEvent<string>).data) as unknown;
      if (isAvailability(d)) {
        state.live.set(d.variant_id, d.available);
        changed();
      }
    } catch { /* ignore malformed events */ }
  });
  // No stream on this server (or it went away before opening): fall back to the
  // availability that checkout responses carry, and stop the browser's retries.
  es.onerror = () => { if (!opened) es.close(); };
}
