//! The doors, one module each: the ACP checkout API, the UCP REST binding, the
//! widget (assets, the iframe page, returning shoppers, live stock), platform
//! webhooks, the merchant admin API, the TV page and its phone hand-off, and pages (landing, order status, docs, the
//! demo's host pages).

pub mod acp;
pub mod admin;
pub mod dashboard;
pub mod events;
pub mod feeds;
pub mod mcp;
pub mod ops;
pub mod pages;
pub mod shopify_app;
pub mod tv;
pub mod ucp;
pub mod webhooks;
pub mod widget;
