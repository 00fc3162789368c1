// Loads Stripe.js once, when a checkout first needs it: a plain <script> from the
// URL the server put in the config (Stripe's origin, or a local stand-in in
// tests), which the iframe's CSP lets in. Nothing of Stripe is in app.js.
import { CallError } from '../api';
import type { StripeFactory } from './types';

let loading: Promise<StripeFactory> | null = null;

function unavailable(): CallError {
  return new CallError(0, { type: 'client', code: 'stripe_unavailable', message: 'The card form could not load. Check your connection and try again.' });
}

export function loadStripeJs(url: string): Promise<StripeFactory> {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  loading ??= new Promise<StripeFactory>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.async = true;
    script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(unavailable()));
    script.onerror = () => {
      // Let the next attempt try again (a flaky network, a blocked request).
      script.remove();
      loading = null;
      reject(unavailable());
    };
    document.head.append(script);
  });
  return loading;
}
