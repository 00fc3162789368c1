//! The connectors' fake Shopify (`crates/connectors/tests/fakes/`), a real HTTP
//! server, reused here so the app install runs end to end against the same fake
//! the connector tests hold to Shopify's schema.
#![allow(dead_code)]

#[path = "../../../connectors/tests/fakes/record.rs"]
pub mod record;
#[path = "../../../connectors/tests/fakes/shopify.rs"]
pub mod shopify;
