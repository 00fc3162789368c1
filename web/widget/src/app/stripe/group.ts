// Stripe's Elements for the open checkout session: Stripe.js is loaded once a
// session exists (wallets show at the first step after "Buy"), then one Elements
// group per session, in `mode: 'payment'` with the session's total and currency.
// The Payment Element and the Express Checkout Element are mounted into nodes
// made once per session and never moved (they hold Stripe's iframes); the shell
// places them, and `mountStripe` runs after each render.
import type { Session } from '../../api/types';
import { cfg } from '../config';
import { render } from '../ui';
import { appearance } from './appearance';
import { anyGroup, currentGroup, type Group, loadFailed, payableSession, sessionTotal, setGroup, setLoadFailed, stripeUi, syncAmount } from './current';
import { loadStripeJs } from './load';
import type { Stripe } from './types';
import { listenToWallets } from './wallet';

/** Stripe's smallest Express Checkout button. */
const WALLET_BUTTON_PX = 40;

let stripe: Stripe | null = null;
let loadingFor = '';

function slot(cls: string, ...children: HTMLElement[]): HTMLElement {
  const el = document.createElement('div');
  el.className = cls;
  el.append(...children);
  return el;
}

/** The wallet buttons' node: where Stripe mounts them, then "or" before the form. */
function walletNode(): HTMLElement {
  const or = document.createElement('p');
  or.className = 'or';
  or.textContent = 'or';
  return slot('wallets off', slot('wallet-buttons'), or);
}

function teardown(): void {
  const group = anyGroup();
  if (!group) return;
  group.wallet?.destroy();
  group.card?.destroy();
  group.walletSlot.remove();
  group.cardSlot.remove();
  setGroup(null);
  stripeUi.wallets = false;
  stripeUi.cardReady = false;
}

function start(s: Session): void {
  if (cfg.payment.provider !== 'stripe' || loadingFor === s.id || loadFailed(s.id)) return;
  const { js_url, publishable_key } = cfg.payment;
  loadingFor = s.id;
  stripeUi.loadError = '';
  loadStripeJs(js_url).then((factory) => {
    if (loadingFor !== s.id) return;
    loadingFor = '';
    const now = payableSession();
    if (!now || now.id !== s.id) return;
    stripe ??= factory(publishable_key);
    const amount = sessionTotal(now);
    setGroup({
      sessionId: s.id,
      stripe,
      elements: stripe.elements({ mode: 'payment', amount, currency: now.currency.toLowerCase(), appearance: appearance(), paymentMethodCreation: 'manual', paymentMethodTypes: ['card'] }),
      amount,
      walletSlot: walletNode(),
      cardSlot: slot('card-element'),
      wallet: null,
      card: null,
      cardMounted: false,
    });
    render();
  }, (e: Error) => {
    if (loadingFor !== s.id) return;
    loadingFor = '';
    // Said once, where the card form would be; "Pay" tries again.
    setLoadFailed(s.id);
    stripeUi.loadError = e.message;
    render();
  });
}

/** Before a render: a group for the open session (loading Stripe.js if needed),
 * none once it ended, and the Elements' amount kept at the session's total. */
export function prepareStripe(): void {
  const s = payableSession();
  if (anyGroup()?.sessionId !== s?.id) teardown();
  const group = anyGroup();
  if (!s) return;
  if (!group) {
    start(s);
    return;
  }
  syncAmount(group, s);
}

/** The node holding the wallet buttons (placed on every step of the session, so
 * its iframe never reloads; shown only where wallets make sense). */
export function walletSlot(show: boolean): HTMLElement | null {
  const g = currentGroup();
  if (!g) return null;
  g.walletSlot.className = `wallets${show && stripeUi.wallets ? '' : ' off'}`;
  return g.walletSlot;
}

/** The node the Payment Element is mounted in. */
export function cardSlot(): HTMLElement | null {
  return currentGroup()?.cardSlot ?? null;
}

function mountWallet(g: Group): void {
  const target = g.walletSlot.firstElementChild as HTMLElement | null;
  if (g.wallet || !target || !g.walletSlot.isConnected) return;
  const shipsTo = cfg.ships_worldwide ? {} : { allowedShippingCountries: cfg.shipping_countries };
  const ece = g.elements.create('expressCheckout', {
    buttonHeight: WALLET_BUTTON_PX,
    // The session's handler takes cards: Apple Pay and Google Pay are cards, the others are not.
    paymentMethods: { applePay: 'auto', googlePay: 'auto', link: 'never', paypal: 'never', amazonPay: 'never', klarna: 'never' },
    layout: { maxRows: 1, overflow: 'never' },
    ...shipsTo,
  });
  ece.on('ready', (e) => {
    stripeUi.wallets = Object.values(e.availablePaymentMethods ?? {}).some(Boolean);
    render();
  });
  listenToWallets(ece, g);
  g.wallet = ece;
  ece.mount(target);
}

function mountCard(g: Group): void {
  if (g.cardMounted && !g.cardSlot.isConnected) {
    g.card?.unmount();
    g.cardMounted = false;
    stripeUi.cardReady = false;
  }
  if (g.cardMounted || !g.cardSlot.isConnected) return;
  if (!g.card) {
    // Wallets have their own buttons (the Express Checkout Element).
    const card = g.elements.create('payment', { layout: 'tabs', wallets: { applePay: 'never', googlePay: 'never' } });
    card.on('ready', () => {
      stripeUi.cardReady = true;
      render();
    });
    card.on('loaderror', (e) => {
      stripeUi.loadError = e.error.message ?? 'The card form could not load.';
      render();
    });
    g.card = card;
  }
  g.card.mount(g.cardSlot);
  g.cardMounted = true;
}

/** After a render: mounts Stripe's elements into their nodes once those are in the page. */
export function mountStripe(): void {
  const g = currentGroup();
  if (!g) return;
  mountWallet(g);
  mountCard(g);
}
