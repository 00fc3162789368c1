// The dashboard plays the host page for its live previews: the widget in a
// preview frame asks `ec.ready` (the embedded checkout handshake the loader,
// web/widget/src/embed.ts, answers on real pages) and waits for the answer.
// Only frames of this origin are answered.

/** The embedded checkout protocol version the widget speaks (web/widget/src/protocol.ts). */
const EC_VERSION = '2026-01-11';

type Rpc = { jsonrpc?: string; id?: unknown; method?: unknown };

/** Answers previews' handshakes until the returned function is called. */
export function answerPreviews(): () => void {
  function onMessage(e: MessageEvent) {
    const msg = e.data as Rpc | null;
    if (e.origin !== location.origin || !msg || msg.jsonrpc !== '2.0' || msg.method !== 'ec.ready' || typeof msg.id !== 'string') return;
    (e.source as Window | null)?.postMessage({ jsonrpc: '2.0', id: msg.id, result: { ucp: { version: EC_VERSION, status: 'success' } } }, location.origin);
  }
  window.addEventListener('message', onMessage);
  return () => window.removeEventListener('message', onMessage);
}
