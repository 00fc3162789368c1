//! How the iframe takes payment: which provider, what the app loads for it, and
//! what the page's Content-Security-Policy must let through.
//!
//! Through Stripe the card fields are Stripe's Payment Element, mounted by
//! Stripe.js inside the anycart iframe: card numbers go from the shopper's
//! browser to Stripe and never touch anycart or the host page (PCI SAQ A). The
//! app gets a PaymentMethod id (`pm_…`) and completes the session with it.

use anycart_checkout::payment_providers::{LiveProvider, STRIPE_JS_URL};
use anycart_store::StripeSettings;
use serde::Serialize;
use utoipa::ToSchema;

/// Where production Stripe.js runs its frames and calls (Stripe's CSP guide).
const STRIPE_SCRIPT_SOURCES: &str = "https://js.stripe.com https://*.js.stripe.com";
const STRIPE_FRAME_SOURCES: &str =
    "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com";
const STRIPE_CONNECT_SOURCES: &str = "https://api.stripe.com";

/// The payment part of the app's configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum WidgetPayment {
    /// Test cards typed into anycart's own fields, tokenised by
    /// `POST /v1/sandbox/tokens`; no money moves.
    Sandbox,
    /// Stripe's Payment Element and Express Checkout Element (wallets).
    Stripe {
        /// The merchant's `pk_…` key.
        publishable_key: String,
        /// Stripe.js: `https://js.stripe.com/v3/`, or `{api_base}/v3/` when the
        /// merchant points Stripe at another server (a local fake in tests).
        js_url: String,
    },
}

impl WidgetPayment {
    pub fn of(live: &LiveProvider) -> Self {
        match live.stripe() {
            None => WidgetPayment::Sandbox,
            Some(s) => WidgetPayment::Stripe {
                publishable_key: s.publishable_key.clone(),
                js_url: js_url(s),
            },
        }
    }
}

/// What `live` adds to the iframe page's CSP.
pub fn csp_sources(live: &LiveProvider) -> CspSources {
    match live.stripe() {
        None => CspSources::default(),
        Some(s) => match s.api_base.as_deref().and_then(origin_of) {
            // A stand-in server (tests): everything comes from its origin.
            Some(origin) => CspSources {
                script: origin.clone(),
                style: origin.clone(),
                frame: origin.clone(),
                connect: origin,
            },
            None => CspSources {
                script: STRIPE_SCRIPT_SOURCES.into(),
                style: String::new(),
                frame: STRIPE_FRAME_SOURCES.into(),
                connect: STRIPE_CONNECT_SOURCES.into(),
            },
        },
    }
}

/// What a provider adds to each CSP directive (space-separated sources).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CspSources {
    pub script: String,
    pub style: String,
    pub frame: String,
    pub connect: String,
}

fn js_url(s: &StripeSettings) -> String {
    match &s.api_base {
        Some(base) => format!("{}/v3/", base.trim_end_matches('/')),
        None => STRIPE_JS_URL.into(),
    }
}

/// `scheme://host[:port]` of a URL, or `None` when it is not one.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_paths_and_refuse_opaque_urls() {
        assert_eq!(
            origin_of("http://127.0.0.1:4242/v1/"),
            Some("http://127.0.0.1:4242".into())
        );
        assert_eq!(origin_of("data:text/plain,hi"), None);
        assert_eq!(origin_of("not a url"), None);
    }
}
