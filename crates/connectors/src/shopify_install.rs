//! The install of anycart's Shopify app, with storage: [`begin_install`] keeps a
//! single-use `state` nonce for (merchant, shop) and gives the install link;
//! [`finish_install`] takes Shopify's callback, checks it (HMAC with the app's
//! client secret, the nonce unknown/expired/spent, the shop the nonce was made
//! for), exchanges the code for the offline token (granted scopes checked),
//! subscribes the app's webhooks, and only then saves the connection. A refused
//! callback saves nothing. The protocol itself is [`crate::shopify::oauth`].

use crate::ConnectorError;
use crate::connect::connect;
use crate::shopify::oauth::{self, APP_SCOPES, ShopDomain};
use crate::shopify::{ShopifyConnector, verify_webhook_signature};
use anycart_core::MerchantId;
use anycart_store::{ConnectionRecord, PlatformSettings, Secret, ShopifySettings, Store};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long an install link stays good: the merchant signs in to Shopify and
/// approves, which takes minutes, not hours.
pub const INSTALL_STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where Shopify sends the merchant back, under anycart's public base URL: the
/// server's callback route, and the app's allowed redirection URL.
pub const CALLBACK_PATH: &str = "/shopify/oauth/callback";

/// anycart's public Shopify app, as the operator registered it in Shopify's Dev
/// Dashboard (client id and secret); the secret never reaches a log.
#[derive(Clone, Debug)]
pub struct ShopifyApp {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Reach every shop at this origin instead of `https://{shop}` (a local fake
    /// in tests; never set in production).
    pub shop_base_url: Option<String>,
}

impl ShopifyApp {
    /// Where `shop`'s admin (OAuth and GraphQL) is reached.
    fn shop_base(&self, shop: &ShopDomain) -> String {
        self.shop_base_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", shop.as_ref()))
    }

    /// Checks the app-wide webhooks' `X-Shopify-Hmac-Sha256` (the compliance
    /// topics, configured once per app, are signed with the client secret).
    pub fn verify_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), ConnectorError> {
        verify_webhook_signature(self.client_secret.expose_secret(), headers, body)
    }
}

/// Why an install callback was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The callback's HMAC, timestamp or shop is wrong: not from Shopify.
    #[error("the callback is not signed by Shopify for this app: {0}")]
    BadCallback(ConnectorError),
    /// No such install started, or it expired, or its callback already came.
    #[error("this install link is unknown, expired or already used; start the install again")]
    StateInvalid,
    /// The callback names another shop than the install was started for.
    #[error("the install was started for {expected}, but Shopify answered for {got}")]
    WrongShop { expected: String, got: String },
    /// Shopify refused the code, the scopes are short, or subscribing failed.
    #[error(transparent)]
    Platform(ConnectorError),
}

/// What a finished install did.
#[derive(Debug)]
pub struct Installed {
    pub connection: ConnectionRecord,
    /// Webhook subscriptions created (empty when they existed already).
    pub subscriptions: Vec<String>,
}

/// The nonce as stored: a leaked table gives no usable nonce.
fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// Starts an install of the app on `shop` for `merchant`: keeps a fresh nonce
/// (valid [`INSTALL_STATE_TTL_MS`]) and answers Shopify's grant-screen link,
/// coming back to `redirect_uri`.
pub async fn begin_install(
    store: &Store,
    app: &ShopifyApp,
    merchant: MerchantId,
    shop: &str,
    redirect_uri: &str,
    now_ms: i64,
) -> Result<url::Url, ConnectorError> {
    let shop = ShopDomain::parse(shop)?;
    let state = oauth::new_state();
    let url = oauth::install_url(
        &app.shop_base(&shop),
        &app.client_id,
        APP_SCOPES,
        redirect_uri,
        &state,
    )?;
    store
        .save_install_state(
            &state_hash(&state),
            merchant,
            shop.as_ref(),
            now_ms,
            now_ms + INSTALL_STATE_TTL_MS,
        )
        .await?;
    tracing::info!(merchant_id = %merchant, shop = shop.as_ref(), "Shopify app install started");
    Ok(url)
}

/// Finishes an install from the callback's query (URL-decoded pairs):
/// `webhook_uri(merchant)` is where the app subscribes the shop's webhooks.
pub async fn finish_install(
    store: &Store,
    app: &ShopifyApp,
    pairs: &[(String, String)],
    webhook_uri: impl Fn(MerchantId) -> String,
    now_ms: i64,
) -> Result<Installed, InstallError> {
    let secret = app.client_secret.expose_secret();
    // The HMAC first: a forged callback spends no nonce and reaches no shop. The
    // nonce is compared with the stored one below (by its hash, in the store).
    let presented = pairs
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let callback = oauth::verify_callback(pairs, secret, presented, now_ms / 1000)
        .map_err(InstallError::BadCallback)?;
    let started = store
        .spend_install_state(&state_hash(&callback.state), now_ms)
        .await
        .map_err(|e| InstallError::Platform(e.into()))?
        .ok_or(InstallError::StateInvalid)?;
    if started.shop_domain != callback.shop.as_ref() {
        return Err(InstallError::WrongShop {
            expected: started.shop_domain,
            got: callback.shop.as_ref().to_string(),
        });
    }
    let merchant = started.merchant_id;
    let base = app.shop_base(&callback.shop);
    let token = oauth::exchange_code(&base, &app.client_id, secret, &callback.code, APP_SCOPES)
        .await
        .map_err(InstallError::Platform)?;
    // Shopify signs the app's webhooks with the client secret: it is this
    // connection's webhook secret.
    let settings = ShopifySettings {
        shop_domain: callback.shop.as_ref().to_string(),
        base_url: app.shop_base_url.clone(),
        access_token: Secret::new(token.access_token),
        webhook_secret: Secret::new(secret),
        api_version: None,
        request_timeout_ms: None,
    };
    // Subscribed before saving: a failure leaves no half-installed connection.
    let subscriptions = ShopifyConnector::from_settings(&settings)
        .map_err(InstallError::Platform)?
        .subscribe_webhooks(&webhook_uri(merchant))
        .await
        .map_err(InstallError::Platform)?;
    let connection = connect(store, merchant, PlatformSettings::Shopify(settings), now_ms)
        .await
        .map_err(InstallError::Platform)?;
    tracing::info!(merchant_id = %merchant, shop = connection.shop_domain(), subscriptions = subscriptions.len(), "Shopify app installed");
    Ok(Installed {
        connection,
        subscriptions,
    })
}
