//! Connecting a merchant to its platform: one function shared by the admin API and
//! `anycart connect`, so both validate the same way.

use crate::{ConnectorError, Platform, connector_for};
use anycart_core::MerchantId;
use anycart_store::{ConnectionRecord, Store};
use secrecy::{ExposeSecret, SecretString};

/// Longest accepted shop domain / base URL.
pub const CONNECTION_FIELD_CHARS_MAX: usize = 255;

/// What a merchant supplies to connect a platform. Secrets are wrapped so they
/// cannot end up in logs.
#[derive(Debug, Default)]
pub struct ConnectRequest {
    pub platform: String,
    pub shop_domain: String,
    pub base_url: Option<String>,
    /// Shopify Admin API access token (`shpat_…`).
    pub access_token: Option<SecretString>,
    /// Shopify app client secret (signs webhooks).
    pub webhook_secret: Option<SecretString>,
    /// Native: `smtp://…` or `smtps://user:pass@host`.
    pub smtp_url: Option<SecretString>,
    pub from_address: Option<String>,
    pub shop_name: Option<String>,
    pub brand_color: Option<String>,
    pub api_version: Option<String>,
    /// Salesforce B2C Commerce: the instance's SCAPI short code.
    pub short_code: Option<String>,
    /// Salesforce B2C Commerce: `f_ecom_…` organization id.
    pub organization_id: Option<String>,
    /// Salesforce B2C Commerce: the site (SLAS channel) orders are placed in.
    pub site_id: Option<String>,
    /// Salesforce B2C Commerce: SLAS private client id.
    pub client_id: Option<SecretString>,
    /// Salesforce B2C Commerce: SLAS private client secret.
    pub client_secret: Option<SecretString>,
    /// Adobe Commerce store view code (`default` when absent).
    pub store_code: Option<String>,
    /// Adobe Commerce shipping carrier / method codes for pushed orders.
    pub shipping_carrier_code: Option<String>,
    pub shipping_method_code: Option<String>,
    /// Adobe Commerce payment method code for pushed orders.
    pub payment_method: Option<String>,
}

/// Validates `request`, builds its connector once (so a bad URL or missing token
/// is refused now, not at the first order), and stores the connection.
pub async fn connect(
    store: &Store,
    merchant: MerchantId,
    request: ConnectRequest,
    now_ms: i64,
) -> Result<ConnectionRecord, ConnectorError> {
    let bad = |m: &str| ConnectorError::Misconfigured(m.to_string());
    let platform = Platform::parse(&request.platform)
        .ok_or_else(|| bad("platform must be `native`, `shopify`, `salesforce` or `adobe`"))?;
    if platform == Platform::Salesforce {
        salesforce_fields(&request)?;
    }
    let mut domain = match (&request.short_code, request.shop_domain.trim()) {
        // The SCAPI host names a B2C Commerce instance when no domain is given.
        (Some(code), "") if platform == Platform::Salesforce => {
            format!("{}.api.commercecloud.salesforce.com", code.trim())
        }
        (_, d) => d.to_ascii_lowercase(),
    };
    if platform == Platform::Adobe {
        // Adobe Commerce lives on the merchant's own domain: base_url is required
        // and names the shop when no domain is given.
        let base = request
            .base_url
            .as_deref()
            .ok_or_else(|| bad("base_url (the store's URL) is required for adobe"))?;
        if domain.is_empty() {
            domain = reqwest::Url::parse(base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                .unwrap_or_default();
        }
        for (key, value) in [
            ("store_code", &request.store_code),
            ("shipping_carrier_code", &request.shipping_carrier_code),
            ("shipping_method_code", &request.shipping_method_code),
            ("payment_method", &request.payment_method),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| !crate::adobe::valid_code(v))
            {
                return Err(bad(&format!(
                    "{key} must be letters, digits and underscores"
                )));
            }
        }
    }
    let domain_ok = !domain.is_empty()
        && domain.len() <= CONNECTION_FIELD_CHARS_MAX
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !domain_ok {
        return Err(bad(
            "shop_domain must be a host name such as example.myshopify.com",
        ));
    }
    if let Some(u) = &request.base_url {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() <= CONNECTION_FIELD_CHARS_MAX
            && !u.chars().any(char::is_whitespace);
        if !ok {
            return Err(bad("base_url must be an http(s) URL"));
        }
    }
    let mut credentials = serde_json::Map::new();
    for (key, value) in [
        ("access_token", &request.access_token),
        ("webhook_secret", &request.webhook_secret),
        ("smtp_url", &request.smtp_url),
        ("client_id", &request.client_id),
        ("client_secret", &request.client_secret),
    ] {
        if let Some(v) = value {
            credentials.insert(key.into(), v.expose_secret().into());
        }
    }
    let mut settings = serde_json::Map::new();
    for (key, value) in [
        ("from_address", &request.from_address),
        ("shop_name", &request.shop_name),
        ("brand_color", &request.brand_color),
        ("api_version", &request.api_version),
        ("short_code", &request.short_code),
        ("organization_id", &request.organization_id),
        ("site_id", &request.site_id),
        ("store_code", &request.store_code),
        ("shipping_carrier_code", &request.shipping_carrier_code),
        ("shipping_method_code", &request.shipping_method_code),
        ("payment_method", &request.payment_method),
    ] {
        if let Some(v) = value {
            settings.insert(key.into(), v.trim().into());
        }
    }
    let created_at_ms = store
        .get_connection(merchant)
        .await?
        .map_or(now_ms, |c| c.created_at_ms);
    let record = ConnectionRecord {
        merchant_id: merchant,
        platform: platform.as_str().into(),
        shop_domain: domain,
        base_url: request.base_url,
        credentials: SecretString::from(serde_json::Value::Object(credentials).to_string()),
        settings: serde_json::Value::Object(settings),
        created_at_ms,
        updated_at_ms: now_ms,
    };
    connector_for(Some(&record))?;
    store.upsert_connection(&record).await?;
    tracing::info!(merchant_id = %merchant, platform = platform.as_str(), shop_domain = %record.shop_domain, "platform connected");
    Ok(record)
}

/// Checks the Salesforce B2C Commerce fields one by one, so the merchant learns
/// which one is missing or mistyped.
fn salesforce_fields(r: &ConnectRequest) -> Result<(), ConnectorError> {
    use crate::salesforce::valid_identifier;
    for (name, value, example) in [
        ("short_code", &r.short_code, "kv7kzm78"),
        ("organization_id", &r.organization_id, "f_ecom_zzte_053"),
        ("site_id", &r.site_id, "RefArch"),
    ] {
        if !value
            .as_deref()
            .map(str::trim)
            .is_some_and(valid_identifier)
        {
            return Err(ConnectorError::Misconfigured(format!(
                "{name} is missing or invalid for salesforce (letters, digits, `-`, `_`; e.g. {example})"
            )));
        }
    }
    for (name, value) in [
        ("client_id", &r.client_id),
        ("client_secret", &r.client_secret),
    ] {
        let ok = value.as_ref().is_some_and(|v| {
            let v = v.expose_secret();
            !v.trim().is_empty() && v.len() <= CONNECTION_FIELD_CHARS_MAX
        });
        if !ok {
            return Err(ConnectorError::Misconfigured(format!(
                "{name} (of the SLAS private client) is required for salesforce"
            )));
        }
    }
    Ok(())
}
