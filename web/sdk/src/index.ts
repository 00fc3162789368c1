// @anycart/sdk: a typed, headless client for anycart checkout. Every function is
// a named export taking the connection from `createAnycart`, so bundlers keep
// only what an app calls.
export { API_VERSION, AnycartError, createAnycart, get, newIdempotencyKey, post } from './client.js';
export type { Anycart, AnycartOptions, CallOptions } from './client.js';
export { cancelSession, completeSession, createSession, getSession, isBlocking, totalOf, updateSession } from './sessions.js';
export { SANDBOX_CARD_HANDLER, paymentHandler, payWithSandboxCard, sandboxCardToken } from './payment.js';
export { STREAM_VARIANTS_MAX, stockStreamUrl, watchStock } from './stock.js';
export type { EventSourceClass, EventSourceLike, WatchOptions } from './stock.js';
export { forgetShopper, prefillSession, rememberShopper, sendSignInCode, signOutShopper, verifySignInCode } from './shoppers.js';
export { WAITING_ROOM_TICKET_HEADER, joinWaitingRoom, waitingRoomPlace } from './waitingRoom.js';
export { EVENTS_PER_REPORT_MAX, beaconEvents, sendEvents, startView } from './events.js';
export type { DropReason, FunnelEvent, FunnelStep, View } from './events.js';
export type * from './types.js';
