// Live availability: the server pushes each variant's free units over
// server-sent events (the SDK's `watchStock`), so a sold-out product says so
// before the shopper clicks. What counts as "low" is the server's threshold.
import { watchStock as followStock } from '@anycart/sdk';
import { client } from './api';
import { cfg, variants } from './config';
import { state } from './state';

export type StockLevel = 'out' | 'low' | 'in';

/** How `units` free reads to a shopper, by the server's low-stock threshold. */
export function stockLevel(units: number): StockLevel {
  return units <= 0 ? 'out' : units <= cfg.low_stock_threshold ? 'low' : 'in';
}

/** Follows the stream; calls `changed` after each update. Without a stream the
 * availability that checkout responses carry is all there is. */
export function watchStock(changed: () => void): void {
  followStock(client, variants.map((v) => v.id), (e) => {
    state.live.set(e.variant_id, e.available);
    changed();
  });
}
