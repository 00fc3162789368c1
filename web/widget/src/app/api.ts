// The one way the app talks to the anycart API: @anycart/sdk, connected with the
// placement's publishable key and `API-Version` from the page's config. The SDK
// sends a fresh `Idempotency-Key` on every POST (so a retried request never acts
// twice) and turns failures into `AnycartError` with the server's ACP error.
// The helpers below keep the app's call sites short: routes, bodies and answers
// are typed from the OpenAPI document through the SDK.
import { AnycartError, createAnycart, get as sdkGet, post as sdkPost } from '@anycart/sdk';
import type { Answer, GetAnswer, GetParams, GetPath, PostParams, PostPath, RequestBody } from '@anycart/sdk';
import { cfg } from './config';

/** A failed call, carrying the server's ACP error (or a local stand-in). */
export { AnycartError as CallError };

/** The app's connection: same origin as the iframe page. */
export const client = createAnycart({ baseUrl: '', publishableKey: cfg.publishable_key, apiVersion: cfg.api_version });

type Args<A> = [A] extends [never] ? [] : [A];

/** `POST route` with `body` and extra `headers`; `{name}` segments are filled from the path arguments. */
export function postWith<P extends PostPath>(headers: Record<string, string>, route: P, body: RequestBody<P>, ...args: Args<PostParams<P>>): Promise<Answer<P>> {
  return sdkPost(client, route, body, args[0], { headers });
}

/** `POST route` with `body`; `{name}` segments are filled from the path arguments. */
export function post<P extends PostPath>(route: P, body: RequestBody<P>, ...args: Args<PostParams<P>>): Promise<Answer<P>> {
  return sdkPost(client, route, body, args[0]);
}

/** `GET route`; `{name}` segments are filled from the path arguments. */
export function get<P extends GetPath>(route: P, ...args: Args<GetParams<P>>): Promise<GetAnswer<P>> {
  return sdkGet(client, route, args[0]);
}

