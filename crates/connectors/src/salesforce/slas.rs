//! SLAS for the Salesforce connector: shopper tokens (cached, renewed), and the
//! guest each order is placed as, recorded before anything is created as it and
//! reached again through its refresh token (see the parent module's comment on
//! exactly-once).

use super::wire::{ORDER_ID_ATTRIBUTE, TokenResponse};
use super::{SalesforceConnector, status_error, valid_identifier};
use crate::{ConnectorError, transport_error};
use anycart_core::{MerchantId, OrderId};
use anycart_store::{PlatformGuest, Store};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token is renewed this long before SLAS says it expires (clock skew, latency).
const TOKEN_EXPIRY_MARGIN_S: i64 = 60;
/// Tokens one connector caches (one per order shopper plus the catalogue shopper).
const TOKEN_CACHE_MAX: usize = 64;
/// The platform name order guests are recorded under.
const GUEST_PLATFORM: &str = "salesforce";
/// Refresh-token lifetime assumed when SLAS does not say (its documented default
/// for guests).
const GUEST_REFRESH_LIFETIME_S_DEFAULT: i64 = 30 * 24 * 3_600;

/// A cached SLAS shopper token.
#[derive(Clone)]
pub(super) struct Token {
    pub(super) access: SecretString,
    customer_id: Option<String>,
    renew_at: Instant,
}

/// The guest shopper one anycart order is placed as: the one SLAS issued to the
/// order's first attempt and anycart recorded.
pub(super) struct OrderShopper {
    merchant: MerchantId,
    order: OrderId,
    pub(super) anycart_id: String,
    /// SLAS's id of the guest (a plain identifier: it goes into URL paths).
    customer_id: String,
    /// Gets this guest's tokens again; replaced if SLAS voids it on a refresh.
    refresh_token: Mutex<SecretString>,
    /// Recorded by an earlier attempt, which may have created a basket or an order.
    pub(super) resumed: bool,
    /// Shopper Customers path of the shopper's orders and baskets.
    pub(super) customer_path: String,
}

/// How a token is asked for.
enum Grant<'a> {
    /// Client credentials: the catalogue shopper, or a brand-new order guest.
    NewShopper,
    /// The refresh-token grant: `shopper`, the same guest again.
    Refresh {
        token: &'a SecretString,
        shopper: &'a OrderShopper,
    },
}

/// What SLAS issued: the access token and what identifies the shopper.
struct Issued {
    token: Token,
    usid: Option<String>,
    refresh_token: Option<SecretString>,
    refresh_expires_in_s: i64,
}

impl SalesforceConnector {
    /// A valid token for `shopper` (`None`: the catalogue shopper), from the cache
    /// unless it expires soon or `fresh` is asked for.
    pub(super) async fn token(
        &self,
        shopper: Option<&OrderShopper>,
        fresh: bool,
    ) -> Result<Token, ConnectorError> {
        let key = shopper.map(|s| s.customer_id.clone()).unwrap_or_default();
        if !fresh && let Some(t) = self.cached_token(&key) {
            return Ok(t);
        }
        let token = match shopper {
            None => self.request_token(Grant::NewShopper).await?.token,
            Some(s) => self.refresh_guest(s).await?,
        };
        self.cache_token(key, token.clone());
        Ok(token)
    }

    fn cache_token(&self, key: String, token: Token) {
        let mut cache = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: order shoppers come and go, so the cache is simply started over.
        if cache.len() >= TOKEN_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, token);
    }

    /// The cached token of the shopper `key`, unless it is due for renewal.
    fn cached_token(&self, key: &str) -> Option<Token> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .filter(|t| t.renew_at > Instant::now())
            .cloned()
    }

    /// Asks SLAS for a token: a new shopper (client credentials without a `usid`:
    /// SLAS makes the guest) or the same guest again (refresh token).
    async fn request_token(&self, grant: Grant<'_>) -> Result<Issued, ConnectorError> {
        let url = format!(
            "{}/shopper/auth/v1/organizations/{}/oauth2/token",
            self.base, self.organization_id
        );
        let form = match &grant {
            Grant::NewShopper => vec![
                ("grant_type", "client_credentials"),
                ("channel_id", self.site_id.as_str()),
            ],
            Grant::Refresh { token, .. } => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose_secret()),
                ("channel_id", self.site_id.as_str()),
            ],
        };
        let response = self
            .client
            .post(&url)
            .timeout(self.timeout)
            .basic_auth(
                self.client_id.expose_secret(),
                Some(self.client_secret.expose_secret()),
            )
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let e = status_error(status, "SLAS token", &body);
            return Err(match grant {
                // SLAS's 400 to a refresh: the token expired or was revoked, and
                // no Shopper API can find what earlier attempts created, so the
                // push stops (dead letter) for the merchant to look.
                Grant::Refresh { shopper, .. } if status == StatusCode::BAD_REQUEST => {
                    ConnectorError::Permanent(format!(
                        "SLAS no longer takes the refresh token of the order's guest (expired or revoked): {e}; the guest {} placed earlier attempts of order {} and cannot be looked up any more: look in Business Manager for an order with {ORDER_ID_ATTRIBUTE} = {} before placing it by hand",
                        shopper.customer_id, shopper.anycart_id, shopper.anycart_id
                    ))
                }
                _ => e,
            });
        }
        let t: TokenResponse = response.json().await.map_err(|e| {
            ConnectorError::Transient(format!("unreadable SLAS token response: {e}"))
        })?;
        issued_from(t)
    }

    /// A token for an order's recorded guest, through its refresh token; SLAS must
    /// answer for that same guest. A refresh token SLAS refuses leaves no Shopper
    /// API to find what earlier attempts created, so the push stops (dead letter)
    /// for the merchant to look, instead of placing a second order.
    async fn refresh_guest(&self, shopper: &OrderShopper) -> Result<Token, ConnectorError> {
        let refresh = shopper
            .refresh_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let issued = self
            .request_token(Grant::Refresh {
                token: &refresh,
                shopper,
            })
            .await?;
        if issued.token.customer_id.as_deref() != Some(shopper.customer_id.as_str()) {
            return Err(ConnectorError::Malformed(format!(
                "SLAS refreshed guest {} as another customer",
                shopper.customer_id
            )));
        }
        if let Some(new) = issued
            .refresh_token
            .filter(|new| new.expose_secret() != refresh.expose_secret())
        {
            // A refresh that voids the old token: record the new one before using it.
            let now = now_ms();
            self.journal()?
                .replace_platform_guest_refresh_token(
                    shopper.merchant,
                    shopper.order,
                    GUEST_PLATFORM,
                    &new,
                    now.saturating_add(issued.refresh_expires_in_s.saturating_mul(1_000)),
                    now,
                )
                .await?;
            *shopper
                .refresh_token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
        }
        Ok(issued.token)
    }

    /// Where order guests are recorded.
    fn journal(&self) -> Result<&Store, ConnectorError> {
        self.store.as_ref().ok_or_else(|| {
            ConnectorError::Misconfigured(
                "B2C Commerce orders are pushed by the outbox, which records each order's SLAS guest".into(),
            )
        })
    }

    /// The guest shopper `order` is placed as: the one an earlier attempt
    /// recorded, else a new SLAS guest, recorded (committed) before anything is
    /// created as it.
    pub(super) async fn order_shopper(
        &self,
        order: &anycart_core::order::Order,
    ) -> Result<OrderShopper, ConnectorError> {
        let store = self.journal()?;
        let recorded = store
            .platform_guest(order.merchant_id, order.id, GUEST_PLATFORM)
            .await?;
        let (guest, resumed) = match recorded {
            Some(g) => (g, true),
            None => {
                let issued = self.request_token(Grant::NewShopper).await?;
                let customer_id = issued
                    .token
                    .customer_id
                    .clone()
                    .filter(|c| valid_identifier(c))
                    .ok_or_else(|| {
                        ConnectorError::Malformed(
                            "SLAS token response without a usable customer_id".into(),
                        )
                    })?;
                let refresh_token = issued.refresh_token.ok_or_else(|| {
                    ConnectorError::Malformed("SLAS guest token without a refresh_token".into())
                })?;
                let now = now_ms();
                let stored = store
                    .record_platform_guest(&PlatformGuest {
                        merchant_id: order.merchant_id,
                        order_id: order.id,
                        platform: GUEST_PLATFORM.into(),
                        customer_id: customer_id.clone(),
                        usid: issued.usid,
                        refresh_token,
                        refresh_expires_at_ms: now
                            .saturating_add(issued.refresh_expires_in_s.saturating_mul(1_000)),
                        created_at_ms: now,
                        updated_at_ms: now,
                    })
                    .await?;
                // Another attempt may have recorded its guest first: that one counts.
                let mine = stored.customer_id == customer_id;
                if mine {
                    self.cache_token(customer_id, issued.token);
                }
                (stored, !mine)
            }
        };
        // It goes into URL paths: only plain identifiers.
        if !valid_identifier(&guest.customer_id) {
            return Err(ConnectorError::Malformed(
                "SLAS guest without a usable customer_id".into(),
            ));
        }
        let customer_path = format!(
            "/customer/shopper-customers/v1/organizations/{{organizationId}}/customers/{}",
            guest.customer_id
        );
        Ok(OrderShopper {
            merchant: order.merchant_id,
            order: order.id,
            anycart_id: order.id.to_string(),
            customer_id: guest.customer_id,
            refresh_token: Mutex::new(guest.refresh_token),
            resumed,
            customer_path,
        })
    }
}

/// A token response made into a cached token, renewed [`TOKEN_EXPIRY_MARGIN_S`]
/// before it expires, with what identifies the shopper.
fn issued_from(t: TokenResponse) -> Result<Issued, ConnectorError> {
    if t.access_token.is_empty() || t.expires_in <= 0 {
        return Err(ConnectorError::Malformed(
            "SLAS token response without a usable access token".into(),
        ));
    }
    let lifetime_s = u64::try_from(t.expires_in - TOKEN_EXPIRY_MARGIN_S).unwrap_or(0);
    Ok(Issued {
        token: Token {
            access: SecretString::from(t.access_token),
            customer_id: t.customer_id,
            renew_at: Instant::now() + Duration::from_secs(lifetime_s),
        },
        usid: t.usid,
        refresh_token: t
            .refresh_token
            .filter(|r| !r.is_empty())
            .map(SecretString::from),
        refresh_expires_in_s: refresh_lifetime_s(t.refresh_token_expires_in),
    })
}

/// SLAS's `refresh_token_expires_in` (a JSON number of seconds) in whole seconds;
/// missing or odd values fall back to the documented default.
// The cast is of a value checked to be positive and far below i64::MAX.
#[allow(clippy::cast_possible_truncation)]
fn refresh_lifetime_s(seconds: Option<f64>) -> i64 {
    match seconds {
        Some(s) if s.is_finite() && (1.0..1e10).contains(&s) => s as i64,
        _ => GUEST_REFRESH_LIFETIME_S_DEFAULT,
    }
}

/// Wall-clock unix ms (when a guest was recorded; SLAS's expiries are relative).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_lifetimes_are_whole_seconds_and_odd_ones_the_documented_default() {
        assert_eq!(refresh_lifetime_s(Some(2_592_000.0)), 2_592_000);
        assert_eq!(refresh_lifetime_s(Some(7_776_000.9)), 7_776_000);
        for odd in [
            None,
            Some(0.0),
            Some(-5.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(1e300),
        ] {
            assert_eq!(
                refresh_lifetime_s(odd),
                GUEST_REFRESH_LIFETIME_S_DEFAULT,
                "{odd:?}"
            );
        }
    }
}
