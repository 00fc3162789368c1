//! API tests: a real server on a random port per test, on SQLite and (when
//! `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL, spoken to over HTTP. Every
//! ACP checkout response is validated against the ACP JSON schema by the helpers.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod abuse;
mod acp_agents;
mod admin;
mod admission;
mod agent_platforms;
mod agent_webhooks;
mod analytics;
mod availability;
mod bad_input;
mod checkout_sessions;
mod concurrency;
mod config_cache;
mod connectors;
mod dashboard;
mod fake_agent;
mod feeds;
mod handoffs;
mod helpers;
mod idempotency;
mod limits;
mod link_checkout;
mod mcp;
mod payment_recovery;
mod placements;
mod platform_fakes;
mod refunds;
mod shopify_app;
mod shoppers;
mod stripe;
mod stripe_saved_cards;
mod stripe_webhooks;
mod tenancy;
mod ucp;
