//! Returning shoppers of the checkout widget: saved profiles, one-time sign-in
//! codes, shopper tokens and "remember me" opt-ins.
//!
//! Everything is keyed by merchant and a normalised email: a profile saved with one
//! merchant is invisible to every other. The store holds no secret in clear that a
//! reader could replay: codes are stored as a keyed hash (HMAC, computed by the
//! server), shopper tokens as SHA-256. The saved payment token is the provider's
//! reusable token, never a card number.

mod sign_in;

pub use sign_in::{CodeIssue, CodeLimits, LiveShopperCode, NewShopperCode, ShopperTokenRecord};

use crate::script::{Outcome, Statement};
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::values::Address;
use anycart_core::{MerchantId, SessionId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

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
    /// The provider the token belongs to (`sandbox`, `stripe`): a card saved with
    /// one is never presented to another.
    pub payment_provider: String,
    /// The provider's customer the card is saved on (Stripe `cus_…`).
    pub provider_customer: Option<String>,
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

/// How long an unpaid "remember me" opt-in is kept before the purge drops it.
pub const SHOPPER_OPTIN_TTL_MS: i64 = 24 * 3_600_000;

// Saved profiles.

/// A `shoppers` row.
#[derive(sqlx::FromRow)]
struct ProfileRow {
    merchant_id: String,
    email: String,
    doc: String,
    payment_token: String,
    payment_provider: Option<String>,
    provider_customer: Option<String>,
    card_brand: Option<String>,
    card_last4: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<ProfileRow> for ShopperProfile {
    type Error = StoreError;

    fn try_from(row: ProfileRow) -> StoreResult<Self> {
        Ok(ShopperProfile {
            merchant_id: parse_id(&row.merchant_id)?,
            email: row.email,
            details: serde_json::from_str(&row.doc)?,
            payment_token: SecretString::from(row.payment_token),
            // Profiles saved before providers were recorded are the sandbox's.
            payment_provider: row.payment_provider.unwrap_or_else(|| "sandbox".into()),
            provider_customer: row.provider_customer,
            card_brand: row.card_brand,
            card_last4: row.card_last4,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

/// `created_at_ms` is kept from the first save.
const UPSERT_SHOPPER: &str = r"
INSERT INTO shoppers (merchant_id, email, doc, payment_token, payment_provider,
                      provider_customer, card_brand, card_last4, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (merchant_id, email) DO UPDATE
   SET doc = excluded.doc,
       payment_token = excluded.payment_token,
       payment_provider = excluded.payment_provider,
       provider_customer = excluded.provider_customer,
       card_brand = excluded.card_brand,
       card_last4 = excluded.card_last4,
       updated_at_ms = excluded.updated_at_ms";

const SELECT_SHOPPER: &str = r"
SELECT merchant_id, email, doc, payment_token, payment_provider, provider_customer,
       card_brand, card_last4, created_at_ms, updated_at_ms
  FROM shoppers
 WHERE merchant_id = $1 AND email = $2";

impl Store {
    /// Saves (or replaces) the profile of `(merchant, email)`; `created_at_ms` is kept
    /// from the first save.
    pub async fn upsert_shopper(&self, p: &ShopperProfile) -> StoreResult<()> {
        sqlx::query(UPSERT_SHOPPER)
            .bind(p.merchant_id.to_string())
            .bind(p.email.clone())
            .bind(serde_json::to_string(&p.details)?)
            .bind(p.payment_token.expose_secret().to_string())
            .bind(p.payment_provider.clone())
            .bind(p.provider_customer.clone())
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
        sqlx::query_as::<_, ProfileRow>(SELECT_SHOPPER)
            .bind(merchant.to_string())
            .bind(email.to_string())
            .fetch_optional(&self.write)
            .await?
            .map(ShopperProfile::try_from)
            .transpose()
    }
}

// "Remember me" opt-ins.

const DELETE_SHOPPER_OPTIN: &str = r"
DELETE FROM shopper_optins
 WHERE merchant_id = $1 AND session_id = $2";

const UPSERT_SHOPPER_OPTIN: &str = r"
INSERT INTO shopper_optins (merchant_id, session_id, token_hash, created_at_ms)
VALUES ($1, $2, $3, $4)
    ON CONFLICT (merchant_id, session_id) DO UPDATE
   SET token_hash = excluded.token_hash,
       created_at_ms = excluded.created_at_ms";

const SELECT_SHOPPER_OPTIN: &str = r"
SELECT token_hash
  FROM shopper_optins
 WHERE merchant_id = $1 AND session_id = $2";

/// Read and removed in one statement, so a paid session's opt-in is used once.
const TAKE_SHOPPER_OPTIN: &str = r"
DELETE FROM shopper_optins
 WHERE merchant_id = $1 AND session_id = $2
RETURNING token_hash";

impl Store {
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
            sqlx::query(DELETE_SHOPPER_OPTIN)
                .bind(merchant.to_string())
                .bind(session.to_string())
                .execute(&self.write)
                .await?;
            return Ok(());
        }
        sqlx::query(UPSERT_SHOPPER_OPTIN)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .bind(token_hash.map(str::to_string))
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A session's opt-in, left in place (the payment sets the card up for later
    /// by it; [`Store::take_shopper_optin`] uses it up): `None` when the shopper
    /// did not tick "remember me", `Some(token_hash)` when they did.
    pub async fn shopper_optin(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>> {
        Ok(sqlx::query_scalar(SELECT_SHOPPER_OPTIN)
            .bind(merchant.to_string())
            .bind(session.to_string())
            .fetch_optional(&self.write)
            .await?)
    }

    /// Removes a session's opt-in and returns it: `None` when the shopper did not
    /// opt in, `Some(token_hash)` when they did.
    pub async fn take_shopper_optin(
        &self,
        merchant: MerchantId,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>> {
        let mut conn = self.write.acquire().await?;
        take_optin(&mut conn, merchant, session).await
    }
}

/// [`Store::take_shopper_optin`] on a connection (or in a transaction).
pub(crate) async fn take_optin(
    conn: &mut sqlx::AnyConnection,
    merchant: MerchantId,
    session: SessionId,
) -> StoreResult<Option<Option<String>>> {
    optin_taken(&take_optin_statement(merchant, session).run(conn).await?)
}

/// The DELETE … RETURNING of [`take_optin`], to run in a script.
pub(crate) fn take_optin_statement(merchant: MerchantId, session: SessionId) -> Statement {
    Statement::new(TAKE_SHOPPER_OPTIN)
        .bind(merchant.to_string())
        .bind(session.to_string())
}

/// The opt-in [`take_optin_statement`] removed, if any.
pub(crate) fn optin_taken(done: &Outcome) -> StoreResult<Option<Option<String>>> {
    use sqlx::Row;
    Ok(done
        .rows
        .first()
        .map(|row| row.try_get::<Option<String>, _>(0))
        .transpose()?)
}

// Forgetting and purging.

const DELETE_SHOPPER: &str = r"
DELETE FROM shoppers
 WHERE merchant_id = $1 AND email = $2";

const SELECT_SHOPPER_EMAILS_PAGE: &str = r"
SELECT email
  FROM shoppers
 WHERE merchant_id = $1
 ORDER BY email
 LIMIT $2";

const DELETE_SHOPPER_TOKENS_OF_EMAIL: &str = r"
DELETE FROM shopper_tokens
 WHERE merchant_id = $1 AND email = $2";

const DELETE_SHOPPER_CODES_OF_EMAIL: &str = r"
DELETE FROM shopper_codes
 WHERE merchant_id = $1 AND email = $2";

const DELETE_EXPIRED_SHOPPER_CODES: &str = r"
DELETE FROM shopper_codes
 WHERE expires_at_ms <= $1";

const DELETE_EXPIRED_SHOPPER_TOKENS: &str = r"
DELETE FROM shopper_tokens
 WHERE expires_at_ms <= $1";

const DELETE_OPTINS_CREATED_BY: &str = r"
DELETE FROM shopper_optins
 WHERE created_at_ms <= $1";

impl Store {
    /// Forgets a returning shopper of `merchant` (a privacy request): their saved
    /// details, sign-in tokens and pending codes, in one transaction. Returns
    /// whether saved details existed.
    pub async fn forget_shopper(&self, merchant: MerchantId, email: &str) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let profiles = sqlx::query(DELETE_SHOPPER)
            .bind(merchant.to_string())
            .bind(email.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [
            DELETE_SHOPPER_TOKENS_OF_EMAIL,
            DELETE_SHOPPER_CODES_OF_EMAIL,
        ] {
            sqlx::query(sql)
                .bind(merchant.to_string())
                .bind(email.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(profiles > 0)
    }

    /// The emails of `merchant`'s saved shoppers, first `limit` in email order: what
    /// forgetting a whole shop walks (each forgotten email leaves the list).
    pub async fn shopper_emails(
        &self,
        merchant: MerchantId,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar::<_, String>(SELECT_SHOPPER_EMAILS_PAGE)
            .bind(merchant.to_string())
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?)
    }

    /// Deletes expired codes and tokens and stale opt-ins. Returns the rows removed.
    pub async fn purge_shopper_secrets(&self, now_ms: i64) -> StoreResult<u64> {
        let mut removed = 0;
        for (sql, cutoff) in [
            (DELETE_EXPIRED_SHOPPER_CODES, now_ms),
            (DELETE_EXPIRED_SHOPPER_TOKENS, now_ms),
            (DELETE_OPTINS_CREATED_BY, now_ms - SHOPPER_OPTIN_TTL_MS),
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
