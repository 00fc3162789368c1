//! Wire-level tests of the fake Stripe, over HTTP.
