// Names for the API types the app uses. Every shape comes from @anycart/sdk's
// schema, which `npm run gen:api` in web/sdk generates from the server's OpenAPI
// document (crates/server/openapi.json): nothing here is written by hand, so the
// widget cannot drift from what the server sends and accepts, and the widget and
// the SDK share one copy of it.
import type { components } from '@anycart/sdk';

type Schemas = components['schemas'];

export type {
  AddressRequest, AvailabilityEvent, CardFields, CodeSent, CompleteSessionRequest, CreateSessionRequest, ErrorWire,
  FulfillmentOption, LineItem, Message, PaymentHandler, Place, RememberRequest, Session, TokenWire, Total,
  UpdateSessionRequest, Verified,
} from '@anycart/sdk';

/** The iframe document's embedded `<script id="anycart-config">`. */
export type WidgetConfig = Schemas['WidgetConfig'];
export type WidgetVariant = Schemas['WidgetVariant'];
export type Theme = Schemas['ThemeWire'];
