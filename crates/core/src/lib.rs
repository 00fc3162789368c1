//! anycart's pure checkout domain.
//!
//! Everything here is plain data and plain functions: no I/O, no async, no framework
//! types. The store applies what these functions decide; the server maps them to HTTP.
//! Keeping the rules here means every rule can be unit- and property-tested in
//! microseconds, and both storage backends share one definition of "correct".

pub mod attribution;
pub mod catalogue;
pub mod funnel;
pub mod ids;
pub mod inventory;
pub mod money;
pub mod order;
pub mod pricing;
pub mod quote;
pub mod session;
pub mod text;
pub mod values;

pub use ids::*;
pub use money::{Currency, Money, MoneyError};
pub use values::{Address, CountryCode, Email, Quantity, ValueError};
