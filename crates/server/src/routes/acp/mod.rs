//! The public checkout API, shaped after the Agentic Commerce Protocol 2026-04-17:
//! `wire` (its JSON shapes), `parse` (wire → validated domain input), `convert`
//! (domain → wire) and `handlers` (parse, call the service, render); `agent`
//! (which agent platform calls, its signature checked), `discovery`
//! (`/.well-known/acp.json`).

pub mod agent;
pub mod convert;
pub mod discovery;
pub mod handlers;
pub mod parse;
pub mod wire;

pub use handlers::router;
