// A tiny element builder instead of a framework: attributes and listeners in,
// an element out. Text goes in as text nodes, never as HTML.
import { type FormField, state } from '../state';

export type Child = Node | string | null | false | undefined;
export type Props = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== false && c !== undefined) el.append(c);
  return el;
}

/** A labelled, required input bound to `state.form[name]` (id `f-<name>`). */
export function field(label: string, name: FormField, attrs: Props = {}): HTMLElement {
  const id = `f-${name}`;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name, value: state.form[name], required: true, oninput: (e: Event) => { state.form[name] = (e.target as HTMLInputElement).value; }, ...attrs }));
}

/** A step's form: submit runs `onSubmit` (never a page navigation). */
export function stepForm(cls: string, onSubmit: () => void, ...children: Child[]): HTMLFormElement {
  return h('form', { class: cls, onsubmit: (e: Event) => { e.preventDefault(); onSubmit(); } }, ...children);
}

/** The step's heading; `go()` focuses it so screen readers announce the step. */
export function heading(text: string): HTMLElement {
  return h('h2', { tabindex: -1 }, text);
}
