//! Fake platforms for the connector tests: real HTTP/SMTP servers on 127.0.0.1:0
//! that speak each platform's wire format and can be told to fail.

pub mod adobe;
pub mod shopify;
pub mod smtp;
