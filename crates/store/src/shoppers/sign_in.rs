//! Signing in a returning shopper: one-time codes (stored as a keyed hash, rate
//! limited per email and per merchant) and the shopper tokens a verified code buys
//! (stored as SHA-256).

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::MerchantId;
use sqlx::AnyConnection;

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

// One-time sign-in codes.

/// Takes the merchant row's lock, so concurrent issues on PostgreSQL count in turn.
const LOCK_MERCHANT: &str = r"
UPDATE merchants
   SET id = id
 WHERE id = $1";

const COUNT_CODES_OF_MERCHANT_SINCE: &str = r"
SELECT COUNT(*) AS n
  FROM shopper_codes
 WHERE merchant_id = $1 AND created_at_ms > $2";

const COUNT_CODES_OF_EMAIL_SINCE: &str = r"
SELECT COUNT(*) AS n
  FROM shopper_codes
 WHERE merchant_id = $1 AND created_at_ms > $2 AND email = $3";

/// A new code supersedes the email's older live ones.
const SUPERSEDE_CODES_OF_EMAIL: &str = r"
UPDATE shopper_codes
   SET consumed = 1
 WHERE merchant_id = $1 AND email = $2 AND consumed = 0";

const INSERT_SHOPPER_CODE: &str = r"
INSERT INTO shopper_codes (id, merchant_id, email, code_mac, attempts, consumed,
                           created_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, 0, 0, $5, $6)";

const SELECT_LIVE_SHOPPER_CODE: &str = r"
SELECT id, code_mac, attempts
  FROM shopper_codes
 WHERE merchant_id = $1 AND email = $2 AND consumed = 0 AND expires_at_ms > $3
 ORDER BY created_at_ms DESC
 LIMIT 1";

/// Conditional, so concurrent wrong guesses cannot exceed `attempts_max`.
const COUNT_FAILED_ATTEMPT: &str = r"
UPDATE shopper_codes
   SET attempts = attempts + 1
 WHERE id = $1 AND consumed = 0 AND attempts < $2";

/// Conditional, so exactly one caller consumes a code.
const CONSUME_SHOPPER_CODE: &str = r"
UPDATE shopper_codes
   SET consumed = 1
 WHERE id = $1 AND consumed = 0 AND attempts < $2 AND expires_at_ms > $3";

/// A `shopper_codes` row as verification reads it.
#[derive(sqlx::FromRow)]
struct LiveCodeRow {
    id: String,
    code_mac: String,
    attempts: i64,
}

impl From<LiveCodeRow> for LiveShopperCode {
    fn from(row: LiveCodeRow) -> Self {
        LiveShopperCode {
            id: row.id,
            code_mac: row.code_mac,
            attempts: row.attempts,
        }
    }
}

impl Store {
    /// Stores a new code unless a rate limit is reached, superseding the email's
    /// older live codes. One transaction that first locks the merchant row, so
    /// concurrent requests on PostgreSQL cannot both pass the count (SQLite has a
    /// single writer anyway).
    pub async fn issue_shopper_code(
        &self,
        code: &NewShopperCode,
        limits: CodeLimits,
    ) -> StoreResult<CodeIssue> {
        let mut tx = self.write.begin().await?;
        sqlx::query(LOCK_MERCHANT)
            .bind(code.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if let Some(refused) = code_limit_reached(&mut tx, code, limits).await? {
            return Ok(refused);
        }
        sqlx::query(SUPERSEDE_CODES_OF_EMAIL)
            .bind(code.merchant_id.to_string())
            .bind(code.email.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_SHOPPER_CODE)
            .bind(code.id.clone())
            .bind(code.merchant_id.to_string())
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
        Ok(sqlx::query_as::<_, LiveCodeRow>(SELECT_LIVE_SHOPPER_CODE)
            .bind(merchant.to_string())
            .bind(email.to_string())
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?
            .map(LiveShopperCode::from))
    }

    /// Counts a wrong guess; false when the code was already used up (by
    /// `attempts_max` wrong guesses or a success), so concurrent guesses cannot
    /// exceed the limit.
    pub async fn fail_shopper_code(&self, id: &str, attempts_max: i64) -> StoreResult<bool> {
        let done = sqlx::query(COUNT_FAILED_ATTEMPT)
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
        let done = sqlx::query(CONSUME_SHOPPER_CODE)
            .bind(id.to_string())
            .bind(attempts_max)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Which limit, if any, refuses `code`: the merchant's first, then the email's.
async fn code_limit_reached(
    conn: &mut AnyConnection,
    code: &NewShopperCode,
    limits: CodeLimits,
) -> StoreResult<Option<CodeIssue>> {
    let since = code.created_at_ms - limits.window_ms;
    let by_merchant: i64 = sqlx::query_scalar(COUNT_CODES_OF_MERCHANT_SINCE)
        .bind(code.merchant_id.to_string())
        .bind(since)
        .fetch_one(&mut *conn)
        .await?;
    if by_merchant >= limits.per_merchant {
        return Ok(Some(CodeIssue::MerchantLimited));
    }
    let by_email: i64 = sqlx::query_scalar(COUNT_CODES_OF_EMAIL_SINCE)
        .bind(code.merchant_id.to_string())
        .bind(since)
        .bind(code.email.clone())
        .fetch_one(&mut *conn)
        .await?;
    if by_email >= limits.per_email {
        return Ok(Some(CodeIssue::EmailLimited));
    }
    Ok(None)
}

// Shopper tokens.

const INSERT_SHOPPER_TOKEN: &str = r"
INSERT INTO shopper_tokens (token_hash, merchant_id, email, created_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, $5)";

const SELECT_LIVE_SHOPPER_TOKEN: &str = r"
SELECT merchant_id, email, expires_at_ms
  FROM shopper_tokens
 WHERE token_hash = $1 AND merchant_id = $2 AND expires_at_ms > $3";

const DELETE_SHOPPER_TOKEN: &str = r"
DELETE FROM shopper_tokens
 WHERE token_hash = $1 AND merchant_id = $2";

/// A `shopper_tokens` row.
#[derive(sqlx::FromRow)]
struct TokenRow {
    merchant_id: String,
    email: String,
    expires_at_ms: i64,
}

impl TryFrom<TokenRow> for ShopperTokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> StoreResult<Self> {
        Ok(ShopperTokenRecord {
            merchant_id: parse_id(&row.merchant_id)?,
            email: row.email,
            expires_at_ms: row.expires_at_ms,
        })
    }
}

impl Store {
    /// Stores a shopper token by its hash.
    pub async fn insert_shopper_token(
        &self,
        token_hash: &str,
        t: &ShopperTokenRecord,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_SHOPPER_TOKEN)
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
        sqlx::query_as::<_, TokenRow>(SELECT_LIVE_SHOPPER_TOKEN)
            .bind(token_hash.to_string())
            .bind(merchant.to_string())
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?
            .map(ShopperTokenRecord::try_from)
            .transpose()
    }

    /// Ends a shopper token early ("Not you?"). Removing an unknown one is not an error.
    pub async fn delete_shopper_token(
        &self,
        merchant: MerchantId,
        token_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query(DELETE_SHOPPER_TOKEN)
            .bind(token_hash.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
