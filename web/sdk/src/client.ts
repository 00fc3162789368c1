// The one way the SDK talks to anycart: a publishable key as bearer, the ACP
// `API-Version`, an `Idempotency-Key` on every POST (fresh unless the caller
// passes one to retry safely: a retried request never acts twice), and every
// failure as an `AnycartError` carrying the server's ACP error body.
// The transport is openapi-fetch over the generated `paths`, so `client.api`
// also reaches every route the SDK has no helper for, fully typed.
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';
import type { Answer, ErrorWire, GetAnswer, GetParams, GetPath, PostParams, PostPath, RequestBody } from './types.js';

/** The ACP API version this SDK was generated against. */
export const API_VERSION = '2026-04-17';

export interface AnycartOptions {
  /** The anycart server, e.g. `https://checkout.example.com` (`''` for the page's own origin). */
  baseUrl: string;
  /** A publishable key (`pk_…`): a placement's own key attributes sales to that placement. */
  publishableKey: string;
  /** Overrides the `API-Version` header (defaults to {@link API_VERSION}). */
  apiVersion?: string;
  /** A `fetch` to use instead of the global one (tests, server-side rendering). */
  fetch?: typeof fetch;
}

/** A configured connection: pass it to the SDK's functions. */
export interface Anycart {
  readonly baseUrl: string;
  readonly publishableKey: string;
  readonly apiVersion: string;
  /** The typed openapi-fetch client, for routes the SDK has no helper for. */
  readonly api: Client<paths>;
}

/** Per-call options. */
export interface CallOptions {
  /** Reuse the key of a request whose answer was lost, so the retry cannot act twice. */
  idempotencyKey?: string;
  /** Extra headers (e.g. `Anycart-Waiting-Room-Ticket`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A failed call: `status` is the HTTP status (0 when the server was not reached),
 * `body` the server's ACP error (or a local stand-in with the same shape). */
export class AnycartError extends Error {
  readonly status: number;
  readonly body: ErrorWire;
  constructor(status: number, body: ErrorWire) {
    super(body.message);
    this.name = 'AnycartError';
    this.status = status;
    this.body = body;
  }
  /** The ACP error code, e.g. `out_of_stock`, `invalid`, `network`. */
  get code(): string {
    return this.body.code;
  }
}

/** Connects to an anycart server with a publishable key. Makes no request. */
export function createAnycart(options: AnycartOptions): Anycart {
  const apiVersion = options.apiVersion ?? API_VERSION;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const api = createFetchClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${options.publishableKey}`, 'API-Version': apiVersion },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { baseUrl, publishableKey: options.publishableKey, apiVersion, api };
}

/** A random idempotency key (UUID v4 where the platform has one). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function isErrorWire(v: unknown): v is ErrorWire {
  const e = v as Partial<ErrorWire> | null;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}

type Loose = (url: string, init: Record<string, unknown>) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

async function send<T>(ac: Anycart, method: 'GET' | 'POST', route: string, init: Record<string, unknown>): Promise<T> {
  // The generic routes are typed at this module's edge (post/get); openapi-fetch's
  // own per-route overloads cannot be picked for a route only known generically.
  const call = (method === 'GET' ? ac.api.GET : ac.api.POST) as unknown as Loose;
  let result: Awaited<ReturnType<Loose>>;
  try {
    result = await call(route, init);
  } catch (e) {
    if ((e as { name?: string } | null)?.name === 'AbortError') throw e;
    throw new AnycartError(0, { type: 'network', code: 'network', message: 'We could not reach the shop. Check your connection and try again.' });
  }
  const { data, error, response } = result;
  if (!response.ok) {
    // A proxy's HTML error page is not the ACP shape: say something useful anyway.
    throw new AnycartError(response.status, isErrorWire(error) ? error : { type: 'api_error', code: `http_${response.status}`, message: 'Something went wrong. Please try again.' });
  }
  return data as T;
}

/** `POST route` with `body` (typed from the OpenAPI document); `params` fills `{name}` segments. */
export function post<P extends PostPath>(ac: Anycart, route: P, body: RequestBody<P>, params?: PostParams<P>, options: CallOptions = {}): Promise<Answer<P>> {
  return send(ac, 'POST', route, {
    body,
    params: { path: params ?? {} },
    headers: { 'Idempotency-Key': options.idempotencyKey ?? newIdempotencyKey(), ...options.headers },
    signal: options.signal,
  });
}

/** `GET route` (typed from the OpenAPI document); `params` fills `{name}` segments. */
export function get<P extends GetPath>(ac: Anycart, route: P, params?: GetParams<P>, options: CallOptions = {}): Promise<GetAnswer<P>> {
  return send(ac, 'GET', route, { params: { path: params ?? {} }, headers: options.headers, signal: options.signal });
}
