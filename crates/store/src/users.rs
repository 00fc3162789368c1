//! Merchant dashboard users, their one-time sign-in links, their sessions and the
//! failed sign-ins that rate-limit password guessing. Secrets (link and session
//! tokens) are stored only as SHA-256 hashes; passwords only as argon2id strings
//! the checkout service computes.

use crate::{Store, StoreError, StoreResult, found, parse_id};
use anycart_core::{MerchantId, UserId};

/// What a dashboard user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRole {
    /// Everything, including API keys and platform connections.
    Owner,
    /// Placements, orders, analytics; not keys or connections.
    Staff,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Owner => "owner",
            UserRole::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<UserRole> {
        match s {
            "owner" => Some(UserRole::Owner),
            "staff" => Some(UserRole::Staff),
            _ => None,
        }
    }
}

/// A dashboard user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardUser {
    pub id: UserId,
    pub merchant_id: MerchantId,
    /// Lower-cased.
    pub email: String,
    pub role: UserRole,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    pub created_at_ms: i64,
}

/// A live dashboard session, as found by its token's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardSession {
    pub user: DashboardUser,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    merchant_id: String,
    email: String,
    role: String,
    password_hash: Option<String>,
    created_at_ms: i64,
}

impl TryFrom<UserRow> for DashboardUser {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        Ok(DashboardUser {
            id: parse_id(&row.id)?,
            merchant_id: parse_id(&row.merchant_id)?,
            role: UserRole::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("bad role `{}`", row.role)))?,
            email: row.email,
            password_hash: row.password_hash,
            created_at_ms: row.created_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    merchant_id: String,
    email: String,
    role: String,
    password_hash: Option<String>,
    created_at_ms: i64,
    session_created_at_ms: i64,
    expires_at_ms: i64,
}

const INSERT_USER: &str = r"
INSERT INTO dashboard_users (id, merchant_id, email, role, password_hash, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_USER_BY_EMAIL: &str = r"
SELECT id, merchant_id, email, role, password_hash, created_at_ms
  FROM dashboard_users
 WHERE email = $1";

const SELECT_USERS_OF_MERCHANT: &str = r"
SELECT id, merchant_id, email, role, password_hash, created_at_ms
  FROM dashboard_users
 WHERE merchant_id = $1
 ORDER BY id";

const UPDATE_PASSWORD: &str = r"
UPDATE dashboard_users
   SET password_hash = $3
 WHERE id = $1 AND merchant_id = $2";

const INSERT_LINK: &str = r"
INSERT INTO dashboard_sign_in_links (token_hash, user_id, expires_at_ms)
VALUES ($1, $2, $3)";

/// Spends a link: only an unused, unexpired one matches, once.
const SPEND_LINK: &str = r"
UPDATE dashboard_sign_in_links
   SET used_at_ms = $2
 WHERE token_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2
RETURNING user_id";

const SELECT_USER_BY_ID: &str = r"
SELECT id, merchant_id, email, role, password_hash, created_at_ms
  FROM dashboard_users
 WHERE id = $1";

const INSERT_SESSION: &str = r"
INSERT INTO dashboard_sessions (token_hash, user_id, merchant_id, created_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, $5)";

const SELECT_LIVE_SESSION: &str = r"
SELECT u.id, u.merchant_id, u.email, u.role, u.password_hash, u.created_at_ms,
       s.created_at_ms AS session_created_at_ms, s.expires_at_ms
  FROM dashboard_sessions s
  JOIN dashboard_users u ON u.id = s.user_id AND u.merchant_id = s.merchant_id
 WHERE s.token_hash = $1 AND s.revoked_at_ms IS NULL AND s.expires_at_ms > $2";

const REVOKE_SESSION: &str = r"
UPDATE dashboard_sessions
   SET revoked_at_ms = $2
 WHERE token_hash = $1 AND revoked_at_ms IS NULL";

const REVOKE_USER_SESSIONS: &str = r"
UPDATE dashboard_sessions
   SET revoked_at_ms = $3
 WHERE user_id = $1 AND merchant_id = $2 AND revoked_at_ms IS NULL";

const INSERT_FAILURE: &str = r"
INSERT INTO dashboard_sign_in_failures (email_hash, at_ms)
VALUES ($1, $2)";

const DELETE_OLD_FAILURES: &str = r"
DELETE FROM dashboard_sign_in_failures
 WHERE email_hash = $1 AND at_ms <= $2";

const COUNT_FAILURES: &str = r"
SELECT COUNT(*)
  FROM dashboard_sign_in_failures
 WHERE email_hash = $1 AND at_ms > $2";

/// Dashboard secrets kept after they stop working, for the audit trail of a day.
pub const DASHBOARD_SECRETS_RETENTION_MS: i64 = 24 * 3_600_000;

const PURGE_SESSIONS: &str = r"
DELETE FROM dashboard_sessions
 WHERE expires_at_ms < $1 OR revoked_at_ms < $1";

const PURGE_LINKS: &str = r"
DELETE FROM dashboard_sign_in_links
 WHERE expires_at_ms < $1";

const PURGE_FAILURES: &str = r"
DELETE FROM dashboard_sign_in_failures
 WHERE at_ms < $1";

impl Store {
    /// Deletes sessions, links and failed sign-ins that stopped mattering more
    /// than [`DASHBOARD_SECRETS_RETENTION_MS`] before `now_ms`; how many rows.
    pub async fn purge_dashboard_secrets(&self, now_ms: i64) -> StoreResult<u64> {
        let before = now_ms - DASHBOARD_SECRETS_RETENTION_MS;
        let mut n = 0;
        for statement in [PURGE_SESSIONS, PURGE_LINKS, PURGE_FAILURES] {
            n += sqlx::query(statement)
                .bind(before)
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// Adds a user; [`StoreError::Duplicate`] when the email is taken.
    pub async fn create_dashboard_user(&self, user: &DashboardUser) -> StoreResult<()> {
        sqlx::query(INSERT_USER)
            .bind(user.id.to_string())
            .bind(user.merchant_id.to_string())
            .bind(user.email.clone())
            .bind(user.role.as_str())
            .bind(user.password_hash.clone())
            .bind(user.created_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The user with this (lower-cased) email, whatever their merchant.
    pub async fn find_dashboard_user(&self, email: &str) -> StoreResult<Option<DashboardUser>> {
        sqlx::query_as::<_, UserRow>(SELECT_USER_BY_EMAIL)
            .bind(email.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(DashboardUser::try_from)
            .transpose()
    }

    /// A merchant's users.
    pub async fn list_dashboard_users(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Vec<DashboardUser>> {
        sqlx::query_as::<_, UserRow>(SELECT_USERS_OF_MERCHANT)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(DashboardUser::try_from)
            .collect()
    }

    /// Replaces a user's password hash.
    pub async fn set_dashboard_password(
        &self,
        merchant: MerchantId,
        user: UserId,
        password_hash: &str,
    ) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_PASSWORD)
            .bind(user.to_string())
            .bind(merchant.to_string())
            .bind(password_hash.to_string())
            .execute(&self.write)
            .await?;
        found(done)
    }

    /// Records a one-time sign-in link (by its token's hash).
    pub async fn create_sign_in_link(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_LINK)
            .bind(token_hash.to_string())
            .bind(user.to_string())
            .bind(expires_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Spends a link: its user if it was unused and unexpired at `now_ms`, else
    /// `None` (and a link is never spent twice, even by racing requests).
    pub async fn spend_sign_in_link(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<DashboardUser>> {
        let user: Option<(String,)> = sqlx::query_as(SPEND_LINK)
            .bind(token_hash.to_string())
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?;
        let Some((user,)) = user else {
            return Ok(None);
        };
        sqlx::query_as::<_, UserRow>(SELECT_USER_BY_ID)
            .bind(user)
            .fetch_optional(&self.write)
            .await?
            .map(DashboardUser::try_from)
            .transpose()
    }

    /// Starts a session for `user` (by its token's hash).
    pub async fn create_dashboard_session(
        &self,
        user: &DashboardUser,
        token_hash: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_SESSION)
            .bind(token_hash.to_string())
            .bind(user.id.to_string())
            .bind(user.merchant_id.to_string())
            .bind(now_ms)
            .bind(expires_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The live (unrevoked, unexpired at `now_ms`) session with this token hash.
    pub async fn find_dashboard_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<DashboardSession>> {
        let row: Option<SessionRow> = sqlx::query_as(SELECT_LIVE_SESSION)
            .bind(token_hash.to_string())
            .bind(now_ms)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(DashboardSession {
                created_at_ms: r.session_created_at_ms,
                expires_at_ms: r.expires_at_ms,
                user: DashboardUser::try_from(UserRow {
                    id: r.id,
                    merchant_id: r.merchant_id,
                    email: r.email,
                    role: r.role,
                    password_hash: r.password_hash,
                    created_at_ms: r.created_at_ms,
                })?,
            })
        })
        .transpose()
    }

    /// Ends one session (sign-out). Ending an ended session is not an error.
    pub async fn revoke_dashboard_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query(REVOKE_SESSION)
            .bind(token_hash.to_string())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Ends every session of a user of `merchant`; how many were live.
    pub async fn revoke_user_sessions(
        &self,
        merchant: MerchantId,
        user: UserId,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(REVOKE_USER_SESSIONS)
            .bind(user.to_string())
            .bind(merchant.to_string())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records a failed sign-in for `email_hash` and forgets that email's failures
    /// older than `window_start_ms`; returns the failures in the window.
    pub async fn record_sign_in_failure(
        &self,
        email_hash: &str,
        now_ms: i64,
        window_start_ms: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(DELETE_OLD_FAILURES)
            .bind(email_hash.to_string())
            .bind(window_start_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_FAILURE)
            .bind(email_hash.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let (n,): (i64,) = sqlx::query_as(COUNT_FAILURES)
            .bind(email_hash.to_string())
            .bind(window_start_ms)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Failed sign-ins for `email_hash` after `window_start_ms`.
    pub async fn count_sign_in_failures(
        &self,
        email_hash: &str,
        window_start_ms: i64,
    ) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as(COUNT_FAILURES)
            .bind(email_hash.to_string())
            .bind(window_start_ms)
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
