//! The service side of the Universal Commerce Protocol door: each merchant's
//! door (access mode and signing key), agents' profiles, message signatures and
//! order webhooks. The HTTP binding itself (wire formats, versions, routes) is
//! `anycart_server::routes::ucp`; checkouts sold through it are ordinary
//! sessions of this service, so they share one stock pool and one order flow
//! with every other door.

pub mod keys;
pub mod profiles;
pub mod sfv;
pub mod signatures;
pub mod webhooks;

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, Resource};
use anycart_core::MerchantId;
use anycart_store::Secret;
pub use anycart_store::{UcpAccess, UcpDoor};
use keys::SigningKey;
use serde::{Deserialize, Serialize};

/// Longest link a door shows.
pub const LINK_LEN_MAX: usize = 2_048;

/// What a door shows besides its checkouts (stored as JSON with the door).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorSettings {
    /// Shown with every checkout as a `terms_of_service` link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_url: Option<String>,
    /// Shown with every checkout as a `privacy_policy` link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
}

impl DoorSettings {
    /// Reads the stored JSON (an unreadable document shows no links).
    pub fn of(door: &UcpDoor) -> DoorSettings {
        serde_json::from_str(&door.settings).unwrap_or_default()
    }

    /// Checks the links: absolute `https` URLs (or `http`), bounded.
    pub fn validate(&self) -> CheckoutResult<()> {
        for (param, link) in [
            ("$.terms_of_service_url", &self.terms_of_service_url),
            ("$.privacy_policy_url", &self.privacy_policy_url),
        ] {
            if let Some(l) = link {
                let ok = l.len() <= LINK_LEN_MAX
                    && url::Url::parse(l).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
                if !ok {
                    return Err(CheckoutError::invalid(param, "must be an http(s) URL"));
                }
            }
        }
        Ok(())
    }
}

impl CheckoutService {
    /// Opens or reconfigures a merchant's UCP door. The signing key is made the
    /// first time and kept (agents cache the merchant's profile and its keys).
    pub async fn configure_ucp_door(
        &self,
        merchant: MerchantId,
        enabled: bool,
        access: UcpAccess,
        settings: &DoorSettings,
    ) -> CheckoutResult<UcpDoor> {
        settings.validate()?;
        if self.store.get_merchant(merchant).await?.is_none() {
            return Err(CheckoutError::NotFound(Resource::Merchant));
        }
        let now = self.now_ms();
        let existing = self.store.get_ucp_door(merchant).await?;
        let (kid, key, created) = match existing {
            Some(d) => (d.signing_kid, d.signing_key, d.created_at_ms),
            None => {
                let (kid, pkcs8) = keys::generate(now)?;
                (kid, Secret::new(pkcs8), now)
            }
        };
        let door = UcpDoor {
            merchant_id: merchant,
            enabled,
            access,
            signing_kid: kid,
            signing_key: key,
            settings: serde_json::to_string(settings)
                .map_err(|e| CheckoutError::invalid("$", e.to_string()))?,
            created_at_ms: created,
            updated_at_ms: now,
        };
        self.store.put_ucp_door(&door).await?;
        tracing::info!(merchant_id = %merchant, enabled, access = access.as_str(), "UCP door configured");
        Ok(door)
    }

    /// A merchant's UCP door and its signing key, if it opened one.
    pub async fn ucp_door(
        &self,
        merchant: MerchantId,
    ) -> CheckoutResult<Option<(UcpDoor, SigningKey)>> {
        let Some(door) = self.store.get_ucp_door(merchant).await? else {
            return Ok(None);
        };
        let key = SigningKey::from_pkcs8_base64(&door.signing_kid, door.signing_key.expose())?;
        Ok(Some((door, key)))
    }
}
