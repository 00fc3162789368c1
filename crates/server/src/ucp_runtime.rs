//! How the UCP door runs on this server (its settings, the agent-profile cache,
//! the webhook sender) and where a merchant's door is. Kept beside the state
//! every handler gets; the door itself is `routes::ucp`.

use anycart_checkout::ucp::profiles::{FetchPolicy, ProfileFetcher};
use anycart_checkout::ucp::webhooks::WebhookSender;
use anycart_core::MerchantId;
use secrecy::SecretString;

/// How the UCP door runs on this server.
#[derive(Clone, Debug, Default)]
pub struct UcpSettings {
    /// The conformance (test) mode: test payment handlers on the sandbox, the
    /// address book, `/testing/simulate-shipping`, `http://localhost` agent
    /// profiles and webhooks, destinations without a street. Never in production.
    pub test_mode: bool,
    /// What `Simulation-Secret` must say in the conformance mode.
    pub simulation_secret: Option<SecretString>,
    /// Whose profile `/.well-known/ucp` at the root serves.
    pub root_merchant: Option<MerchantId>,
}

/// The UCP door's settings and what it keeps between requests.
#[derive(Debug)]
pub struct UcpRuntime {
    pub settings: UcpSettings,
    /// Agents' profiles (bounded cache).
    pub profiles: ProfileFetcher,
    /// Order webhooks to agents.
    pub webhooks: WebhookSender,
}

impl UcpRuntime {
    /// The runtime for `settings` on a server reachable at `base_url`.
    pub fn new(settings: UcpSettings, base_url: &str) -> UcpRuntime {
        let policy = if settings.test_mode {
            // The suite restarts its agent between files on new ports: re-read
            // profiles every time rather than trust a cached port.
            FetchPolicy {
                allow_insecure: true,
                cache_ttl_ms: 0,
            }
        } else {
            FetchPolicy::default()
        };
        let base = base_url.trim_end_matches('/').to_string();
        UcpRuntime {
            profiles: ProfileFetcher::new(policy),
            webhooks: WebhookSender::new(move |m| profile_url(&base, m)),
            settings,
        }
    }
}

/// The merchant's shopping endpoint (what its profile names as `endpoint`).
pub fn endpoint(base_url: &str, merchant: MerchantId) -> String {
    format!("{}/ucp/{merchant}", base_url.trim_end_matches('/'))
}

/// The merchant's profile URL.
pub fn profile_url(base_url: &str, merchant: MerchantId) -> String {
    format!("{}/.well-known/ucp", endpoint(base_url, merchant))
}
