// Messages between the host page (loader) and the checkout iframe. JSON-RPC 2.0
// envelopes with method names after the UCP Embedded Checkout Protocol
// (docs/specification/shopping/checkout/embedded.md): the iframe sends `ec.ready`
// (a request the host answers, completing the handshake), then notifications
// `ec.start`, `ec.resize`, `ec.messages.change`, `ec.complete`, `ec.cancel`, `ec.error`.

/** The UCP embedded-protocol version both sides confirm in the handshake. */
export const EC_VERSION = '2026-01-11';

/** A JSON-RPC message as exchanged over postMessage. */
export interface RpcMessage {
  jsonrpc: '2.0';
  id?: string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/** True for a well-formed JSON-RPC 2.0 object (anything else is ignored). */
export function isRpc(data: unknown): data is RpcMessage {
  return typeof data === 'object' && data !== null && (data as { jsonrpc?: unknown }).jsonrpc === '2.0';
}
