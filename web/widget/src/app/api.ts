// The one way the app talks to the anycart API: the placement's publishable key
// as bearer, the ACP `API-Version`, a fresh `Idempotency-Key` on every POST (so a
// retried request never acts twice), and failures as the ACP error shape.
// Routes, bodies and answers are typed from the OpenAPI document.
import type { Answer, ErrorWire, GetAnswer, GetArgs, GetPath, PathArgs, PostPath, RequestBody } from '../api/types';
import { cfg } from './config';

/** A failed call, carrying the server's ACP error (or a local stand-in). */
export class CallError extends Error {
  constructor(readonly body: ErrorWire) {
    super(body.message);
  }
}

function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function isErrorWire(v: unknown): v is ErrorWire {
  const e = v as Partial<ErrorWire> | null;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}

function fill(route: string, args: unknown[]): string {
  const params = (args[0] ?? {}) as Record<string, string>;
  return route.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
}

async function call<T>(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { Authorization: `Bearer ${cfg.publishable_key}`, 'API-Version': cfg.api_version, ...init.headers } });
  } catch {
    throw new CallError({ type: 'network', code: 'network', message: 'We could not reach the shop. Check your connection and try again.' });
  }
  const json = (await res.json().catch(() => undefined)) as unknown;
  if (!res.ok) {
    // A proxy's HTML error page is not the ACP shape: say something useful anyway.
    throw new CallError(isErrorWire(json) ? json : { type: 'api_error', code: `http_${res.status}`, message: 'Something went wrong. Please try again.' });
  }
  return json as T;
}

/** `POST route` with `body` and extra `headers`; `{name}` segments are filled from the path arguments. */
export async function postWith<P extends PostPath>(headers: Record<string, string>, route: P, body: RequestBody<P>, ...args: PathArgs<P>): Promise<Answer<P>> {
  return call(fill(route, args), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': uuid(), ...headers },
    body: JSON.stringify(body),
  });
}

/** `POST route` with `body`; `{name}` segments are filled from the path arguments. */
export async function post<P extends PostPath>(route: P, body: RequestBody<P>, ...args: PathArgs<P>): Promise<Answer<P>> {
  return postWith({}, route, body, ...args);
}

/** `GET route`; `{name}` segments are filled from the path arguments. */
export async function get<P extends GetPath>(route: P, ...args: GetArgs<P>): Promise<GetAnswer<P>> {
  return call(fill(route, args), { method: 'GET', headers: {} });
}
