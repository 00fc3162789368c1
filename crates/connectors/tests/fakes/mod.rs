//! Fake platforms for the connector tests: real HTTP/SMTP servers on 127.0.0.1:0
//! that speak each platform's wire format and can be told to fail.
// Each test binary uses the fakes of its own platforms only.
#![allow(dead_code)]

pub mod adobe;
pub mod record;
pub mod salesforce;
pub mod shopify;
pub mod smtp;
