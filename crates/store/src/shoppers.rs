//! Returning shoppers of the checkout widget: saved profiles, one-time sign-in
//! codes, shopper tokens and "remember me" opt-ins.
//!
//! Everything is keyed by merchant and a normalised email: a profile saved with one
//! merchant is invisible to every other. The store holds no secret in clear that a
//! reader could replay: codes are stored as a keyed hash (HMAC, computed by the
//! server), shopper tokens as SHA-256. The saved payment token is the provider's
//! reusable token, never a card number.

use crate::{Store, StoreResult};
use anycart_core::values::Address;
use anycart_core::{MerchantId, SessionId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// The checkout details a shopper saved (one JSON document: read and written whole).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDetails {
    /// Given name from the buyer block, if any.
    pub first_name: Option<String>,
    /// Family name from the buyer block, if any.
    pub last_name: Option<String>,
    /// Contact phone, if any.
    pub phone_number: Option<String>,
    /// Where the last remembered order was shipped.
    pub address: Option<Address>,
    /// The shipping rate chosen then (`shr_…`); offered first if it is still available.
    pub shipping_rate_id: Option<String>,
}

/// A saved shopper profile. Not `Debug`-printable with its token: see the manual impl.
#[derive(Clone)]
pub struct ShopperProfile {
    pub merchant_id: MerchantId,
    /// Normalised (trimmed, lowercased) email.
    pub email: String,
    pub details: SavedDetails,
    /// The payment provider's reusable token; only the server ever reads it.
    pub payment_token: SecretString,
    /// `visa`, `mastercard`… for display.
    pub card_brand: Option<String>,
    /// Last four digits for display.
    pub card_last4: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl std::fmt::Debug for ShopperProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopperProfile")
            .field("merchant_id", &self.merchant_id)
            .field("card_brand", &self.card_brand)
            .field("card_last4", &self.card_last4)
            .finish_non_exhaustive()
    }
}

/// A one-time code to store (its keyed hash only).
#[derive(Clone, Debug)]
pub struct NewShopperCode {
    /// A random row id.
    pub id: String,
    pub merchant_id: MerchantId,
    pub email: String,
    /// Hex HMAC of the code under the server's secret.
    pub code_mac: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// How many codes may be issued within a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct CodeLimits {
    pub window_ms: i64,
    pub per_email: i64,
    pub per_merchant: i64,
}

/// The result of asking for a new code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeIssue {
    /// Stored; older live codes of the email are superseded.
    Issued,
    /// The email already had `per_email` codes in the window; nothing stored.
    EmailLimited,
    /// The merchant already issued `per_merchant` codes in the window; nothing stored.
    MerchantLimited,
}

/// The live code of an email, for verification.
#[derive(Clone, Debug)]
pub struct LiveShopperCode {
    pub id: String,
    pub code_mac: String,
    pub attempts: i64,
}

/// A verified shopper's token (looked up by hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopperTokenRecord {
    pub merchant_id: MerchantId,
    pub email: String,
    pub expires_at_ms: i64,
}

/// How long an unpaid "remember me" opt-in is kept before the purge drops it.
pub const SHOPPER_OPTIN_TTL_MS: i64 = 24 * 3_600_000;

fn profile_from_row(r: &sqlx::any::AnyRow) -> StoreResult<ShopperProfile> {
    Ok(ShopperProfile {
        merchant_id: crate::parse_id(&r.try_get::<String, _>("merchant_id")?)?,
        email: r.try_get("email")?,
        details: serde_json::from_str(&r.try_get::<String, _>("doc")?)?,
        payment_token: SecretString::from(r.try_get::<String, _>("payment_token")?),
        card_brand: r.try_get("card_brand")?,
        card_last4: r.try_get("card_last4")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

impl Store {
    /// Saves (or replaces) the profile of `(merchant, email)`; `created_at_ms` is kept
    /// from the first save.
    pub async fn upsert_shopper(&self, p: &ShopperProfile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shoppers (merchant_id, email, doc, payment_token, card_brand, card_last4, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (merchant_id, email) DO UPDATE SET doc = excluded.doc, payment_token = excluded.payment_token, \
             card_brand = excluded.card_brand, card_last4 = excluded.card_last4, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(p.merchant_id.to_string())
        .bind(p.email.clone())
        .bind(serde_json::to_string(&p.details)?)
        .bind(p.payment_token.expose_secret().to_string())
        .bind(p.card_brand.clone())
        .bind(p.card_last4.clone())
        .bind(p.created_at_ms)
        .bind(p.updated_at_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The profile of `(merchant, email)`, if one was saved.
    pub async fn get_shopper(
        &self,
        merchant: MerchantId,
        email: &str,
    ) -> StoreResult<Option<ShopperProfile>> {
        let row = sqlx::query(
            "SELECT merchant_id, email, doc, payment_token, card_brand, card_last4, created_at_ms, updated_at_ms \
             FROM shoppers WHERE merchant_id = $1 AND email = $2",
        )
        .bind(merchant.to_string())
        .bind(email.to_string())
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(profile_from_row).transpose()
    }

    /// Stores a new code unless a rate limit is reached, superseding the email's
    /// older live codes. One transaction that first locks the merchant row, so
    /// concurrent requests on PostgreSQL cannot both pass the count (SQLite has a
    /// single writer anyway).
    pub async fn issue_shopper_code(
        &self,
        code: &NewShopperCode,
        limits: CodeLimits,
    ) -> StoreResult<CodeIssue> {
        let merchant = code.merchant_id.to_string();
        let since = code.created_at_ms - limits.window_ms;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE merchants SET id = id WHERE id = $1")
            .bind(merchant.clone())
            .execute(&mut *tx)
            .await?;
        let count = |sql: &'static str, email: Option<String>| {
            let q = sqlx::query(sql).bind(merchant.clone()).bind(since);
            match email {
                Some(e) => q.bind(e),
                None => q,
            }
        };
        let by_merchant: i64 = count(
            "SELECT COUNT(*) AS n FROM shopper_codes WHERE merchant_id = $1 AND created_at_ms > $2",
            None,
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if by_merchant >= limits.per_merchant {
            return Ok(CodeIssue::MerchantLimited);
        }
        let by_email: i64 = count(
            "SELECT COUNT(*) AS n FROM shopper_codes WHERE merchant_id = $1 AND created_at_ms > $2 AND email = $3",
            Some(code.email.clone()),
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if by_email >= limits.per_email {
            return Ok(CodeIssue::EmailLimited);
        }
        sqlx::query("UPDATE shopper_codes SET consumed = 1 WHERE merchant_id = $1 AND email = $2 AND consumed = 0")
            .bind(merchant.clone())
            .bind(code.email.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO shopper_codes (id, merchant_id, email, code_mac, attempts, consumed, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, 0, 0, $5, $6)",
        )
        .bind(code.id.clone())
        .bind(merchant)
        .bind(code.email.clone())
        .bind(code.code_mac.clone())
        .bind(code.created_at_ms)
        .bind(code.expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CodeIssue::Issued)
    }

    /// The newest unconsumed, unexpired code of `(merchant, email)`.
    pub async fn live_shopper_code(
        &self,
        merchant: MerchantId,
        email: &str,
        now_ms: i64,
    ) -> StoreResult<Option<LiveShopperCode>> {
        let row = sqlx::query(
            "SELECT id, code_mac, attempts FROM shopper_codes \
             WHERE merchant_id = $1 AND email = $2 AND consumed = 0 AND expires_at_ms > $3 \
             ORDER BY created_at_ms DESC LIMIT 1",
        )
        .bind(merchant.to_string())
        .bind(email.to_string())
        .bind(now_ms)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| {
            Ok(LiveShopperCode {
                id: r.try_get("id")?,
                code_mac: r.try_get("code_mac")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Counts a wrong guess; false when the code was already used up (by
    /// `attempts_max` wrong guesses or a success), so concurrent guesses cannot
    /// exceed the limit.
    pub async fn fail_shopper_code(&self, id: &str, attempts_max: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE shopper_codes SET attempts = attempts + 1 WHERE id = $1 AND consumed = 0 AND attempts < $2",
        )
        .bind(id.to_string())
        .bind(attempts_max)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a code used; true for exactly one caller, and only while it has attempts
    /// left and has not expired.
    pub async fn consume_shopper_code(
        &self,
        id: &str,
        attempts_max: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE shopper_codes SET consumed = 1 WHERE id = $1 AND consumed = 0 AND attempts < $2 AND expires_at_ms > $3",
        )
        .bind(id.to_string())
        .bind(attempts_max)
        .bind(now_ms)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a shopper token by its hash.
    pub async fn insert_shopper_token(
        &self,
        token_hash: &str,
        t: &ShopperTokenRecord,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shopper_tokens (token_hash, merchant_id, email, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_string())
        .bind(t.merchant_id.to_string())
        .bind(t.email.clone())
        .bind(now_ms)
        .bind(t.expires_at_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The unexpired token of `merchant` with this hash (other merchants' tokens are
    /// not found).
    pub async fn find_shopper_token(
        &self,
        merchant: MerchantId,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<ShopperTokenRecord>> {
        let row = sqlx::query(
            "SELECT merchant_id, email, expires_at_ms FROM shopper_tokens WHERE token_hash = $1 AND merchant_id = $2 AND expires_at_ms > $3",
        )
        .bind(token_hash.to_string())
        .bind(merchant.to_string())
        .bind(now_ms)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| {
            Ok(ShopperTokenRecord {
                merchant_id: crate::parse_id(&r.try_get::<String, _>("merchant_id")?)?,
                email: r.try_get("email")?,
                expires_at_ms: r.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    /// Forgets a returning shopper of `merchant` (a privacy request): their saved
    /// details, sign-in tokens and pending codes, in one transaction. Returns
    /// whether saved details existed.
    pub async fn forget_shopper(&self, merchant: MerchantId, email: &str) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let mut existed = false;
        for table in ["shoppers", "shopper_tokens", "shopper_codes"] {
            let sql = format!("DELETE FROM {table} WHERE merchant_id = $1 AND email = $2");
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(merchant.to_string())
                .bind(email.to_string())
                .execute(&mut *tx)
                .await?;
            existed |= table == "shoppers" && done.rows_affected() > 0;
        }
        tx.commit().await?;
        Ok(existed)
    }

    /// Ends a shopper token early ("Not you?"). Removing an unknown one is not an error.
    pub async fn delete_shopper_token(
        &self,
        merchant: MerchantId,
        token_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM shopper_tokens WHERE token_hash = $1 AND merchant_id = $2")
            .bind(token_hash.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records (or, with `remember` false, withdraws) "remember me" for a session,
    /// with the hash of the shopper token held at the time, if any.
    pub async fn set_shopper_optin(
        &self,
        merchant: MerchantId,
        session: SessionId,
        remember: bool,
        token_hash: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        if !remember {
            sqlx::query("DELETE FROM shopper_optins WHERE merchant_id = $1 AND session_id = $2")
                .bind(merchant.to_string())
                .bind(session.to_string())
                .execute(&self.write)
                .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO shopper_optins (merchant_id, session_id, token_hash, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (merchant_id, session_id) DO UPDATE SET token_hash = excluded.token_hash, created_at_ms = excluded.created_at_ms",
        )
        .bind(merchant.to_string())
        .bind(session.to_string())
        .bind(token_hash.map(str::to_string))
        .bind(now_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Removes a session's opt-in and returns it: `None` when the shopper did not
    /// opt in, `Some(token_hash)` when they did.
    pub async fn take_shopper_optin(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>> {
        let row = sqlx::query(
            "DELETE FROM shopper_optins WHERE merchant_id = $1 AND session_id = $2 RETURNING token_hash",
        )
        .bind(merchant.to_string())
        .bind(session.to_string())
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| r.try_get::<Option<String>, _>("token_hash"))
            .transpose()
            .map_err(Into::into)
    }

    /// Deletes expired codes and tokens and stale opt-ins. Returns the rows removed.
    pub async fn purge_shopper_secrets(&self, now_ms: i64) -> StoreResult<u64> {
        let mut removed = 0;
        for (sql, cutoff) in [
            (
                "DELETE FROM shopper_codes WHERE expires_at_ms <= $1",
                now_ms,
            ),
            (
                "DELETE FROM shopper_tokens WHERE expires_at_ms <= $1",
                now_ms,
            ),
            (
                "DELETE FROM shopper_optins WHERE created_at_ms <= $1",
                now_ms - SHOPPER_OPTIN_TTL_MS,
            ),
        ] {
            removed += sqlx::query(sql)
                .bind(cutoff)
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }
}
