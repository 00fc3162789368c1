//! Where a sale came from: the channel, the placement and its campaign, and the
//! agent that bought on the shopper's behalf. Set once, when a checkout session
//! is created (from the key or door it came through), carried by the order, shown
//! to the merchant and passed to the platform so its own reports see which
//! channel sold.

use crate::PlacementId;
use serde::{Deserialize, Serialize};

/// The kind of surface a sale (or a placement) happened on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A display ad slot (300×250, 300×600…).
    DisplayAd,
    /// A publisher or affiliate article.
    Publisher,
    /// A social post or link-in-bio page.
    Social,
    /// A connected-TV screen.
    Ctv,
    /// The merchant's own site.
    OwnSite,
    /// An app or game, through the SDK.
    App,
    /// An AI agent (ACP, UCP or MCP).
    Agent,
    /// A server of the merchant's, with its secret key.
    Api,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: [Channel; 8] = [
        Channel::DisplayAd,
        Channel::Publisher,
        Channel::Social,
        Channel::Ctv,
        Channel::OwnSite,
        Channel::App,
        Channel::Agent,
        Channel::Api,
    ];

    /// The channels a merchant may give a placement (an agent or an API call is
    /// not shown anywhere).
    pub const PLACEMENT: [Channel; 6] = [
        Channel::DisplayAd,
        Channel::Publisher,
        Channel::Social,
        Channel::Ctv,
        Channel::OwnSite,
        Channel::App,
    ];

    /// The wire name (`display_ad`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::DisplayAd => "display_ad",
            Channel::Publisher => "publisher",
            Channel::Social => "social",
            Channel::Ctv => "ctv",
            Channel::OwnSite => "own_site",
            Channel::App => "app",
            Channel::Agent => "agent",
            Channel::Api => "api",
        }
    }

    /// The channel of a wire name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Campaign fields (UTM-style), all optional free text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Campaign name (utm_campaign).
    pub name: Option<String>,
    /// Where the traffic comes from, e.g. an ad network (utm_source).
    pub source: Option<String>,
    /// display, affiliate, social… (utm_medium).
    pub medium: Option<String>,
    /// The creative or slot, e.g. `300x250` (utm_content).
    pub content: Option<String>,
}

impl Campaign {
    pub fn is_empty(&self) -> bool {
        self == &Campaign::default()
    }
}

/// The protocol an agent bought through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentProtocol {
    /// Agentic Commerce Protocol (REST).
    Acp,
    /// Universal Commerce Protocol.
    Ucp,
    /// Model Context Protocol tools.
    Mcp,
}

impl AgentProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentProtocol::Acp => "acp",
            AgentProtocol::Ucp => "ucp",
            AgentProtocol::Mcp => "mcp",
        }
    }
}

/// The agent behind a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub protocol: AgentProtocol,
    /// Who: a registered agent platform's id, or the agent's profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Where a sale came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub channel: Channel,
    /// The placement whose key opened the checkout, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_id: Option<PlacementId>,
    #[serde(default, skip_serializing_if = "Campaign::is_empty")]
    pub campaign: Campaign,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
}

impl Attribution {
    /// A sale with no more to say than its channel.
    pub fn channel(channel: Channel) -> Self {
        Attribution {
            channel,
            placement_id: None,
            campaign: Campaign::default(),
            agent: None,
        }
    }

    /// A sale by an agent through `protocol`.
    pub fn agent(protocol: AgentProtocol, name: Option<String>) -> Self {
        Attribution {
            agent: Some(AgentRef { protocol, name }),
            ..Attribution::channel(Channel::Agent)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip_and_match_serde() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
        assert_eq!(Channel::parse("billboard"), None);
        assert!(Channel::PLACEMENT.iter().all(|c| Channel::ALL.contains(c)));
        assert!(!Channel::PLACEMENT.contains(&Channel::Agent));
    }

    #[test]
    fn an_agent_sale_is_on_the_agent_channel() {
        let a = Attribution::agent(AgentProtocol::Mcp, Some("claude".into()));
        assert_eq!(a.channel, Channel::Agent);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"channel": "agent", "agent": {"protocol": "mcp", "name": "claude"}})
        );
    }
}
