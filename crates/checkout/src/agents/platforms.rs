//! Registering the agent platforms a merchant sells through: checked input, a
//! key of their own (`ak_…`, a publishable key's rights: checkout sessions, the
//! product feed and the MCP tools, never the admin API), and the attribution of
//! the checkouts they open.

use crate::CheckoutService;
use crate::agents::signing::{self, SignedRequest};
use crate::error::{CheckoutError, CheckoutResult, Resource};
use crate::keys::hash_key;
use anycart_core::attribution::{AgentProtocol, Attribution};
use anycart_core::{AgentPlatformId, ApiKeyId, MerchantId, PlacementId};
use anycart_store::Secret;
use anycart_store::{AgentPlatform, AgentPlatformChange, AgentSecrets, ApiKeyKind, ApiKeyRecord};
use rand::RngCore;
use secrecy::SecretString;

/// Longest platform name.
pub const NAME_CHARS_MAX: usize = 64;
/// Longest webhook or feed URL.
pub const URL_CHARS_MAX: usize = 2048;
/// Shortest signing secret: 32 characters, as much entropy as the HMAC key needs.
pub const SIGNING_SECRET_CHARS_MIN: usize = 32;
/// Longest signing secret or feed token.
pub const SECRET_CHARS_MAX: usize = 512;

/// A platform as the merchant registers it, not yet checked. Errors name fields
/// by their JSONPath in this shape.
#[derive(Clone, Debug, Default)]
pub struct AgentPlatformSpec {
    /// Lowercase letters, digits, `.`, `_`, `-`; unique per merchant.
    pub name: String,
    pub webhook_url: Option<String>,
    pub feed_url: Option<String>,
    pub signing_secret: String,
    pub feed_token: Option<String>,
    pub verify_signatures: bool,
}

/// What may change on a registered platform (absent: unchanged; an empty
/// string removes an optional URL or token).
#[derive(Clone, Debug, Default)]
pub struct AgentPlatformUpdate {
    pub webhook_url: Option<String>,
    pub feed_url: Option<String>,
    pub signing_secret: Option<String>,
    pub feed_token: Option<String>,
    pub verify_signatures: Option<bool>,
}

/// A new platform with its key (shown once).
#[derive(Debug)]
pub struct RegisteredPlatform {
    pub platform: AgentPlatform,
    pub api_key: SecretString,
}

fn invalid(param: &str, message: impl Into<String>) -> CheckoutError {
    CheckoutError::invalid(param, message)
}

fn name(value: &str) -> CheckoutResult<String> {
    let v = value.trim();
    let ok = !v.is_empty()
        && v.chars().count() <= NAME_CHARS_MAX
        && v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    ok.then(|| v.to_string()).ok_or_else(|| {
        invalid(
            "$.name",
            format!(
                "a name is 1 to {NAME_CHARS_MAX} lowercase letters, digits, '.', '_' or '-' (e.g. openai)"
            ),
        )
    })
}

/// An endpoint anycart will call: HTTPS, or plain HTTP to this machine only
/// (local development). No credentials in the URL, no fragment.
pub fn endpoint_url(value: &str, param: &str) -> CheckoutResult<String> {
    let refuse = || {
        invalid(
            param,
            "must be an https:// URL (http:// only for localhost), without credentials",
        )
    };
    let v = value.trim();
    if v.len() > URL_CHARS_MAX {
        return Err(invalid(
            param,
            format!("at most {URL_CHARS_MAX} characters"),
        ));
    }
    let url = url::Url::parse(v).map_err(|_| refuse())?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || url.host().is_none()
        || private_address(url.host())
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(refuse());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// An IP literal of a private network (RFC 1918, link-local, unique local): a
/// merchant may not point anycart's requests into the network it runs in.
/// (Loopback stays allowed: local development. Names are not resolved here.)
fn private_address(host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Ipv4(ip)) => ip.is_private() || ip.is_link_local() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            let first = ip.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 || ip.is_unspecified()
        }
        _ => false,
    }
}

fn secret(value: &str, param: &str, min_chars: usize) -> CheckoutResult<Secret> {
    let v = value.trim();
    let len = v.chars().count();
    if len < min_chars || len > SECRET_CHARS_MAX || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            param,
            format!(
                "must be {min_chars} to {SECRET_CHARS_MAX} printable ASCII characters, no spaces"
            ),
        ));
    }
    Ok(Secret::new(v))
}

fn optional_url(value: Option<&str>, param: &str) -> CheckoutResult<Option<String>> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| endpoint_url(v, param))
        .transpose()
}

/// `Some(None)` for an empty string (remove), `Some(Some(..))` to set.
fn change_url(value: Option<&str>, param: &str) -> CheckoutResult<Option<Option<String>>> {
    value.map(|v| optional_url(Some(v), param)).transpose()
}

/// A fresh platform key: `ak_` and 64 hex digits, and its record.
fn agent_key(merchant: MerchantId, now_ms: i64) -> (SecretString, ApiKeyRecord) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("ak_{}", hex::encode(bytes));
    let record = ApiKeyRecord {
        id: ApiKeyId::new(),
        merchant_id: merchant,
        kind: ApiKeyKind::Publishable,
        key_hash: hash_key(&key),
        hint: format!("ak_…{}", &key[key.len() - 4..]),
        placement_id: None,
        created_at_ms: now_ms,
    };
    (SecretString::from(key), record)
}

impl CheckoutService {
    /// Registers an agent platform and mints its key. `api_base_url` is the
    /// anycart origin it was registered on (its webhooks link there).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn register_agent_platform(
        &self,
        merchant: MerchantId,
        spec: &AgentPlatformSpec,
        api_base_url: &str,
    ) -> CheckoutResult<RegisteredPlatform> {
        let now_ms = self.now_ms();
        let feed_token = spec
            .feed_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| secret(t, "$.feed_token", 1))
            .transpose()?;
        let (api_key, key) = agent_key(merchant, now_ms);
        let platform = AgentPlatform {
            id: AgentPlatformId::new(),
            merchant_id: merchant,
            name: name(&spec.name)?,
            api_key_id: key.id,
            webhook_url: optional_url(spec.webhook_url.as_deref(), "$.webhook_url")?,
            feed_url: optional_url(spec.feed_url.as_deref(), "$.feed_url")?,
            api_base_url: api_base_url.trim_end_matches('/').to_string(),
            secrets: AgentSecrets {
                signing_secret: secret(
                    &spec.signing_secret,
                    "$.signing_secret",
                    SIGNING_SECRET_CHARS_MIN,
                )?,
                feed_token,
            },
            verify_signatures: spec.verify_signatures,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            disabled_at_ms: None,
        };
        self.store.create_agent_platform(&platform, &key).await?;
        tracing::info!(agent_platform_id = %platform.id, name = %platform.name, "agent platform registered");
        Ok(RegisteredPlatform { platform, api_key })
    }

    /// Changes a platform's endpoints, secrets or signature checking.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, agent_platform_id = %id))]
    pub async fn update_agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
        update: &AgentPlatformUpdate,
        api_base_url: &str,
    ) -> CheckoutResult<AgentPlatform> {
        let change = AgentPlatformChange {
            webhook_url: change_url(update.webhook_url.as_deref(), "$.webhook_url")?,
            feed_url: change_url(update.feed_url.as_deref(), "$.feed_url")?,
            signing_secret: update
                .signing_secret
                .as_deref()
                .map(|s| secret(s, "$.signing_secret", SIGNING_SECRET_CHARS_MIN))
                .transpose()?,
            feed_token: update
                .feed_token
                .as_deref()
                .map(|t| {
                    (!t.trim().is_empty())
                        .then(|| secret(t, "$.feed_token", 1))
                        .transpose()
                })
                .transpose()?,
            verify_signatures: update.verify_signatures,
            api_base_url: Some(api_base_url.trim_end_matches('/').to_string()),
        };
        self.store
            .update_agent_platform(merchant, id, change, self.now_ms())
            .await
            .map_err(|e| match e {
                anycart_store::StoreError::NotFound => {
                    CheckoutError::NotFound(Resource::AgentPlatform)
                }
                other => other.into(),
            })
    }

    /// One platform of `merchant`.
    pub async fn agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
    ) -> CheckoutResult<AgentPlatform> {
        self.store
            .get_agent_platform(merchant, id)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::AgentPlatform))
    }

    /// Disables a platform: its key stops working and nothing more is sent to it.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, agent_platform_id = %id))]
    pub async fn disable_agent_platform(
        &self,
        merchant: MerchantId,
        id: AgentPlatformId,
    ) -> CheckoutResult<AgentPlatform> {
        let platform = self.agent_platform(merchant, id).await?;
        if platform.is_enabled() {
            self.store
                .disable_agent_platform(merchant, id, self.now_ms())
                .await?;
        }
        self.agent_platform(merchant, id).await
    }

    /// The enabled agent platform that calls with key `key`, if it is one,
    /// once its request is shown to be signed with the platform's secret when
    /// the merchant asked for signed requests.
    pub async fn agent_of_request(
        &self,
        key: ApiKeyId,
        request: &SignedRequest<'_>,
    ) -> CheckoutResult<Option<AgentPlatform>> {
        let platform = self.store.agent_platform_of_key(key).await?;
        if let Some(p) = &platform
            && p.verify_signatures
        {
            signing::verify(p.secrets.signing_secret.expose(), request, self.now_ms())
                .map_err(CheckoutError::AgentSignature)?;
        }
        Ok(platform)
    }

    /// Where a checkout opened through an agent binding (ACP over REST, MCP)
    /// with a key comes from: an agent platform's key names the platform; the
    /// MCP tools are an agent's whatever the key; any other key is attributed
    /// as usual ([`CheckoutService::key_attribution`]).
    pub async fn agent_attribution(
        &self,
        merchant: MerchantId,
        kind: ApiKeyKind,
        placement: Option<PlacementId>,
        agent: Option<&AgentPlatform>,
        protocol: AgentProtocol,
    ) -> CheckoutResult<Attribution> {
        match (agent, protocol) {
            (Some(p), _) => Ok(Attribution::agent(protocol, Some(p.id.to_string()))),
            (None, AgentProtocol::Mcp) => Ok(Attribution::agent(protocol, None)),
            (None, _) => self.key_attribution(merchant, kind, placement).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs() {
        for ok in ["openai", "chat-gpt", "a.b_c", "9lives"] {
            assert_eq!(name(ok).unwrap(), ok);
        }
        for bad in ["", "OpenAI", "-x", "with space", "é", &"x".repeat(65)] {
            assert!(name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_are_https_or_local_http_without_credentials() {
        assert_eq!(
            endpoint_url("https://agent.example/hooks/", "$.u").unwrap(),
            "https://agent.example/hooks"
        );
        assert!(endpoint_url("http://127.0.0.1:9000/x", "$.u").is_ok());
        assert!(endpoint_url("http://localhost/x", "$.u").is_ok());
        for bad in [
            "http://agent.example/x",
            "ftp://agent.example/x",
            "https://user:pw@agent.example/x",
            "https://agent.example/x#frag",
            "https://10.0.0.7/hooks",
            "https://192.168.1.2/hooks",
            "https://169.254.169.254/latest",
            "https://[fd00::1]/hooks",
            "not a url",
            "https://",
        ] {
            assert!(endpoint_url(bad, "$.u").is_err(), "{bad}");
        }
    }

    #[test]
    fn signing_secrets_are_long_and_printable() {
        assert!(secret(&"k".repeat(32), "$.s", 32).is_ok());
        assert!(secret(&"k".repeat(31), "$.s", 32).is_err());
        assert!(secret(&format!("{} x", "k".repeat(32)), "$.s", 32).is_err());
    }

    #[test]
    fn agent_keys_are_prefixed_and_hashed() {
        let (key, record) = agent_key(MerchantId::new(), 0);
        use secrecy::ExposeSecret;
        assert!(key.expose_secret().starts_with("ak_"));
        assert_eq!(record.key_hash, hash_key(key.expose_secret()));
        assert_eq!(record.kind, ApiKeyKind::Publishable);
    }
}
