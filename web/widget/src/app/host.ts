// Messages to and from the host page (the loader, embed.ts), after the UCP
// Embedded Checkout Protocol (see protocol.ts). Origins are strict both ways:
// we only post to the verified host origin and only accept its answers.
import { EC_VERSION, isRpc } from '../protocol';
import { cfg } from './config';

const HANDSHAKE_TIMEOUT_MS = 5000;

/** Sends a JSON-RPC message to the host page (a request when `id` is given). */
export function tellHost(method: string, params: Record<string, unknown> = {}, id?: string): void {
  if (window.parent === window) return;
  const msg: Record<string, unknown> = { jsonrpc: '2.0', method, params };
  if (id) msg['id'] = id;
  // targetOrigin = the verified host origin: the browser drops it anywhere else.
  window.parent.postMessage(msg, cfg.host_origin);
}

/** `ec.ready` → the host's answer with our protocol version; false on timeout. */
export function handshake(): Promise<boolean> {
  return new Promise((resolve) => {
    const id = `ready_${Math.random().toString(36).slice(2)}`;
    const timer = setTimeout(() => { window.removeEventListener('message', onMsg); resolve(false); }, HANDSHAKE_TIMEOUT_MS);
    function onMsg(e: MessageEvent): void {
      if (e.source !== window.parent || e.origin !== cfg.host_origin || !isRpc(e.data) || e.data.id !== id) return;
      const ucp = e.data.result?.['ucp'] as { version?: string; status?: string } | undefined;
      if (ucp?.status !== 'success' || ucp.version !== EC_VERSION) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMsg);
      resolve(true);
    }
    window.addEventListener('message', onMsg);
    tellHost('ec.ready', { delegate: [] }, id);
  });
}

/** The framing page's origin as the browser reports it (not as the URL claims). */
export function ancestorOk(): boolean {
  if (window.parent === window) return false;
  const ancestors = location.ancestorOrigins;
  if (ancestors && ancestors.length > 0) return ancestors[0] === cfg.host_origin;
  try {
    return document.referrer === '' || new URL(document.referrer).origin === cfg.host_origin;
  } catch {
    return false;
  }
}
