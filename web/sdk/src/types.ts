// Names for the API shapes the SDK speaks. Every shape comes from schema.ts,
// which `npm run gen:api` generates from the server's OpenAPI document
// (crates/server/openapi.json): nothing here is written by hand, so the SDK
// cannot drift from what the server sends and accepts.
import type { components, paths } from './schema.js';

type Schemas = components['schemas'];

export type { components, paths };

/** A checkout session, as every session call answers. */
export type Session = Schemas['CheckoutSessionWire'];
export type Message = Schemas['MessageWire'];
export type Total = Schemas['TotalWire'];
export type LineItem = Schemas['LineItemWire'];
export type FulfillmentOption = Schemas['FulfillmentOptionWire'];
export type PaymentHandler = Schemas['PaymentHandlerWire'];
/** The flat ACP error body of every 4xx/5xx. */
export type ErrorWire = Schemas['ErrorWire'];

export type CreateSessionRequest = Schemas['CreateSessionRequest'];
export type UpdateSessionRequest = Schemas['UpdateSessionRequest'];
export type CompleteSessionRequest = Schemas['CompleteSessionRequest'];
export type AddressRequest = Schemas['AddressWire'];

/** Card fields for the sandbox tokeniser (test cards only). */
export type CardFields = Schemas['CardFields'];
export type TokenWire = Schemas['TokenWire'];

/** The `data` of one `availability` server-sent event. */
export type AvailabilityEvent = Schemas['AvailabilityEvent'];

/** A returning shopper's sign-in: the code was emailed, then verified. */
export type CodeSent = Schemas['CodeSent'];
export type Verified = Schemas['Verified'];
export type RememberRequest = Schemas['RememberRequest'];

/** Where a waiting-room ticket stands. */
export type Place = Schemas['PlaceWire'];

/** A funnel event and the answer to a report. */
export type EventWire = Schemas['EventWire'];
export type EventsAccepted = Schemas['EventsAccepted'];

// ---- routes typed from `paths`: body, path parameters, success body ----

type PostOf<P extends keyof paths> = NonNullable<paths[P]['post']>;
type GetOf<P extends keyof paths> = NonNullable<paths[P]['get']>;

/** Every path that accepts a POST. */
export type PostPath = { [P in keyof paths]: [PostOf<P>] extends [never] ? never : P }[keyof paths];
/** Every path that answers a GET. */
export type GetPath = { [P in keyof paths]: [GetOf<P>] extends [never] ? never : P }[keyof paths];

/** The JSON body a POST to `P` takes. */
export type RequestBody<P extends PostPath> =
  PostOf<P> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The `{name}` parameters in a POST to `P` (`never` when it has none). */
export type PostParams<P extends PostPath> = PostOf<P>['parameters'] extends { path: infer A } ? A : never;
/** The `{name}` parameters in a GET of `P` (`never` when it has none). */
export type GetParams<P extends GetPath> = GetOf<P>['parameters'] extends { path: infer A } ? A : never;

type Success<R> = R[Extract<keyof R, 200 | 201 | 202 | 204>];

/** The JSON a successful POST to `P` answers with (`void` for 204). */
export type Answer<P extends PostPath> =
  Success<PostOf<P>['responses']> extends { content: { 'application/json': infer T } } ? T : void;
/** The JSON a successful GET of `P` answers with. */
export type GetAnswer<P extends GetPath> =
  Success<GetOf<P>['responses']> extends { content: { 'application/json': infer T } } ? T : void;
