// Element building and the remote's navigation for the TV page. Text is set with
// textContent only (through `append`), never as markup.

/** The page's root: every screen is rendered into it. */
export const root = document.getElementById('tv') as HTMLElement;

type Attrs = Record<string, string | ((e: Event) => void)>;
type Kid = Node | string | null | undefined;

/** `<tag attrs…>kids…</tag>`; an `onclick` attribute becomes a click listener. */
export function h(tag: string, attrs?: Attrs | null, ...kids: Kid[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (typeof v === 'function') el.addEventListener('click', v);
    else el.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) el.append(k);
  return el;
}

/** Replaces the screen; `focusId` names its main button. */
export function show(screen: Node[], focusId?: string): void {
  root.replaceChildren(...screen);
  root.dataset.screen = focusId ?? '';
  focusDefault();
}

/** The screen's main button (a frame that is not focused yet keeps no focus, so
 * this runs again when the TV app hands the focus to this page). */
export function focusDefault(): void {
  const id = root.dataset.screen;
  const target = (id && document.getElementById(id)) || root.querySelector('button');
  if (target) target.focus();
}

export function focusLost(): boolean {
  return !document.activeElement || !root.contains(document.activeElement);
}

export function focus(sel: string): void {
  root.querySelector<HTMLElement>(sel)?.focus();
}

/** Up/Down keep the column as far as the next row has one; the edges stop. */
export function moveInGrid(from: Element, dx: number, dy: number): void {
  const r = Number(from.getAttribute('data-row')) + dy;
  const c = Number(from.getAttribute('data-col')) + dx;
  const row = root.querySelectorAll<HTMLElement>(`[data-row="${r}"]`);
  if (!row.length || c < 0) return;
  const to = row[Math.min(c, row.length - 1)];
  if (dx && c >= row.length) return;
  to.focus();
}

/** Spatial navigation: the nearest button in the arrow's direction, first
 * within a 45° cone (so Right stays on the row), else anywhere that way. */
export function move(dx: number, dy: number): void {
  const buttons = Array.from(root.querySelectorAll('button')).filter((b) => !b.disabled);
  const active = document.activeElement;
  const from = active && root.contains(active) ? active : null;
  if (!from) {
    buttons[0]?.focus();
    return;
  }
  const a = from.getBoundingClientRect();
  const ax = a.left + a.width / 2;
  const ay = a.top + a.height / 2;
  const candidates = buttons
    .filter((b) => b !== from)
    .map((b) => {
      const r = b.getBoundingClientRect();
      const bx = r.left + r.width / 2;
      const by = r.top + r.height / 2;
      const along = (bx - ax) * dx + (by - ay) * dy;
      const across = Math.abs((bx - ax) * dy) + Math.abs((by - ay) * dx);
      return { el: b, along, across, score: along + 2 * across };
    })
    .filter((c) => c.along > 1);
  const inCone = candidates.filter((c) => c.across <= c.along);
  const pool = inCone.length ? inCone : candidates;
  pool.sort((p, q) => p.score - q.score);
  pool[0]?.el.focus();
}
