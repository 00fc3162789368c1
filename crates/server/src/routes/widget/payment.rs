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
        /// Stripe.js: `https://js.stripe.com/v3/`; the merchant's `js_url`, or
        /// `{api_base}/v3/` when Stripe is pointed at another server (a local fake).
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
        Some(s) if s.api_base.is_none() && s.js_url.is_none() => CspSources {
            script: STRIPE_SCRIPT_SOURCES.into(),
            style: String::new(),
            frame: STRIPE_FRAME_SOURCES.into(),
            connect: STRIPE_CONNECT_SOURCES.into(),
        },
        // A stand-in (tests, a proxy): its script runs from the Stripe.js origin
        // and calls the API base.
        Some(s) => {
            let js = origin_of(&js_url(s)).unwrap_or_default();
            let api = s
                .api_base
                .as_deref()
                .and_then(origin_of)
                .unwrap_or_else(|| STRIPE_CONNECT_SOURCES.into());
            let connect = if api == js {
                api
            } else {
                format!("{api} {js}")
            };
            CspSources {
                script: js.clone(),
                style: js.clone(),
                frame: js,
                connect,
            }
        }
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

/// The merchant's `js_url`; else the stand-in a local `api_base` serves at `/v3/`;
/// else Stripe's own.
fn js_url(s: &StripeSettings) -> String {
    match (&s.js_url, &s.api_base) {
        (Some(js), _) => js.clone(),
        (None, Some(base)) => format!("{}/v3/", base.trim_end_matches('/')),
        (None, None) => STRIPE_JS_URL.into(),
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
