// Live availability: the server pushes each variant's free units as
// server-sent events (`GET /availability/stream`): first the current figure,
// then one event per change. EventSource cannot send headers, so the
// publishable key rides in the query.
import type { Anycart } from './client.js';
import type { AvailabilityEvent } from './types.js';

/** The server streams at most this many variants at once. */
export const STREAM_VARIANTS_MAX = 20;

/** The part of the EventSource interface the stream uses (browsers have it;
 * on Node pass e.g. the `eventsource` package's class). */
export interface EventSourceLike {
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}
export type EventSourceClass = new (url: string) => EventSourceLike;

export interface WatchOptions {
  /** Called when the stream cannot be opened (no stream on this server, a bad
   * key or variant): the watch has stopped. Checkout answers still carry
   * availability per line. */
  onUnavailable?: () => void;
  /** An EventSource implementation (defaults to the global one). */
  EventSource?: EventSourceClass;
}

function isAvailability(d: unknown): d is AvailabilityEvent {
  const e = d as Partial<AvailabilityEvent> | null;
  return typeof e === 'object' && e !== null && typeof e.variant_id === 'string' && typeof e.available === 'number';
}

/** The stream's URL for `variantIds`. */
export function stockStreamUrl(ac: Anycart, variantIds: readonly string[]): string {
  const q = new URLSearchParams({ key: ac.publishableKey, variants: variantIds.join(',') });
  return `${ac.baseUrl}/availability/stream?${q.toString()}`;
}

/** Follows the free stock of `variantIds` (1 to {@link STREAM_VARIANTS_MAX});
 * `changed` gets every figure. Returns a function that stops watching. */
export function watchStock(ac: Anycart, variantIds: readonly string[], changed: (e: AvailabilityEvent) => void, options: WatchOptions = {}): () => void {
  const Source = options.EventSource ?? (globalThis as { EventSource?: EventSourceClass }).EventSource;
  if (!Source || variantIds.length === 0 || variantIds.length > STREAM_VARIANTS_MAX) {
    options.onUnavailable?.();
    return () => undefined;
  }
  const es = new Source(stockStreamUrl(ac, variantIds));
  let opened = false;
  es.onopen = () => { opened = true; };
  es.addEventListener('availability', (e) => {
    try {
      const d = JSON.parse(String(e.data)) as unknown;
      if (isAvailability(d)) changed(d);
    } catch { /* a malformed event is skipped; the next one carries the figure */ }
  });
  // Refused before opening (404 from an older server, 4xx for a bad key): stop
  // the browser's retries. After opening, EventSource reconnects by itself.
  es.onerror = () => {
    if (!opened) {
      es.close();
      options.onUnavailable?.();
    }
  };
  return () => es.close();
}
