// The render loop's three verbs, kept apart from the views so actions can use
// them without importing any markup: `render` redraws, `go` moves to a step
// (and puts focus on its heading), `run` wraps an action with the busy state
// and turns any failure into a spoken error.
import { CallError } from './api';
import { tellHost } from './host';
import { type Step, showErrors, state } from './state';

let draw: () => void = () => undefined;
let root: HTMLElement | null = null;

/** Installs the view renderer (render/shell.ts) for `el`. */
export function mount(el: HTMLElement, renderer: () => void): void {
  root = el;
  draw = renderer;
}

export function render(): void {
  draw();
}

export function go(step: Step): void {
  state.step = step;
  render();
  root?.querySelector<HTMLElement>('h2')?.focus();
}

/** Runs one action at a time; the form is disabled meanwhile. */
export async function run(task: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  showErrors([], []);
  render();
  try {
    await task();
  } catch (e) {
    const body = e instanceof CallError ? e.body : { type: 'client', code: 'client', message: 'Something went wrong. Please try again.' };
    showErrors([body.message], [body.code]);
    tellHost('ec.error', { code: body.code, message: body.message });
  } finally {
    state.busy = false;
    render();
  }
}
