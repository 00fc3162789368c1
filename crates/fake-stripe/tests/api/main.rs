//! Wire-level tests of the fake Stripe: every test drives it over HTTP with
//! reqwest, as anycart's `stripe` provider will.

// Tests: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod helpers;

mod auth;
mod binary;
mod customers;
mod domains;
mod faults;
mod idempotency;
mod manual_capture;
mod payment_intents;
mod refunds;
mod shared_payment_tokens;
mod stripe_js;
mod three_d_secure;
mod webhooks;
