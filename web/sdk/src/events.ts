// Funnel events: what the merchant dashboard's funnel counts. A report names a
// signed view (the widget's iframe page embeds one; an app asks `startView`)
// and carries each step once: `impression`, `opened`, `checkout_started`,
// `contact`, `shipping`, `payment_attempted`, `paid`, or `left` with a reason.
// No cookie, no storage, nothing about the shopper.
import { type Anycart, type CallOptions, post } from './client.js';
import type { EventWire, EventsAccepted, components } from './types.js';

export type View = components['schemas']['WidgetView'];

/** The server takes at most this many events per report. */
export const EVENTS_PER_REPORT_MAX = 16;

export type FunnelStep = 'impression' | 'opened' | 'checkout_started' | 'contact' | 'shipping' | 'payment_attempted' | 'paid';
export type DropReason = 'closed' | 'out_of_stock' | 'declined' | 'price_changed' | 'three_ds_failed' | 'hold_expired' | 'limit_reached';
export type FunnelEvent = { step: FunnelStep } | { step: 'left'; reason: DropReason };

/** Asks for a signed view of `placement` (the client's key must be that placement's own). */
export function startView(ac: Anycart, placement: string, options?: CallOptions): Promise<View> {
  return post(ac, '/widget/views', { placement }, undefined, options);
}

function report(ac: Anycart, placement: string, view: View, events: readonly FunnelEvent[]): components['schemas']['EventsBody'] {
  return { key: ac.publishableKey, placement, view_id: view.view_id, view_token: view.view_token, events: events as EventWire[] };
}

/** Reports up to {@link EVENTS_PER_REPORT_MAX} events of one view and says what was counted
 * (each step counts once per view, so a repeated report counts nothing). */
export function sendEvents(ac: Anycart, placement: string, view: View, events: readonly FunnelEvent[], options?: CallOptions): Promise<EventsAccepted> {
  return post(ac, '/events', report(ac, placement, view, events), undefined, options);
}

/** Reports events with `navigator.sendBeacon`, which survives the page closing
 * (the answer is not readable). Falls back to a keep-alive fetch. */
export function beaconEvents(ac: Anycart, placement: string, view: View, events: readonly FunnelEvent[]): void {
  const body = JSON.stringify(report(ac, placement, view, events.slice(0, EVENTS_PER_REPORT_MAX)));
  const url = `${ac.baseUrl}/events`;
  // text/plain keeps the beacon a simple request; the server reads the JSON either way.
  const sent = typeof navigator !== 'undefined' && navigator.sendBeacon?.(url, new Blob([body], { type: 'text/plain' }));
  if (!sent) void fetch(url, { method: 'POST', body, keepalive: true }).catch(() => undefined);
}
