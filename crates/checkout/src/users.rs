//! Merchant dashboard users: creation, sign-in (password or one-time link),
//! sessions and the CSRF token that goes with each.
//!
//! Passwords are hashed with argon2id ([`password`]); link and session tokens are
//! 32 random bytes shown once and stored as SHA-256 (they carry 256 bits of
//! entropy, so a fast hash is right, as for API keys). Wrong passwords are counted
//! per email over [`SIGN_IN_FAILURE_WINDOW_MS`]; past [`SIGN_IN_FAILURES_MAX`]
//! every password sign-in for that email is refused until the window moves on,
//! right or wrong, so guessing gains nothing (a link still signs in).

pub mod password;

use crate::error::UserError;
use crate::keys::hash_key;
use crate::{CheckoutError, CheckoutResult, CheckoutService};
use anycart_core::values::Email;
use anycart_core::{MerchantId, UserId};
use anycart_store::{DashboardSession, DashboardUser, StoreError, UserRole};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a one-time sign-in link works.
pub const SIGN_IN_LINK_TTL_MS: i64 = 24 * 3_600_000;
/// How long a dashboard session lasts (then the user signs in again).
pub const DASHBOARD_SESSION_TTL_MS: i64 = 12 * 3_600_000;
/// Wrong passwords allowed per email within [`SIGN_IN_FAILURE_WINDOW_MS`].
pub const SIGN_IN_FAILURES_MAX: u64 = 5;
/// The window wrong passwords are counted over.
pub const SIGN_IN_FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// Shortest password accepted.
pub const PASSWORD_LEN_MIN: usize = 10;
/// Longest password accepted (argon2 takes any length; this bounds the work).
pub const PASSWORD_LEN_MAX: usize = 256;
/// Longest token (session, link) looked up; longer ones are refused unread.
pub const TOKEN_LEN_MAX: usize = 128;

const _: () = assert!(SIGN_IN_FAILURES_MAX > 0 && SIGN_IN_FAILURE_WINDOW_MS > 0);
const _: () = assert!(PASSWORD_LEN_MIN <= PASSWORD_LEN_MAX);

/// A signed-in dashboard session: the cookie's token (show once) and its user.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SecretString,
    pub user: DashboardUser,
    pub expires_at_ms: i64,
}

/// A new user and the one-time link token that signs them in.
#[derive(Debug)]
pub struct NewUser {
    pub user: DashboardUser,
    pub link_token: SecretString,
}

/// 32 random bytes as hex, prefixed.
fn new_token(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{prefix}{}", hex::encode(bytes)))
}

/// The CSRF token of a session: derived from the session token (which only the
/// HttpOnly cookie carries), so a page on another site can neither read nor
/// guess it, and nothing more is stored.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("anycart-csrf:{session_token}").as_bytes(),
    ))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The normalised (trimmed, lower-cased) form of a sign-in email.
fn normal_email(raw: &str) -> CheckoutResult<String> {
    let email =
        Email::parse(raw.trim()).map_err(|e| CheckoutError::invalid("$.email", e.to_string()))?;
    Ok(email.as_ref().to_ascii_lowercase())
}

fn check_password(password: &str) -> CheckoutResult<()> {
    let n = password.chars().count();
    if n < PASSWORD_LEN_MIN || password.len() > PASSWORD_LEN_MAX {
        return Err(CheckoutError::invalid(
            "$.password",
            format!("a password has {PASSWORD_LEN_MIN} to {PASSWORD_LEN_MAX} characters"),
        ));
    }
    Ok(())
}

impl CheckoutService {
    /// Adds a dashboard user to `merchant` (with a password when given) and
    /// issues their first one-time sign-in link.
    pub async fn create_user(
        &self,
        merchant: MerchantId,
        email: &str,
        role: UserRole,
        password: Option<&str>,
    ) -> CheckoutResult<NewUser> {
        let email = normal_email(email)?;
        if self.store.get_merchant(merchant).await?.is_none() {
            return Err(CheckoutError::NotFound(crate::Resource::Merchant));
        }
        let password_hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(password::hash(p)?)
            }
            None => None,
        };
        let user = DashboardUser {
            id: UserId::new(),
            merchant_id: merchant,
            email,
            role,
            password_hash,
            created_at_ms: self.now_ms(),
        };
        self.store
            .create_dashboard_user(&user)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => {
                    CheckoutError::invalid("$.email", "a dashboard user with this email exists")
                }
                other => other.into(),
            })?;
        let link_token = self.issue_sign_in_link(&user).await?;
        Ok(NewUser { user, link_token })
    }

    /// A new one-time sign-in link token for `user`.
    pub async fn issue_sign_in_link(&self, user: &DashboardUser) -> CheckoutResult<SecretString> {
        let token = new_token("lnk_");
        self.store
            .create_sign_in_link(
                user.id,
                &hash_key(token.expose_secret()),
                self.now_ms() + SIGN_IN_LINK_TTL_MS,
            )
            .await?;
        Ok(token)
    }

    /// Signs in with email and password. Wrong or unknown: `InvalidCredentials`,
    /// counted; past the limit: `TooManyAttempts` whatever the password.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &str,
    ) -> CheckoutResult<SignedIn> {
        let email = normal_email(email).map_err(|_| UserError::InvalidCredentials)?;
        let email_hash = hash_key(&format!("dashboard-sign-in:{email}"));
        let now = self.now_ms();
        let window_start = now - SIGN_IN_FAILURE_WINDOW_MS;
        if self
            .store
            .count_sign_in_failures(&email_hash, window_start)
            .await?
            >= SIGN_IN_FAILURES_MAX
        {
            return Err(UserError::TooManyAttempts {
                retry_after_s: SIGN_IN_FAILURE_WINDOW_MS / 1000,
            }
            .into());
        }
        let user = self.store.find_dashboard_user(&email).await?;
        let verified = match (&user, password.len() <= PASSWORD_LEN_MAX) {
            (Some(u), true) => match &u.password_hash {
                Some(h) => password::verify(password, h),
                None => false,
            },
            // Spend the same time on unknown emails, so timing tells nothing.
            _ => {
                password::burn(password);
                false
            }
        };
        match user {
            Some(user) if verified => self.start_session(user).await,
            _ => {
                self.store
                    .record_sign_in_failure(&email_hash, now, window_start)
                    .await?;
                tracing::info!("dashboard sign-in refused (wrong email or password)");
                Err(UserError::InvalidCredentials.into())
            }
        }
    }

    /// Signs in with a one-time link token (spent, even if the session fails).
    pub async fn sign_in_with_link(&self, token: &str) -> CheckoutResult<SignedIn> {
        if token.is_empty() || token.len() > TOKEN_LEN_MAX {
            return Err(UserError::LinkExpired.into());
        }
        let user = self
            .store
            .spend_sign_in_link(&hash_key(token), self.now_ms())
            .await?
            .ok_or(UserError::LinkExpired)?;
        self.start_session(user).await
    }

    async fn start_session(&self, user: DashboardUser) -> CheckoutResult<SignedIn> {
        let token = new_token("dss_");
        let now = self.now_ms();
        let expires_at_ms = now + DASHBOARD_SESSION_TTL_MS;
        self.store
            .create_dashboard_session(&user, &hash_key(token.expose_secret()), now, expires_at_ms)
            .await?;
        tracing::info!(merchant_id = %user.merchant_id, user_id = %user.id, "dashboard sign-in");
        Ok(SignedIn {
            token,
            user,
            expires_at_ms,
        })
    }

    /// The live session a cookie's token names, if any.
    pub async fn dashboard_session(&self, token: &str) -> CheckoutResult<Option<DashboardSession>> {
        if token.is_empty() || token.len() > TOKEN_LEN_MAX {
            return Ok(None);
        }
        Ok(self
            .store
            .find_dashboard_session(&hash_key(token), self.now_ms())
            .await?)
    }

    /// Ends the session a cookie's token names (sign-out).
    pub async fn dashboard_sign_out(&self, token: &str) -> CheckoutResult<()> {
        if token.is_empty() || token.len() > TOKEN_LEN_MAX {
            return Ok(());
        }
        Ok(self
            .store
            .revoke_dashboard_session(&hash_key(token), self.now_ms())
            .await?)
    }

    /// Sets a user's password and ends their other sessions.
    pub async fn set_user_password(
        &self,
        merchant: MerchantId,
        user: UserId,
        new_password: &str,
    ) -> CheckoutResult<()> {
        check_password(new_password)?;
        let hash = password::hash(new_password)?;
        self.store
            .set_dashboard_password(merchant, user, &hash)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CheckoutError::NotFound(crate::Resource::Merchant),
                other => other.into(),
            })
    }

    /// Ends every session of one of `merchant`'s users; how many were live.
    pub async fn revoke_user_sessions(
        &self,
        merchant: MerchantId,
        user: UserId,
    ) -> CheckoutResult<u64> {
        Ok(self
            .store
            .revoke_user_sessions(merchant, user, self.now_ms())
            .await?)
    }
}

/// The demo's dashboard owner: reuses the email and password `demo.json`
/// recorded (resetting the password to it), else makes `demo@anycart.example`
/// (or a suffixed address when another merchant holds that one) with a random
/// password, and records the three in `info`.
pub async fn ensure_demo_user(
    store: &anycart_store::Store,
    info: &mut crate::demo::DemoInfo,
    now_ms: i64,
) -> CheckoutResult<()> {
    let merchant = MerchantId::parse(&info.merchant_id)
        .map_err(|e| CheckoutError::invalid("merchant_id", e.to_string()))?;
    let password = match &info.dashboard_password {
        Some(p) if check_password(p).is_ok() => p.clone(),
        _ => {
            let mut bytes = [0u8; 8];
            rand::rng().fill_bytes(&mut bytes);
            format!("demo-{}", hex::encode(bytes))
        }
    };
    let suffix: String = merchant
        .uuid()
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(8)
        .collect();
    let candidates = [
        info.dashboard_email.clone(),
        Some("demo@anycart.example".to_string()),
        Some(format!("demo-{suffix}@anycart.example")),
    ];
    let hash = password::hash(&password)?;
    for email in candidates.into_iter().flatten() {
        match store.find_dashboard_user(&email).await? {
            Some(u) if u.merchant_id == merchant => {
                store.set_dashboard_password(merchant, u.id, &hash).await?;
            }
            Some(_) => continue,
            None => {
                store
                    .create_dashboard_user(&DashboardUser {
                        id: UserId::new(),
                        merchant_id: merchant,
                        email: email.clone(),
                        role: UserRole::Owner,
                        password_hash: Some(hash.clone()),
                        created_at_ms: now_ms,
                    })
                    .await?;
            }
        }
        info.dashboard_url = Some(format!(
            "{}/dashboard/",
            info.base_url.trim_end_matches('/')
        ));
        info.dashboard_email = Some(email);
        info.dashboard_password = Some(password);
        return Ok(());
    }
    Err(CheckoutError::invalid(
        "dashboard_email",
        "no free demo email for this merchant",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_follow_the_session_and_compare_in_constant_time() {
        let a = csrf_token("dss_a");
        assert_eq!(a, csrf_token("dss_a"));
        assert_ne!(a, csrf_token("dss_b"));
        assert_eq!(a.len(), 64);
        assert!(constant_time_eq(&a, &csrf_token("dss_a")));
        assert!(!constant_time_eq(&a, &csrf_token("dss_b")));
        assert!(!constant_time_eq(&a, &a[..63]));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn emails_are_normalised_and_passwords_bounded() {
        assert_eq!(
            normal_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        assert!(normal_email("not an email").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
        assert!(check_password(&"x".repeat(PASSWORD_LEN_MAX + 1)).is_err());
    }
}
