//! Connecting a merchant to its platform: one function shared by the admin API and
//! `anycart connect`, both of which hand it the same typed
//! [`PlatformSettings`], so both validate the same way.

use crate::{ConnectorError, connector_for};
use anycart_core::MerchantId;
use anycart_store::{
    AdobeSettings, ConnectionRecord, NativeSettings, PlatformSettings, SalesforceSettings, Secret,
    ShopifySettings, Store,
};

/// Longest accepted shop domain / base URL / secret.
pub const CONNECTION_FIELD_CHARS_MAX: usize = 255;

fn bad(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Misconfigured(message.into())
}

/// Checks and normalises `settings`, builds its connector once (so a bad URL or a
/// missing token is refused now, not at the first order), and stores the
/// connection.
pub async fn connect(
    store: &Store,
    merchant: MerchantId,
    settings: PlatformSettings,
    now_ms: i64,
) -> Result<ConnectionRecord, ConnectorError> {
    let settings = normalise(settings)?;
    let created_at_ms = store
        .get_connection(merchant)
        .await?
        .map_or(now_ms, |c| c.created_at_ms);
    let record = ConnectionRecord {
        merchant_id: merchant,
        settings,
        created_at_ms,
        updated_at_ms: now_ms,
    };
    connector_for(Some(&record))?;
    store.upsert_connection(&record).await?;
    tracing::info!(merchant_id = %merchant, platform = record.platform(), shop_domain = %record.shop_domain(), "platform connected");
    Ok(record)
}

/// Trimmed, lower-cased where it matters, defaults filled in, every field checked.
fn normalise(settings: PlatformSettings) -> Result<PlatformSettings, ConnectorError> {
    let settings = match settings {
        PlatformSettings::Native(s) => PlatformSettings::Native(native(s)),
        PlatformSettings::Shopify(s) => PlatformSettings::Shopify(ShopifySettings {
            shop_domain: s.shop_domain.trim().to_ascii_lowercase(),
            api_version: shopify_api_version(s.api_version)?,
            ..s
        }),
        PlatformSettings::Salesforce(s) => PlatformSettings::Salesforce(salesforce(s)?),
        PlatformSettings::Adobe(s) => PlatformSettings::Adobe(adobe(s)?),
    };
    check_domain(settings.shop_domain())?;
    if let Some(url) = settings.base_url() {
        check_url(url)?;
    }
    Ok(settings)
}

/// Only a version the schema check covers: another would send documents nobody
/// checked against that version's schema (a field removed there fails every order).
fn shopify_api_version(version: Option<String>) -> Result<Option<String>, ConnectorError> {
    use crate::shopify::SHOPIFY_API_VERSIONS_SUPPORTED as SUPPORTED;
    match trimmed(version) {
        Some(v) if !SUPPORTED.contains(&v.as_str()) => Err(bad(format!(
            "api_version `{}` is not one anycart is checked against; use one of {}",
            v.chars().take(20).collect::<String>(),
            SUPPORTED.join(", ")
        ))),
        v => Ok(v),
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn native(s: NativeSettings) -> NativeSettings {
    NativeSettings {
        shop_domain: s.shop_domain.trim().to_ascii_lowercase(),
        smtp_url: s.smtp_url,
        from_address: trimmed(s.from_address),
        shop_name: trimmed(s.shop_name),
        brand_color: trimmed(s.brand_color),
    }
}

/// Checks the Salesforce B2C Commerce fields one by one, so the merchant learns
/// which one is missing or mistyped; the SCAPI host names the shop by default.
fn salesforce(s: SalesforceSettings) -> Result<SalesforceSettings, ConnectorError> {
    use crate::salesforce::valid_identifier;
    for (name, value, example) in [
        ("short_code", &s.short_code, "kv7kzm78"),
        ("organization_id", &s.organization_id, "f_ecom_zzte_053"),
        ("site_id", &s.site_id, "RefArch"),
    ] {
        if !valid_identifier(value.trim()) {
            return Err(bad(format!(
                "{name} is missing or invalid for salesforce (letters, digits, `-`, `_`; e.g. {example})"
            )));
        }
    }
    for (name, value) in [
        ("client_id", &s.client_id),
        ("client_secret", &s.client_secret),
    ] {
        check_secret(
            name,
            value,
            "(of the SLAS private client) is required for salesforce",
        )?;
    }
    let short_code = s.short_code.trim().to_string();
    let shop_domain = match s.shop_domain.trim() {
        "" => format!("{short_code}.api.commercecloud.salesforce.com"),
        d => d.to_ascii_lowercase(),
    };
    Ok(SalesforceSettings {
        shop_domain,
        organization_id: s.organization_id.trim().to_string(),
        site_id: s.site_id.trim().to_string(),
        short_code,
        shipping_method_id: trimmed(s.shipping_method_id),
        payment_method_id: trimmed(s.payment_method_id),
        root_category_id: trimmed(s.root_category_id),
        ..s
    })
}

/// Adobe Commerce lives on the merchant's own domain: `base_url` names the shop
/// when no domain is given; the codes must be Magento codes.
fn adobe(s: AdobeSettings) -> Result<AdobeSettings, ConnectorError> {
    check_url(&s.base_url)?;
    let shop_domain = match s.shop_domain.trim() {
        "" => reqwest::Url::parse(&s.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default(),
        d => d.to_ascii_lowercase(),
    };
    let codes = [
        ("store_code", trimmed(s.store_code.clone())),
        (
            "shipping_carrier_code",
            trimmed(s.shipping_carrier_code.clone()),
        ),
        (
            "shipping_method_code",
            trimmed(s.shipping_method_code.clone()),
        ),
        ("payment_method", trimmed(s.payment_method.clone())),
    ];
    for (key, value) in &codes {
        if value
            .as_deref()
            .is_some_and(|v| !crate::adobe::valid_code(v))
        {
            return Err(bad(format!(
                "{key} must be letters, digits and underscores"
            )));
        }
    }
    let consumer_key = trimmed(s.consumer_key.clone());
    let oauth_parts = [
        consumer_key.is_some(),
        s.consumer_secret
            .as_ref()
            .is_some_and(|x| !x.expose().trim().is_empty()),
        s.access_token_secret
            .as_ref()
            .is_some_and(|x| !x.expose().trim().is_empty()),
    ];
    if oauth_parts.contains(&true) && oauth_parts.contains(&false) {
        return Err(bad(
            "OAuth 1.0a signing needs consumer_key, consumer_secret and access_token_secret together",
        ));
    }
    let [store_code, carrier, method, payment] = codes.map(|(_, v)| v);
    Ok(AdobeSettings {
        consumer_key,
        shop_domain,
        store_code,
        shipping_carrier_code: carrier,
        shipping_method_code: method,
        payment_method: payment,
        ..s
    })
}

fn check_domain(domain: &str) -> Result<(), ConnectorError> {
    let ok = !domain.is_empty()
        && domain.len() <= CONNECTION_FIELD_CHARS_MAX
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "shop_domain must be a host name such as example.myshopify.com",
        ))
    }
}

fn check_url(url: &str) -> Result<(), ConnectorError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= CONNECTION_FIELD_CHARS_MAX
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(bad("base_url must be an http(s) URL"))
    }
}

fn check_secret(name: &str, value: &Secret, why: &str) -> Result<(), ConnectorError> {
    let v = value.expose();
    if v.trim().is_empty() || v.len() > CONNECTION_FIELD_CHARS_MAX {
        return Err(bad(format!("{name} {why}")));
    }
    Ok(())
}
