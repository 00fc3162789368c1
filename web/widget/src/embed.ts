// embed.js: defines <anycart-checkout placement="plc_…"> and mounts the checkout
// iframe served from the anycart origin this script came from. All personal data
// and card fields stay inside that iframe; this loader only relays lifecycle
// events to the host page as DOM events (`anycart:ready`, `anycart:complete`, …).
import { EC_VERSION, isRpc } from './protocol';

const script = document.currentScript as HTMLScriptElement | null;
const scriptSrc = script?.src ?? Array.from(document.scripts).map((s) => s.src).find((s) => /\/embed\.js(\?|$)/.test(s)) ?? '';
const ANYCART_ORIGIN = scriptSrc ? new URL(scriptSrc, location.href).origin : '';
const FORWARDED = ['ec.start', 'ec.messages.change', 'ec.complete', 'ec.cancel', 'ec.error'];
const HEIGHT_MIN_PX = 120;
const HEIGHT_MAX_PX = 2000;

class AnycartCheckout extends HTMLElement {
  private frame: HTMLIFrameElement | null = null;
  private readonly onMessage = (e: MessageEvent): void => this.receive(e);

  connectedCallback(): void {
    if (this.frame || !ANYCART_ORIGIN) return;
    const placement = this.getAttribute('placement') ?? '';
    const size = /^(\d{2,4})x(\d{2,4})$/.exec(this.getAttribute('size') ?? '');
    // Closed shadow root + `all: initial`: the host page's CSS cannot reach in.
    const root = this.attachShadow({ mode: 'closed' });
    const style = document.createElement('style');
    style.textContent = `:host{all:initial;display:block;contain:content;${size ? `width:${size[1]}px;height:${size[2]}px` : 'width:100%'}}iframe{all:initial;display:block;border:0;width:100%;height:${size ? '100%' : '360px'};color-scheme:normal}`;
    const frame = document.createElement('iframe');
    const q = new URLSearchParams({ origin: location.origin, layout: size && Number(size[2]) < 400 ? 'compact' : 'fluid' });
    // Inside an ad (publisher → ad server → creative frame): the frames around this
    // page, so the server can check the whole chain against the placement and pin
    // frame-ancestors to it (the browser then refuses the frame if this lies).
    const ancestors = Array.from(location.ancestorOrigins ?? []);
    if (ancestors.length) q.set('ancestors', ancestors.join(','));
    frame.src = `${ANYCART_ORIGIN}/widget/checkout/${encodeURIComponent(placement)}?${q.toString()}`;
    frame.title = this.getAttribute('label') ?? 'Checkout';
    frame.setAttribute('allow', 'payment');
    // No allow-top-navigation / allow-popups: the checkout can never move the host page.
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
    frame.setAttribute('referrerpolicy', 'origin');
    root.append(style, frame);
    this.frame = frame;
    window.addEventListener('message', this.onMessage);
  }

  disconnectedCallback(): void {
    window.removeEventListener('message', this.onMessage);
  }

  private receive(e: MessageEvent): void {
    const frame = this.frame;
    // Strict: only our own iframe, only from the anycart origin.
    if (!frame || e.source !== frame.contentWindow || e.origin !== ANYCART_ORIGIN || !isRpc(e.data)) return;
    const { method, id, params } = e.data;
    if (method === 'ec.ready' && typeof id === 'string') {
      frame.contentWindow?.postMessage({ jsonrpc: '2.0', id, result: { ucp: { version: EC_VERSION, status: 'success' } } }, ANYCART_ORIGIN);
      this.emit('ready', params);
    } else if (method === 'ec.resize') {
      const h = Number(params?.['height']);
      if (!this.getAttribute('size') && Number.isFinite(h)) {
        frame.style.height = `${Math.min(HEIGHT_MAX_PX, Math.max(HEIGHT_MIN_PX, Math.ceil(h)))}px`;
      }
    } else if (method && FORWARDED.includes(method)) {
      this.emit(method.slice(3).replace('.', '-'), params);
    }
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(`anycart:${name}`, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get('anycart-checkout')) customElements.define('anycart-checkout', AnycartCheckout);
