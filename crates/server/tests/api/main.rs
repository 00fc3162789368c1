//! API tests: a real server on a random port per test, on SQLite and (when
//! `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL, spoken to over HTTP. Every
//! checkout response is validated against the ACP JSON schema by the helpers.

mod admin;
mod availability;
mod bad_input;
mod checkout_sessions;
mod concurrency;
mod connectors;
mod helpers;
mod idempotency;
mod limits;
mod placements;
mod shoppers;
mod tenancy;
