//! The public checkout API, shaped after the Agentic Commerce Protocol 2026-04-17.

pub mod convert;
pub mod parse;
pub mod routes;
pub mod wire;
