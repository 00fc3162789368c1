// Nodes that live across renders. Every other node is rebuilt on each render, but
// Stripe's fields are iframes, and an iframe taken out of the document reloads
// (losing what the shopper typed). So the nodes around them are made once, kept
// here by key, and updated with `place`, which never moves a node already in place.

const kept = new Map<string, HTMLElement>();

/** The node kept under `key`, made by `make` the first time. */
export function keep(key: string, make: () => HTMLElement): HTMLElement {
  let el = kept.get(key);
  if (!el) {
    el = make();
    kept.set(key, el);
  }
  return el;
}

/** Forgets the node kept under `key` (the next `keep` makes a new one). */
export function forget(key: string): void {
  kept.get(key)?.remove();
  kept.delete(key);
}

/** Makes `nodes` the children of `parent`, in order: nodes not listed go, new ones
 * come in, and one already in its place stays untouched. */
export function place(parent: Element, nodes: (Node | null | false | undefined)[]): void {
  const next = nodes.filter((n): n is Node => !!n);
  const wanted = new Set(next);
  for (const c of Array.from(parent.childNodes)) if (!wanted.has(c)) c.remove();
  let at: ChildNode | null = parent.firstChild;
  for (const n of next) {
    if (n === at) at = at.nextSibling;
    else parent.insertBefore(n, at);
  }
}
