// The app's whole state in one object: views read it, actions change it, and
// every change is followed by a render (ui.ts). Nothing here survives a reload
// except the returning-shopper token (shopper.ts).
import type { CodeSent, Place, Session, Verified, WidgetVariant } from '../api/types';
import { cfg, variants } from './config';
import { defaultCountry, shippingCountries } from './countries';

export type Step = 'loading' | 'product' | 'line' | 'contact' | 'signin' | 'express' | 'review' | 'payment' | 'done' | 'refused';

/** The countries the merchant ships to, as `[code, name]` (fixed for the page). */
export const countries = shippingCountries();

export const state = {
  step: 'loading' as Step,
  variantId: variants.find((v) => v.id === cfg.variant_id)?.id ?? variants.find((v) => v.available > 0)?.id ?? variants[0]?.id ?? '',
  quantity: Math.max(1, cfg.quantity || 1),
  session: null as Session | null,
  /** The shopper's place in a hot drop's waiting room (line.ts). */
  line: null as Place | null,
  busy: false,
  errors: [] as string[],
  /** ACP codes behind `errors`, exposed as data-codes for tests and host analytics. */
  errorCodes: [] as string[],
  notices: [] as string[],
  /** Units free per variant: from the page, then the live stream and each session. */
  live: new Map<string, number>(variants.map((v) => [v.id, v.available])),
  form: { email: '', name: '', line_one: '', city: '', state: '', postal_code: '', country: defaultCountry(countries), code: '', number: '', exp: '', cvc: '', otp: '' },
  shopper: null as Verified | null,
  /** The server's answer once a sign-in code was emailed (the sign-in step then asks for it). */
  codeSent: null as CodeSent | null,
  /** "Remember me for faster checkout" (off until the shopper ticks it). */
  remember: false,
  /** The opt-in the server holds for this session (so unticking withdraws it). */
  rememberSent: false,
  /** An element to focus after the next render (e.g. the code field once sent). */
  focus: '',
  refusal: '',
  /** The token awaiting a 3-D Secure confirmation (a token, never card data). */
  pending3ds: '',
};

export type FormField = keyof typeof state.form;

/** The variant the shopper has chosen. */
export function variant(): WidgetVariant | undefined {
  return variants.find((v) => v.id === state.variantId);
}

/** Units of `id` free right now, as last heard from the server. */
export function available(id: string): number {
  return state.live.get(id) ?? 0;
}

/** Shows `errors` (with their ACP `codes`) in the alert region. */
export function showErrors(errors: string[], codes: string[]): void {
  state.errors = errors;
  state.errorCodes = codes;
}
