// The part of Stripe.js (https://docs.stripe.com/js) the widget uses, typed by
// hand from Stripe's reference: Stripe.js is loaded at run time from Stripe's own
// origin (never bundled), so only these shapes are needed at build time.

export interface StripeError {
  type: string;
  code?: string;
  decline_code?: string;
  message?: string;
}

export interface StripeAppearance {
  theme?: 'stripe' | 'night' | 'flat';
  variables?: Record<string, string>;
}

/** `stripe.elements({mode: 'payment', …})`: collect details before any PaymentIntent exists. */
export interface ElementsOptions {
  mode: 'payment';
  amount: number;
  currency: string;
  appearance?: StripeAppearance;
  /** Lets `createPaymentMethod({elements})` turn the collected details into a `pm_…`. */
  paymentMethodCreation: 'manual';
  paymentMethodTypes?: string[];
}

export interface Elements {
  create(type: 'payment', options?: Record<string, unknown>): PaymentElement;
  create(type: 'expressCheckout', options?: ExpressCheckoutOptions): ExpressCheckoutElement;
  update(options: { amount?: number; appearance?: StripeAppearance }): void;
  submit(): Promise<{ error?: StripeError }>;
}

interface ElementBase {
  mount(target: HTMLElement): void;
  unmount(): void;
  destroy(): void;
}

export interface PaymentElement extends ElementBase {
  on(event: 'ready', handler: () => void): PaymentElement;
  on(event: 'loaderror', handler: (e: { error: StripeError }) => void): PaymentElement;
}

export type WalletKind = 'applePay' | 'googlePay';

export interface ExpressCheckoutOptions {
  buttonHeight?: number;
  paymentMethods?: Partial<Record<WalletKind | 'link' | 'paypal' | 'amazonPay' | 'klarna', 'auto' | 'never'>>;
  layout?: { maxColumns?: number; maxRows?: number; overflow?: 'auto' | 'never' };
  allowedShippingCountries?: string[];
}

export interface ShippingRate {
  id: string;
  amount: number;
  displayName: string;
}

/** A wallet's address before the shopper pays: no street, for privacy. */
export interface PartialAddress {
  city?: string;
  state?: string;
  postal_code?: string;
  country: string;
}

export interface FullAddress extends PartialAddress {
  line1?: string;
  line2?: string | null;
}

export interface ClickEvent {
  expressPaymentType: string;
  resolve(details: {
    emailRequired?: boolean;
    phoneNumberRequired?: boolean;
    shippingAddressRequired?: boolean;
    shippingRates?: ShippingRate[];
    allowedShippingCountries?: string[];
  }): void;
}

export interface ShippingAddressChangeEvent {
  name?: string;
  address: PartialAddress;
  resolve(details?: { shippingRates?: ShippingRate[] }): void;
  reject(): void;
}

export interface ShippingRateChangeEvent {
  shippingRate: ShippingRate;
  resolve(details?: { shippingRates?: ShippingRate[] }): void;
  reject(): void;
}

export interface ConfirmEvent {
  expressPaymentType: string;
  billingDetails?: { name?: string; email?: string | null; phone?: string | null; address?: FullAddress };
  shippingAddress?: { name?: string; address?: FullAddress };
  shippingRate?: ShippingRate;
  paymentFailed(payload?: { reason?: 'fail' | 'invalid_shipping_address' }): void;
}

export interface ExpressCheckoutElement extends ElementBase {
  on(event: 'ready', handler: (e: { availablePaymentMethods?: Partial<Record<string, boolean>> }) => void): ExpressCheckoutElement;
  on(event: 'click', handler: (e: ClickEvent) => void): ExpressCheckoutElement;
  on(event: 'shippingaddresschange', handler: (e: ShippingAddressChangeEvent) => void): ExpressCheckoutElement;
  on(event: 'shippingratechange', handler: (e: ShippingRateChangeEvent) => void): ExpressCheckoutElement;
  on(event: 'confirm', handler: (e: ConfirmEvent) => void): ExpressCheckoutElement;
  on(event: 'cancel', handler: () => void): ExpressCheckoutElement;
}

export interface PaymentMethodResult {
  paymentMethod?: { id: string };
  error?: StripeError;
}

export interface Stripe {
  elements(options: ElementsOptions): Elements;
  createPaymentMethod(args: { elements: Elements; params?: { billing_details?: Record<string, unknown> } }): Promise<PaymentMethodResult>;
  handleNextAction(args: { clientSecret: string }): Promise<{ error?: StripeError }>;
}

export type StripeFactory = (publishableKey: string) => Stripe;

declare global {
  interface Window {
    Stripe?: StripeFactory;
  }
}
