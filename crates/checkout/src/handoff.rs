//! Hand-off codes: a screen without a keyboard (a smart TV, a CTV ad unit) holds a
//! checkout session and shows a short code and a QR; the shopper's phone opens
//! `/h/{code}` and continues that same session (address, wallet or card), so the
//! stock is held once and paid once.
//!
//! A code is
//! - short enough to type on a phone: [`HANDOFF_CODE_LEN`] characters from
//!   [`HANDOFF_ALPHABET`] (no 0/O, no 1/I/L confusion), read case-insensitively
//!   with dashes and spaces ignored;
//! - unguessable in practice: drawn from the CSPRNG (40 bits), stored only as an
//!   HMAC under the service's secret, and every try is throttled per client
//!   ([`Action::OpenHandoff`]); at the default budget a client gets ~10⁻⁸ of a
//!   chance per live code per hour;
//! - short-lived: [`HANDOFF_TTL_MS_MAX`], and never past the session's own hold,
//!   which issuing renews for the full session TTL (an anonymous TV session's
//!   hold is short, and the shopper still has to find their phone);
//! - single-use: the first phone's claim wins (`Store::claim_handoff`); that
//!   phone may reload, every other phone is told the checkout is open elsewhere;
//! - one at a time: a session has one current code. Issuing another (the TV
//!   asks again) replaces an unclaimed one, which stops working at once; once a
//!   phone has claimed the session no new code is issued
//!   ([`CheckoutError::HandoffClaimed`]), so no second phone can get in.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, Resource};
use crate::keys::hash_key;
use crate::throttle::{Action, ClientId};
use anycart_core::session::CheckoutSession;
use anycart_core::{MerchantId, PlacementId, SessionId};
use anycart_store::{Handoff, HandoffClaim, HandoffIssue, StoreError};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use secrecy::ExposeSecret;
use sha2::Sha256;

/// Characters in a hand-off code.
pub const HANDOFF_CODE_LEN: usize = 8;
/// 32 symbols that cannot be mistaken for one another when read off a TV.
pub const HANDOFF_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// A code lives at most this long (and never past the session's hold).
pub const HANDOFF_TTL_MS_MAX: i64 = 10 * 60_000;
/// Draws before giving up on a fresh code (a collision needs two live codes
/// equal in 40 bits; four in a row means something else is wrong).
const ISSUE_ATTEMPTS_MAX: usize = 4;

const _: () = assert!(HANDOFF_CODE_LEN >= 8 && HANDOFF_ALPHABET.len() == 32);

/// A code just issued: show it, its URL and its QR on the TV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedHandoff {
    /// The code, canonical (the TV shows it in two groups of four).
    pub code: String,
    pub expires_at_ms: i64,
}

/// What a phone opening a code gets.
#[derive(Clone, Debug)]
pub enum OpenedHandoff {
    /// The session to continue (this phone claimed the code).
    Session {
        placement: PlacementId,
        session: Box<CheckoutSession>,
    },
    /// Another phone opened it first.
    TakenByAnother,
    /// Nobody opened it in time.
    Expired,
    /// The TV showed a newer code before anybody opened this one.
    Replaced,
    /// Not a code that was ever issued (or a typo).
    Unknown,
}

/// The code in its canonical form (upper case, no separators), or `None` when it
/// cannot be a code at all.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == HANDOFF_CODE_LEN && code.bytes().all(|b| HANDOFF_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A fresh code from the thread's CSPRNG.
fn random_code() -> String {
    let mut rng = rand::rng();
    (0..HANDOFF_CODE_LEN)
        .map(|_| char::from(HANDOFF_ALPHABET[rng.random_range(0..HANDOFF_ALPHABET.len())]))
        .collect()
}

impl CheckoutService {
    /// The HMAC a code is stored and looked up under.
    fn handoff_mac(&self, code: &str) -> String {
        // HMAC takes keys of any length, so this cannot fail; the fallback is never used.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.config.shopper_secret.expose_secret().as_bytes())
                .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        mac.update(b"anycart-handoff\0");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Issues a code for `session`, a live session of `merchant` opened through
    /// `placement` (an enabled placement of that merchant).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %session))]
    pub async fn issue_handoff(
        &self,
        merchant: MerchantId,
        placement: PlacementId,
        session: SessionId,
    ) -> CheckoutResult<IssuedHandoff> {
        match self.store.get_placement(merchant, placement).await? {
            Some(p) if p.enabled => {}
            _ => return Err(CheckoutError::NotFound(Resource::Placement)),
        }
        // The hold is renewed first, so the code (capped by it) gets its full life.
        let s = self.hand_off(merchant, session).await?;
        let now = self.now_ms();
        let expires_at_ms = (now + HANDOFF_TTL_MS_MAX).min(s.expires_at_ms);
        for _ in 0..ISSUE_ATTEMPTS_MAX {
            let code = random_code();
            let record = Handoff {
                code_mac: self.handoff_mac(&code),
                merchant_id: merchant,
                placement_id: placement,
                session_id: session,
                created_at_ms: now,
                expires_at_ms,
                claimed_by: None,
                claimed_at_ms: None,
                replaced_at_ms: None,
            };
            match self.store.insert_handoff(&record).await {
                Ok(HandoffIssue::AlreadyClaimed) => return Err(CheckoutError::HandoffClaimed),
                Ok(HandoffIssue::Issued) => {
                    metrics::counter!("anycart_handoffs_issued_total").increment(1);
                    return Ok(IssuedHandoff {
                        code,
                        expires_at_ms,
                    });
                }
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CheckoutError::Store(StoreError::Corrupt(
            "no free hand-off code after several draws".into(),
        )))
    }

    /// A phone opens `raw_code`. `claimant` is the phone's own secret (a cookie):
    /// the first phone to open a live code owns the session; it may come back,
    /// others are turned away. Every try counts against `client`'s budget.
    #[tracing::instrument(skip_all)]
    pub async fn open_handoff(
        &self,
        raw_code: &str,
        claimant: &str,
        client: Option<&ClientId>,
    ) -> CheckoutResult<OpenedHandoff> {
        if let Some(client) = client {
            self.throttle(Action::OpenHandoff, client)?;
        }
        let Some(code) = normalize_code(raw_code) else {
            return Ok(OpenedHandoff::Unknown);
        };
        let claim = self
            .store
            .claim_handoff(&self.handoff_mac(&code), &hash_key(claimant), self.now_ms())
            .await?;
        Ok(match claim {
            HandoffClaim::Claimed(h) => OpenedHandoff::Session {
                placement: h.placement_id,
                session: Box::new(self.get(h.merchant_id, h.session_id).await?),
            },
            HandoffClaim::TakenByAnother => OpenedHandoff::TakenByAnother,
            HandoffClaim::Expired => OpenedHandoff::Expired,
            HandoffClaim::Replaced => OpenedHandoff::Replaced,
            HandoffClaim::Unknown => OpenedHandoff::Unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_forgivingly_but_only_from_the_alphabet() {
        assert_eq!(normalize_code("k7qm-2xwd").as_deref(), Some("K7QM2XWD"));
        assert_eq!(normalize_code(" K7QM 2XWD ").as_deref(), Some("K7QM2XWD"));
        for bad in [
            "",
            "K7QM2XW",
            "K7QM2XWDD",
            "K7QM2XW0",
            "K7QM2XWI",
            "K7QM2XW1",
            "K7QM2XWÉ",
            "../../x",
        ] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn fresh_codes_are_canonical_and_differ() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| random_code()).collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            assert_eq!(normalize_code(c).as_ref(), Some(c));
        }
    }
}
