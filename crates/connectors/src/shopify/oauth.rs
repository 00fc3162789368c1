//! Shopify as an installable app: the OAuth authorization-code flow (install link
//! with a `state` nonce, HMAC-verified callback, shop domain checked, code
//! exchanged for an offline access token, granted scopes checked against the
//! requested ones) and the app's own webhook subscriptions through the Admin API.
//!
//! The server keeps the `state` nonce (single use) between [`install_url`] and
//! [`verify_callback`]; this module is the protocol, with no storage.

use crate::{ConnectorError, http_client, transport_error};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The scopes anycart asks for: orders out, catalogue and stock in.
pub const APP_SCOPES: &[&str] = &[
    "write_orders",
    "read_products",
    "read_inventory",
    "read_locations",
];
/// Longest a callback may take after Shopify signed it.
pub const CALLBACK_AGE_S_MAX: i64 = 60 * 60;
/// Longest shop handle (the part before `.myshopify.com`) Shopify allows.
const SHOP_HANDLE_CHARS_MAX: usize = 60;
/// Longest query a callback may carry (parameters).
const CALLBACK_PARAMS_MAX: usize = 16;

/// The topics the app subscribes itself to after install (Admin API enum values).
pub const WEBHOOK_TOPICS: &[&str] = &[
    "INVENTORY_LEVELS_UPDATE",
    "ORDERS_CREATE",
    "PRODUCTS_UPDATE",
    "REFUNDS_CREATE",
    "APP_UNINSTALLED",
];

/// Subscribes the app to one topic, delivered as JSON to anycart's webhook URL.
pub const WEBHOOK_SUBSCRIPTION_CREATE_MUTATION: &str = "mutation AnycartWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) { webhookSubscription { id } userErrors { field message } } }";

/// A shop's `*.myshopify.com` domain, checked: Shopify's install and callback
/// name the shop in the URL, and anycart only ever talks to such a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopDomain(String);

impl ShopDomain {
    pub fn parse(raw: &str) -> Result<ShopDomain, ConnectorError> {
        let shop = raw.trim().to_ascii_lowercase();
        let handle = shop.strip_suffix(".myshopify.com").unwrap_or_default();
        let valid = !handle.is_empty()
            && handle.len() <= SHOP_HANDLE_CHARS_MAX
            && handle
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !handle.starts_with('-');
        if valid {
            Ok(ShopDomain(shop))
        } else {
            Err(ConnectorError::Misconfigured(format!(
                "`{}` is not a shop domain like acme.myshopify.com",
                raw.chars().take(80).collect::<String>()
            )))
        }
    }
}

impl AsRef<str> for ShopDomain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A fresh `state` nonce (32 random bytes, hex) to store server-side, single use.
pub fn new_state() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Where to send the merchant to install the app: Shopify's grant screen for
/// `scopes`, coming back to `redirect_uri` with `state`. No `grant_options[]`:
/// the token is an offline one (it outlives the merchant's session).
pub fn install_url(
    authorize_base: &str,
    client_id: &str,
    scopes: &[&str],
    redirect_uri: &str,
    state: &str,
) -> Result<url::Url, ConnectorError> {
    let mut url = url::Url::parse(&format!(
        "{}/admin/oauth/authorize",
        authorize_base.trim_end_matches('/')
    ))
    .map_err(|e| ConnectorError::Misconfigured(format!("shop URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", &scopes.join(","))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    Ok(url)
}

/// What a verified callback carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Callback {
    pub shop: ShopDomain,
    pub code: String,
    pub state: String,
}

/// Checks an install callback's query (already URL-decoded pairs): Shopify's hex
/// HMAC-SHA256, with the app's client secret, of the other parameters sorted by
/// name and joined as `name=value&…`; then the shop domain, a recent timestamp
/// and a `state` equal to the one stored for this install. Anything else is
/// refused without a network call.
pub fn verify_callback(
    pairs: &[(String, String)],
    client_secret: &str,
    expected_state: &str,
    now_s: i64,
) -> Result<Callback, ConnectorError> {
    if pairs.len() > CALLBACK_PARAMS_MAX {
        return Err(ConnectorError::Malformed(
            "too many callback parameters".into(),
        ));
    }
    let params: BTreeMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signature = params
        .get("hmac")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(ConnectorError::Unauthorized)?;
    let message = params
        .iter()
        .filter(|(k, _)| **k != "hmac" && **k != "signature")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .map_err(|_| ConnectorError::Misconfigured("client secret".into()))?;
    mac.update(message.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| ConnectorError::Unauthorized)?;
    let field = |k: &str| {
        params
            .get(k)
            .map(|v| v.to_string())
            .ok_or_else(|| ConnectorError::Malformed(format!("callback without {k}")))
    };
    let shop = ShopDomain::parse(&field("shop")?)?;
    let timestamp: i64 = field("timestamp")?
        .parse()
        .map_err(|_| ConnectorError::Malformed("callback timestamp".into()))?;
    if (now_s - timestamp).abs() > CALLBACK_AGE_S_MAX {
        return Err(ConnectorError::Unauthorized);
    }
    let state = field("state")?;
    if expected_state.is_empty() || !constant_time_eq(&state, expected_state) {
        return Err(ConnectorError::Unauthorized);
    }
    Ok(Callback {
        shop,
        code: field("code")?,
        state,
    })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Signs a callback query as Shopify does (for the fake and for tests).
pub fn sign_callback(client_secret: &str, pairs: &[(&str, &str)]) -> String {
    let sorted: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    let message = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Variables of [`WEBHOOK_SUBSCRIPTION_CREATE_MUTATION`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreateVariables<'a> {
    pub topic: &'a str,
    pub webhook_subscription: WebhookSubscriptionInput<'a>,
}

/// `WebhookSubscriptionInput` (`callbackUrl` is deprecated in favour of `uri`).
#[derive(Debug, Serialize)]
pub struct WebhookSubscriptionInput<'a> {
    pub uri: &'a str,
    pub format: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreateData {
    /// `null` only beside a top-level error, which is read first.
    pub webhook_subscription_create: Option<WebhookSubscriptionCreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreatePayload {
    pub webhook_subscription: Option<super::wire::IdNode>,
    #[serde(default)]
    pub user_errors: Vec<super::wire::UserError>,
}

#[derive(Serialize)]
struct AccessTokenRequest<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    code: &'a str,
}

/// Shopify's answer to the code exchange.
#[derive(Debug, Deserialize)]
pub struct AccessTokenResponse {
    pub access_token: String,
    /// The granted scopes, comma-separated.
    pub scope: String,
}

/// Exchanges the callback's code for the shop's offline access token at
/// `{shop_base}/admin/oauth/access_token`, and refuses it unless every requested
/// scope was granted.
pub async fn exchange_code(
    shop_base: &str,
    client_id: &str,
    client_secret: &str,
    code: &str,
    requested: &[&str],
) -> Result<AccessTokenResponse, ConnectorError> {
    let response = http_client()?
        .post(format!(
            "{}/admin/oauth/access_token",
            shop_base.trim_end_matches('/')
        ))
        .timeout(std::time::Duration::from_millis(
            crate::PLATFORM_REQUEST_TIMEOUT_MS,
        ))
        .json(&AccessTokenRequest {
            client_id,
            client_secret,
            code,
        })
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ConnectorError::Permanent(format!(
            "Shopify refused the install code ({status})"
        )));
    }
    let token: AccessTokenResponse = response
        .json()
        .await
        .map_err(|e| ConnectorError::Malformed(format!("Shopify access token answer: {e}")))?;
    let missing = missing_scopes(requested, &token.scope);
    if !missing.is_empty() {
        return Err(ConnectorError::Permanent(format!(
            "Shopify granted `{}` but anycart needs {}",
            token.scope,
            missing.join(", ")
        )));
    }
    Ok(token)
}

/// The requested scopes `granted` lacks. Shopify may leave `read_x` out when it
/// grants `write_x`, which implies it.
pub fn missing_scopes(requested: &[&str], granted: &str) -> Vec<String> {
    let granted: Vec<&str> = granted.split(',').map(str::trim).collect();
    requested
        .iter()
        .filter(|want| {
            let implied = want
                .strip_prefix("read_")
                .map(|rest| format!("write_{rest}"));
            !granted.contains(want) && implied.is_none_or(|w| !granted.contains(&w.as_str()))
        })
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_myshopify_hosts_only() {
        assert!(ShopDomain::parse("Acme-2.myshopify.com").is_ok());
        for bad in [
            "acme.com",
            "evil.com/.myshopify.com",
            ".myshopify.com",
            "-x.myshopify.com",
            "a.b.myshopify.com",
            "acme.myshopify.com.evil.com",
        ] {
            assert!(ShopDomain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn callbacks_are_verified_by_hmac_state_shop_and_age() {
        let now = 1_700_000_000;
        let ts = now.to_string();
        let base = [
            ("code", "c0de"),
            ("host", "YWRtaW4"),
            ("shop", "acme.myshopify.com"),
            ("state", "nonce1"),
            ("timestamp", ts.as_str()),
        ];
        let signed = |secret: &str, pairs: &[(&str, &str)]| {
            let mut all: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            all.push(("hmac".into(), sign_callback(secret, pairs)));
            all
        };
        let ok = verify_callback(&signed("secret", &base), "secret", "nonce1", now).unwrap();
        assert_eq!(
            (ok.shop.as_ref(), ok.code.as_str()),
            ("acme.myshopify.com", "c0de")
        );
        // Another secret, another state, a tampered shop, an old callback: refused.
        assert!(verify_callback(&signed("other", &base), "secret", "nonce1", now).is_err());
        assert!(verify_callback(&signed("secret", &base), "secret", "nonce2", now).is_err());
        let mut tampered = signed("secret", &base);
        tampered[2].1 = "evil.myshopify.com".into();
        assert!(verify_callback(&tampered, "secret", "nonce1", now).is_err());
        assert!(
            verify_callback(&signed("secret", &base), "secret", "nonce1", now + 7_200).is_err()
        );
        let mut unsigned = signed("secret", &base);
        unsigned.pop();
        assert!(verify_callback(&unsigned, "secret", "nonce1", now).is_err());
    }

    #[test]
    fn granted_scopes_must_cover_the_requested_ones() {
        let wanted = ["write_orders", "read_orders", "read_products"];
        assert!(missing_scopes(&wanted, "write_orders,read_products").is_empty());
        assert_eq!(
            missing_scopes(&wanted, "read_orders,read_products"),
            vec!["write_orders".to_string()]
        );
    }
}
