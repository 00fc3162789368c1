//! The platform guest shopper each anycart order is placed as (see
//! `migrations/0022_platform_guests.sql`): Salesforce B2C Commerce places an order as
//! a SLAS guest, and a retry must act as that same guest to find what an earlier
//! attempt created. The guest is recorded in its own committed step before anything
//! is created on the platform; its refresh token is sealed like platform credentials.
//!
//! The first guest recorded for an order wins ([`Store::record_platform_guest`]
//! inserts only when none is there and returns what is stored), so two attempts can
//! never end up as two guests.

use crate::{Store, StoreResult, found, parse_id};
use anycart_core::{MerchantId, OrderId};
use secrecy::{ExposeSecret, SecretString};

/// The guest shopper one order is placed as on one platform.
#[derive(Clone, Debug)]
pub struct PlatformGuest {
    pub merchant_id: MerchantId,
    pub order_id: OrderId,
    /// `salesforce`.
    pub platform: String,
    /// The guest as the platform identifies it (SLAS `customer_id`).
    pub customer_id: String,
    /// SLAS's `usid` of the guest, as it returned it (kept for support).
    pub usid: Option<String>,
    /// What makes the platform issue tokens for this same guest again.
    pub refresh_token: SecretString,
    /// When the platform said the refresh token stops working.
    pub refresh_expires_at_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct GuestRow {
    merchant_id: String,
    order_id: String,
    platform: String,
    customer_id: String,
    usid: Option<String>,
    sealed_refresh_token: String,
    refresh_expires_at_ms: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl GuestRow {
    fn into_guest(self, store: &Store) -> StoreResult<PlatformGuest> {
        let merchant: MerchantId = parse_id(&self.merchant_id)?;
        Ok(PlatformGuest {
            merchant_id: merchant,
            order_id: parse_id(&self.order_id)?,
            platform: self.platform,
            customer_id: self.customer_id,
            usid: self.usid,
            refresh_token: SecretString::from(
                store.open_credentials(merchant, &self.sealed_refresh_token)?,
            ),
            refresh_expires_at_ms: self.refresh_expires_at_ms,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

/// First guest wins: a second attempt's insert changes nothing.
const INSERT_GUEST: &str = r"
INSERT INTO platform_guests (merchant_id, order_id, platform, customer_id, usid,
                             sealed_refresh_token, refresh_expires_at_ms, created_at_ms,
                             updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
ON CONFLICT (merchant_id, order_id, platform) DO NOTHING";

const SELECT_GUEST: &str = r"
SELECT merchant_id, order_id, platform, customer_id, usid, sealed_refresh_token,
       refresh_expires_at_ms, created_at_ms, updated_at_ms
  FROM platform_guests
 WHERE merchant_id = $1 AND order_id = $2 AND platform = $3";

/// A platform that voids the old refresh token on every refresh hands out a new one.
const UPDATE_GUEST_REFRESH_TOKEN: &str = r"
UPDATE platform_guests
   SET sealed_refresh_token = $4, refresh_expires_at_ms = $5, updated_at_ms = $6
 WHERE merchant_id = $1 AND order_id = $2 AND platform = $3";

impl Store {
    /// Records `guest` as the shopper its order is placed as, unless one is recorded
    /// already; returns the one stored (the first), which the caller must use.
    pub async fn record_platform_guest(&self, guest: &PlatformGuest) -> StoreResult<PlatformGuest> {
        debug_assert!(!guest.customer_id.is_empty());
        let sealed =
            self.seal_credentials(guest.merchant_id, guest.refresh_token.expose_secret())?;
        sqlx::query(INSERT_GUEST)
            .bind(guest.merchant_id.to_string())
            .bind(guest.order_id.to_string())
            .bind(guest.platform.clone())
            .bind(guest.customer_id.clone())
            .bind(guest.usid.clone())
            .bind(sealed)
            .bind(guest.refresh_expires_at_ms)
            .bind(guest.created_at_ms)
            .execute(&self.write)
            .await?;
        let stored = self
            .platform_guest(guest.merchant_id, guest.order_id, &guest.platform)
            .await?;
        // Read after write, on the writer: the row is there now.
        stored.ok_or(crate::StoreError::NotFound)
    }

    /// The guest `order` is placed as on `platform`, if one was recorded.
    pub async fn platform_guest(
        &self,
        merchant: MerchantId,
        order: OrderId,
        platform: &str,
    ) -> StoreResult<Option<PlatformGuest>> {
        let row: Option<GuestRow> = sqlx::query_as(SELECT_GUEST)
            .bind(merchant.to_string())
            .bind(order.to_string())
            .bind(platform.to_string())
            .fetch_optional(&self.write)
            .await?;
        row.map(|r| r.into_guest(self)).transpose()
    }

    /// Replaces a recorded guest's refresh token (the platform voided the old one).
    pub async fn replace_platform_guest_refresh_token(
        &self,
        merchant: MerchantId,
        order: OrderId,
        platform: &str,
        refresh_token: &SecretString,
        refresh_expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        let sealed = self.seal_credentials(merchant, refresh_token.expose_secret())?;
        let done = sqlx::query(UPDATE_GUEST_REFRESH_TOKEN)
            .bind(merchant.to_string())
            .bind(order.to_string())
            .bind(platform.to_string())
            .bind(sealed)
            .bind(refresh_expires_at_ms)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        found(done)
    }
}
