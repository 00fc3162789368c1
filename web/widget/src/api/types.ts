// Names for the API types the app uses. Every shape comes from schema.d.ts, which
// `npm run gen:api` generates from the server's OpenAPI document
// (crates/server/openapi.json): nothing here is written by hand, so the widget
// cannot drift from what the server sends and accepts.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

/** The iframe document's embedded `<script id="anycart-config">`. */
export type WidgetConfig = Schemas['WidgetConfig'];
export type WidgetVariant = Schemas['WidgetVariant'];
export type Theme = Schemas['ThemeWire'];

export type Session = Schemas['CheckoutSessionWire'];
export type Message = Schemas['MessageWire'];
export type Total = Schemas['TotalWire'];
export type FulfillmentOption = Schemas['FulfillmentOptionWire'];
export type LineItem = Schemas['LineItemWire'];
export type PaymentHandler = Schemas['PaymentHandlerWire'];
/** The flat ACP error body of every 4xx/5xx. */
export type ErrorWire = Schemas['ErrorWire'];

/** A verified returning shopper (`POST /widget/shoppers/verify`). */
export type Verified = Schemas['Verified'];
export type CodeSent = Schemas['CodeSent'];
export type TokenWire = Schemas['TokenWire'];
/** The `data` of one `availability` server-sent event. */
export type AvailabilityEvent = Schemas['AvailabilityEvent'];

export type AddressRequest = Schemas['AddressWire'];
export type CreateSessionRequest = Schemas['CreateSessionRequest'];
export type UpdateSessionRequest = Schemas['UpdateSessionRequest'];
export type CompleteSessionRequest = Schemas['CompleteSessionRequest'];
export type CardFields = Schemas['CardFields'];
export type RememberRequest = Schemas['RememberRequest'];
/** Where a waiting-room ticket stands (`/widget/waiting_room`). */
export type Place = Schemas['PlaceWire'];

// ---- the POST routes, typed from `paths` (body, path parameters, success body) ----

type PostOf<P extends keyof paths> = NonNullable<paths[P]['post']>;

/** Every path that accepts a POST. */
export type PostPath = { [P in keyof paths]: [PostOf<P>] extends [never] ? never : P }[keyof paths];

/** The JSON body a POST to `P` takes. */
export type RequestBody<P extends PostPath> =
  PostOf<P> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The `{name}` parameters in `P`, as an argument list (empty when it has none). */
export type PathArgs<P extends PostPath> = PostOf<P>['parameters'] extends { path: infer A } ? [A] : [];

type Success<R> = R[Extract<keyof R, 200 | 201 | 202 | 204>];

/** The JSON a successful POST to `P` answers with (`void` for 204). */
export type Answer<P extends PostPath> =
  Success<PostOf<P>['responses']> extends { content: { 'application/json': infer T } } ? T : void;

// ---- the GET routes the app calls ----

type GetOf<P extends keyof paths> = NonNullable<paths[P]['get']>;

/** Every path that answers a GET. */
export type GetPath = { [P in keyof paths]: [GetOf<P>] extends [never] ? never : P }[keyof paths];

/** The `{name}` parameters in `P`, as an argument list (empty when it has none). */
export type GetArgs<P extends GetPath> = GetOf<P>['parameters'] extends { path: infer A } ? [A] : [];

/** The JSON a successful GET of `P` answers with. */
export type GetAnswer<P extends GetPath> =
  Success<GetOf<P>['responses']> extends { content: { 'application/json': infer T } } ? T : void;
