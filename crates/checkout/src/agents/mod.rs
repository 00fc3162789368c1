//! Selling through AI agents, whichever binding they use (ACP over REST, MCP):
//!
//! - [`platforms`]: the agent platforms a merchant registers (their key, order
//!   webhooks, feed endpoint, signing secret) and the attribution of the
//!   checkouts they open;
//! - [`signing`]: the check of a platform's signed requests;
//! - [`records`]: ACP's write-only fields, intent traces and affiliate
//!   attribution, checked and recorded beside the checkout;
//! - [`feed`]: the product feed with live availability, and its sync to the
//!   platforms' feed endpoints.
//!
//! Order webhooks themselves are outbox rows written by the store with the
//! order (`anycart_store::agent_events`) and posted by the outbox worker
//! (`anycart_connectors::agent_webhooks`).

pub mod feed;
pub mod platforms;
pub mod records;
pub mod signing;
