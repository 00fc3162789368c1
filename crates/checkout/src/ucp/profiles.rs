//! Agents' UCP profiles: fetched from the URL in `UCP-Agent`, read for the
//! protocol version the agent speaks, its order webhook URL and its signing
//! keys, and cached (bounded) so a busy agent costs one fetch a minute.
//!
//! Profile URLs come from requests, so fetching one is an outbound call an
//! outsider chooses: HTTPS only, no redirects, no credentials in the URL, no
//! loopback or private address literals, short timeouts and a size cap. The
//! conformance mode relaxes the scheme and address rules (the official suite
//! serves its agent profile on `http://localhost`).

use reqwest::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest profile read.
pub const PROFILE_BYTES_MAX: usize = 64 * 1024;
/// Longest a profile fetch may take.
pub const PROFILE_FETCH_TIMEOUT_MS: u64 = 3_000;
/// How long a fetched profile is reused (UCP's floor: at least 60 s).
pub const PROFILE_CACHE_TTL_MS: u64 = 60_000;
/// Profiles kept at once (a fixed discovery footprint whatever the agents do).
pub const PROFILE_CACHE_ENTRIES_MAX: usize = 1_024;
/// Signing keys read from one profile.
const SIGNING_KEYS_MAX: usize = 16;
/// Longest profile URL accepted.
pub const PROFILE_URL_LEN_MAX: usize = 2_048;

/// What anycart needs of an agent's profile.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentProfile {
    pub url: String,
    /// `ucp.version`: the protocol version the agent speaks.
    pub version: String,
    /// The order capability's `config.webhook_url`, if the agent wants events.
    pub webhook_url: Option<String>,
    /// Its public keys (JWKs), for RFC 9421 signatures.
    pub signing_keys: Vec<Value>,
}

/// Why a profile could not be used (UCP's discovery errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The URL is malformed, not HTTPS, or points somewhere it may not.
    #[error("invalid profile URL: {0}")]
    InvalidUrl(String),
    /// Fetching failed (timeout, refused, non-2xx, too large).
    #[error("profile unreachable: {0}")]
    Unreachable(String),
    /// Fetched, but not a UCP profile.
    #[error("profile malformed: {0}")]
    Malformed(String),
}

/// Which URLs may be fetched and how long results are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow `http://` and loopback or private hosts (conformance mode only).
    pub allow_insecure: bool,
    pub cache_ttl_ms: u64,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_insecure: false,
            cache_ttl_ms: PROFILE_CACHE_TTL_MS,
        }
    }
}

/// Fetches and caches agent profiles.
#[derive(Debug)]
pub struct ProfileFetcher {
    client: Client,
    policy: FetchPolicy,
    cache: Mutex<HashMap<String, (Instant, Arc<AgentProfile>)>>,
}

/// Checks that `url` may be fetched (or posted to, for webhooks) under `policy`.
pub fn check_url(url: &str, allow_insecure: bool) -> Result<url::Url, ProfileError> {
    let bad = |why: &str| ProfileError::InvalidUrl(why.to_string());
    if url.len() > PROFILE_URL_LEN_MAX {
        return Err(bad("too long"));
    }
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        other => return Err(bad(&format!("`{other}` URLs are not allowed; use https"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials in the URL"));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    if !allow_insecure && is_internal_host(host) {
        return Err(bad("loopback and private addresses are not allowed"));
    }
    Ok(parsed)
}

/// A host that names this machine or a private network by itself.
fn is_internal_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

impl ProfileFetcher {
    /// A fetcher with its own HTTP client (no redirects, short timeouts).
    pub fn new(policy: FetchPolicy) -> Self {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(PROFILE_FETCH_TIMEOUT_MS))
            .connect_timeout(Duration::from_millis(PROFILE_FETCH_TIMEOUT_MS))
            .build()
            .unwrap_or_default();
        ProfileFetcher {
            client,
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> FetchPolicy {
        self.policy
    }

    /// The profile at `url`, from the cache while it is fresh.
    pub async fn fetch(&self, url: &str) -> Result<Arc<AgentProfile>, ProfileError> {
        check_url(url, self.policy.allow_insecure)?;
        let ttl = Duration::from_millis(self.policy.cache_ttl_ms);
        if let Some((at, p)) = self.lock().get(url)
            && at.elapsed() < ttl
        {
            return Ok(p.clone());
        }
        let fetched = Arc::new(self.download(url).await?);
        if !ttl.is_zero() {
            let mut cache = self.lock();
            if cache.len() >= PROFILE_CACHE_ENTRIES_MAX {
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
                if cache.len() >= PROFILE_CACHE_ENTRIES_MAX {
                    cache.clear();
                }
            }
            cache.insert(url.to_string(), (Instant::now(), fetched.clone()));
        }
        Ok(fetched)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<AgentProfile>)>> {
        // A poisoned cache only means a panic elsewhere; the map is still usable.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn download(&self, url: &str) -> Result<AgentProfile, ProfileError> {
        let unreachable = |e: &dyn std::fmt::Display| ProfileError::Unreachable(e.to_string());
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(ProfileError::Unreachable(format!(
                "HTTP {}",
                response.status().as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if body.len() + chunk.len() > PROFILE_BYTES_MAX {
                return Err(ProfileError::Unreachable(format!(
                    "larger than {PROFILE_BYTES_MAX} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        parse_profile(url, &body)
    }
}

/// Reads a profile in either protocol version's shape: capabilities as a list
/// of named entries (2026-01-11) or a map of name to entries (2026-04-08).
pub fn parse_profile(url: &str, body: &[u8]) -> Result<AgentProfile, ProfileError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| ProfileError::Malformed(format!("not JSON: {e}")))?;
    let ucp = doc
        .get("ucp")
        .filter(|u| u.is_object())
        .ok_or_else(|| ProfileError::Malformed("no `ucp` object".into()))?;
    let version = ucp
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| is_version(v))
        .ok_or_else(|| ProfileError::Malformed("`ucp.version` is not a YYYY-MM-DD version".into()))?
        .to_string();
    let order_configs: Vec<&Value> = match ucp.get("capabilities") {
        Some(Value::Array(list)) => list
            .iter()
            .filter(|c| c.get("name").and_then(Value::as_str) == Some(ORDER_CAPABILITY))
            .collect(),
        Some(Value::Object(map)) => map
            .get(ORDER_CAPABILITY)
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        _ => vec![],
    };
    let webhook_url = order_configs
        .iter()
        .find_map(|c| c.pointer("/config/webhook_url").and_then(Value::as_str))
        .map(String::from);
    let signing_keys = doc
        .get("signing_keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter(|k| k.is_object())
                .take(SIGNING_KEYS_MAX)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(AgentProfile {
        url: url.to_string(),
        version,
        webhook_url,
        signing_keys,
    })
}

/// The order capability, whose config names the agent's webhook URL.
pub const ORDER_CAPABILITY: &str = "dev.ucp.shopping.order";

/// `YYYY-MM-DD`.
pub fn is_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_urls_are_https_to_public_hosts_unless_insecure_is_allowed() {
        assert!(check_url("https://agent.example/p.json", false).is_ok());
        for bad in [
            "http://agent.example/p.json",
            "https://localhost/p.json",
            "https://127.0.0.1/p.json",
            "https://10.1.2.3/p.json",
            "https://192.168.0.1/p.json",
            "https://[::1]/p.json",
            "https://user:pw@agent.example/p.json",
            "ftp://agent.example/p.json",
            "...",
            "",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://localhost:8285/profiles/a.json", true).is_ok());
        assert!(check_url("...", true).is_err());
    }

    #[test]
    fn both_profile_shapes_give_version_webhook_and_keys() {
        let v2026_01 = br#"{"ucp":{"version":"2026-01-11","capabilities":[{"name":"dev.ucp.shopping.order","version":"2026-01-11","config":{"webhook_url":"http://localhost:1/hook"}}]}}"#;
        let p = parse_profile("u", v2026_01).unwrap();
        assert_eq!(p.version, "2026-01-11");
        assert_eq!(p.webhook_url.as_deref(), Some("http://localhost:1/hook"));
        assert!(p.signing_keys.is_empty());
        let v2026_04 = br#"{"ucp":{"version":"2026-04-08","capabilities":{"dev.ucp.shopping.order":[{"version":"2026-04-08","config":{"webhook_url":"https://p.example/h"}}]}},"signing_keys":[{"kid":"k","kty":"EC"}]}"#;
        let p = parse_profile("u", v2026_04).unwrap();
        assert_eq!(p.version, "2026-04-08");
        assert_eq!(p.webhook_url.as_deref(), Some("https://p.example/h"));
        assert_eq!(p.signing_keys.len(), 1);
        for bad in [
            &b"not json"[..],
            br#"{}"#,
            br#"{"ucp":{"version":"latest"}}"#,
        ] {
            assert!(matches!(
                parse_profile("u", bad),
                Err(ProfileError::Malformed(_))
            ));
        }
    }
}
