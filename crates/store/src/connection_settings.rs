//! What a merchant's platform connection is made of: one serde-tagged enum with a
//! struct per platform, shared by `anycart connect …`, `PUT /v1/connection` and
//! storage, so a setting is named once and unknown fields are refused everywhere.
//!
//! At rest the whole value is sealed (it holds secrets) in
//! `merchant_connections.credentials`; `settings` keeps its public view for
//! operators reading the table. Rows written before this type existed kept secrets
//! and options in two JSON objects; [`PlatformSettings::from_legacy`] reads them.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret setting (token, client secret, SMTP URL with its password): a plain
/// string on the wire and in the sealed document, never in `Debug` or logs.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The secret itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Wrapped for code that takes `secrecy` types.
    pub fn to_secret_string(&self) -> SecretString {
        self.0.clone()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// anycart is the system of record and mails confirmations itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NativeSettings {
    /// The shop's domain (shown in emails when there is no `shop_name`).
    pub shop_domain: String,
    /// `smtp://host:port` or `smtps://user:pass@host`; without it nothing is mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub smtp_url: Option<Secret>,
    /// The sender of confirmations (required with `smtp_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_name: Option<String>,
    /// `#rrggbb` header colour of the confirmation email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
}

/// A Shopify store, through the Admin GraphQL API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShopifySettings {
    /// e.g. `example.myshopify.com`.
    pub shop_domain: String,
    /// Overrides `https://{shop_domain}` (a proxy, a local fake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Admin API access token (`shpat_…`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub access_token: Secret,
    /// The app's client secret, which signs webhooks.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub webhook_secret: Secret,
    /// Admin API version (default: the one anycart is tested against).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Shortens the platform request timeout (never lengthens it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
}

/// A Salesforce B2C Commerce site, through the Shopper APIs (SCAPI) with a SLAS
/// private client.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    /// Shown as the shop's domain (default: the SCAPI host of `short_code`).
    #[serde(default)]
    pub shop_domain: String,
    /// Overrides `https://{short_code}.api.commercecloud.salesforce.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The instance's SCAPI short code, e.g. `kv7kzm78`.
    pub short_code: String,
    /// e.g. `f_ecom_zzte_053`.
    pub organization_id: String,
    /// The site orders are placed in (also the SLAS channel), e.g. `RefArch`.
    pub site_id: String,
    /// SLAS private client id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_id: Secret,
    /// SLAS private client secret.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_secret: Secret,
    /// Shipping method of pushed orders (default `001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_id: Option<String>,
    /// Payment method of pushed orders (default `ANYCART`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    /// Category the import walks (default `root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_category_id: Option<String>,
    /// Shortens the platform request timeout (never lengthens it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
}

/// An Adobe Commerce (Magento 2) store, through its REST API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdobeSettings {
    /// The store's URL, e.g. `https://shop.example.com` (REST lives under `/rest/`).
    pub base_url: String,
    /// Shown as the shop's domain (default: the host of `base_url`).
    #[serde(default)]
    pub shop_domain: String,
    /// Integration access token.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub access_token: Secret,
    /// The integration's consumer key: with `consumer_secret` and
    /// `access_token_secret`, requests are signed with OAuth 1.0a (HMAC-SHA1), as
    /// Adobe Commerce expects since 2.4.4; without them the access token is sent
    /// as a bearer token (which the store must allow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_key: Option<String>,
    /// The integration's consumer secret (OAuth 1.0a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub consumer_secret: Option<Secret>,
    /// The integration's access token secret (OAuth 1.0a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub access_token_secret: Option<Secret>,
    /// Store view code in REST URLs (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_code: Option<String>,
    /// Shipping carrier code of pushed orders (default `flatrate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_carrier_code: Option<String>,
    /// Shipping method code of pushed orders (default `flatrate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_code: Option<String>,
    /// Payment method of pushed orders (default `purchaseorder`, which carries the
    /// anycart order id as PO number and makes retries exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// MSI stock whose salable quantity is imported (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_id: Option<i64>,
    /// Shortens the platform request timeout (never lengthens it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
}

/// A merchant's connection to its commerce platform, tagged by `platform`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum PlatformSettings {
    Native(NativeSettings),
    Shopify(ShopifySettings),
    Salesforce(SalesforceSettings),
    Adobe(AdobeSettings),
}

impl PlatformSettings {
    /// The stored / URL name of the platform.
    pub fn platform(&self) -> &'static str {
        match self {
            PlatformSettings::Native(_) => "native",
            PlatformSettings::Shopify(_) => "shopify",
            PlatformSettings::Salesforce(_) => "salesforce",
            PlatformSettings::Adobe(_) => "adobe",
        }
    }

    /// The shop's own domain.
    pub fn shop_domain(&self) -> &str {
        match self {
            PlatformSettings::Native(s) => &s.shop_domain,
            PlatformSettings::Shopify(s) => &s.shop_domain,
            PlatformSettings::Salesforce(s) => &s.shop_domain,
            PlatformSettings::Adobe(s) => &s.shop_domain,
        }
    }

    /// The platform API origin when it is not derived from the domain.
    pub fn base_url(&self) -> Option<&str> {
        match self {
            PlatformSettings::Native(_) => None,
            PlatformSettings::Shopify(s) => s.base_url.as_deref(),
            PlatformSettings::Salesforce(s) => s.base_url.as_deref(),
            PlatformSettings::Adobe(s) => Some(&s.base_url),
        }
    }

    /// A shorter platform request timeout, if configured.
    pub fn request_timeout_ms(&self) -> Option<u64> {
        match self {
            PlatformSettings::Native(_) => None,
            PlatformSettings::Shopify(s) => s.request_timeout_ms,
            PlatformSettings::Salesforce(s) => s.request_timeout_ms,
            PlatformSettings::Adobe(s) => s.request_timeout_ms,
        }
    }

    /// The settings without their secrets (what the admin API shows and the
    /// `settings` column keeps): every field but the [`Secret`]s.
    pub fn public_view(&self) -> serde_json::Value {
        let mut view = match self {
            PlatformSettings::Native(s) => serde_json::json!({
                "shop_domain": s.shop_domain,
                "from_address": s.from_address,
                "shop_name": s.shop_name,
                "brand_color": s.brand_color,
                "smtp_configured": s.smtp_url.is_some(),
            }),
            PlatformSettings::Shopify(s) => serde_json::json!({
                "shop_domain": s.shop_domain,
                "base_url": s.base_url,
                "api_version": s.api_version,
                "request_timeout_ms": s.request_timeout_ms,
            }),
            PlatformSettings::Salesforce(s) => serde_json::json!({
                "shop_domain": s.shop_domain,
                "base_url": s.base_url,
                "short_code": s.short_code,
                "organization_id": s.organization_id,
                "site_id": s.site_id,
                "shipping_method_id": s.shipping_method_id,
                "payment_method_id": s.payment_method_id,
                "root_category_id": s.root_category_id,
                "request_timeout_ms": s.request_timeout_ms,
            }),
            PlatformSettings::Adobe(s) => serde_json::json!({
                "shop_domain": s.shop_domain,
                "base_url": s.base_url,
                "consumer_key": s.consumer_key,
                "store_code": s.store_code,
                "shipping_carrier_code": s.shipping_carrier_code,
                "shipping_method_code": s.shipping_method_code,
                "payment_method": s.payment_method,
                "stock_id": s.stock_id,
                "request_timeout_ms": s.request_timeout_ms,
            }),
        };
        if let Some(fields) = view.as_object_mut() {
            fields.retain(|_, v| !v.is_null());
        }
        view
    }

    /// Reads a row written before this type: `platform`, `shop_domain` and
    /// `base_url` columns, a JSON object of secrets and one of options.
    pub fn from_legacy(
        platform: &str,
        shop_domain: &str,
        base_url: Option<&str>,
        secrets: serde_json::Value,
        options: serde_json::Value,
    ) -> Result<PlatformSettings, serde_json::Error> {
        let mut merged = serde_json::Map::new();
        merged.insert("platform".into(), platform.into());
        merged.insert("shop_domain".into(), shop_domain.into());
        if let Some(url) = base_url.filter(|_| platform != "native") {
            merged.insert("base_url".into(), url.into());
        }
        for part in [options, secrets] {
            if let serde_json::Value::Object(fields) = part {
                merged.extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
            }
        }
        serde_json::from_value(serde_json::Value::Object(merged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_platforms_are_refused() {
        let ok = serde_json::json!({"platform": "shopify", "shop_domain": "a.myshopify.com",
            "access_token": "shpat_x", "webhook_secret": "whsec"});
        assert!(serde_json::from_value::<PlatformSettings>(ok.clone()).is_ok());
        let mut typo = ok.clone();
        typo["acces_token"] = "x".into();
        assert!(serde_json::from_value::<PlatformSettings>(typo).is_err());
        let mut other = ok;
        other["platform"] = "magento".into();
        assert!(serde_json::from_value::<PlatformSettings>(other).is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_and_the_public_view() {
        let s = PlatformSettings::Adobe(AdobeSettings {
            base_url: "https://shop.example".into(),
            shop_domain: "shop.example".into(),
            access_token: Secret::new("very-secret-token"),
            consumer_key: Some("ck_public".into()),
            consumer_secret: Some(Secret::new("very-secret-consumer")),
            access_token_secret: Some(Secret::new("very-secret-token-secret")),
            store_code: None,
            shipping_carrier_code: None,
            shipping_method_code: None,
            payment_method: Some("checkmo".into()),
            stock_id: None,
            request_timeout_ms: None,
        });
        assert!(!format!("{s:?}").contains("very-secret"));
        let view = s.public_view().to_string();
        assert!(!view.contains("very-secret"), "{view}");
        assert!(view.contains("checkmo") && view.contains("ck_public"));
        // The sealed document keeps it (that is what the connector reads back).
        assert!(
            serde_json::to_string(&s)
                .unwrap()
                .contains("very-secret-token")
        );
    }

    #[test]
    fn rows_from_before_the_typed_settings_still_load() {
        let s = PlatformSettings::from_legacy(
            "native",
            "shop.example",
            None,
            serde_json::json!({"smtp_url": "smtp://localhost:25"}),
            serde_json::json!({"from_address": "shop@shop.example", "shop_name": null}),
        )
        .unwrap();
        let PlatformSettings::Native(n) = s else {
            panic!("not native")
        };
        assert_eq!(n.smtp_url.unwrap().expose(), "smtp://localhost:25");
        assert_eq!(n.from_address.as_deref(), Some("shop@shop.example"));
    }
}
