//! Where a sale came from, as the merchant's platform is told it: the same
//! fields for every platform, so the merchant's own reports can group orders by
//! channel, placement, campaign and creative (Shopify custom attributes,
//! Salesforce `c_` attributes, the Adobe order comment).

use anycart_core::attribution::Attribution;
use anycart_core::order::Order;

/// `(key, value)` pairs of an order's attribution, in a fixed order; empty for
/// orders made before sales were attributed. Keys are snake_case with the
/// `anycart_` prefix (each platform adapts the spelling).
pub fn fields(order: &Order) -> Vec<(&'static str, String)> {
    order.attribution.as_ref().map(of).unwrap_or_default()
}

fn of(a: &Attribution) -> Vec<(&'static str, String)> {
    let mut out = vec![("anycart_channel", a.channel.as_str().to_string())];
    if let Some(p) = a.placement_id {
        out.push(("anycart_placement_id", p.to_string()));
    }
    let c = &a.campaign;
    for (key, value) in [
        ("anycart_campaign", &c.name),
        ("anycart_campaign_source", &c.source),
        ("anycart_campaign_medium", &c.medium),
        ("anycart_creative", &c.content),
    ] {
        if let Some(v) = value {
            out.push((key, v.clone()));
        }
    }
    if let Some(agent) = &a.agent {
        let who = match &agent.name {
            Some(n) => format!("{}:{n}", agent.protocol.as_str()),
            None => agent.protocol.as_str().to_string(),
        };
        out.push(("anycart_agent", who));
    }
    out
}

/// The order's source name on platforms that group by it: `anycart-<channel>`
/// (`anycart` for orders made before sales were attributed).
pub fn source_name(order: &Order) -> String {
    match &order.attribution {
        Some(a) => format!("anycart-{}", a.channel.as_str()),
        None => "anycart".into(),
    }
}

/// `anycart_creative` → `anycartCreative` (Salesforce's attribute spelling).
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for ch in key.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// One line for people: `Sold via display_ad · placement plc_… · campaign spring (300x250)`.
pub fn sentence(order: &Order) -> Option<String> {
    let a = order.attribution.as_ref()?;
    let mut s = format!("Sold via {}", a.channel.as_str());
    if let Some(p) = a.placement_id {
        s.push_str(&format!(" · placement {p}"));
    }
    if let Some(name) = &a.campaign.name {
        s.push_str(&format!(" · campaign {name}"));
    }
    if let Some(creative) = &a.campaign.content {
        s.push_str(&format!(" ({creative})"));
    }
    if let Some(agent) = &a.agent {
        s.push_str(&format!(" · agent {}", agent.protocol.as_str()));
        if let Some(n) = &agent.name {
            s.push_str(&format!(" {n}"));
        }
    }
    s.push('.');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::PlacementId;
    use anycart_core::attribution::{AgentProtocol, Campaign, Channel};

    fn attributed(a: Attribution) -> Vec<(&'static str, String)> {
        of(&a)
    }

    #[test]
    fn every_field_travels_and_empty_ones_do_not() {
        let p = PlacementId::new();
        let a = Attribution {
            channel: Channel::DisplayAd,
            placement_id: Some(p),
            campaign: Campaign {
                name: Some("spring".into()),
                source: None,
                medium: Some("display".into()),
                content: Some("300x250".into()),
            },
            agent: None,
        };
        assert_eq!(
            attributed(a),
            vec![
                ("anycart_channel", "display_ad".to_string()),
                ("anycart_placement_id", p.to_string()),
                ("anycart_campaign", "spring".into()),
                ("anycart_campaign_medium", "display".into()),
                ("anycart_creative", "300x250".into()),
            ]
        );
        assert_eq!(
            attributed(Attribution::agent(AgentProtocol::Acp, Some("gpt".into()))),
            vec![
                ("anycart_channel", "agent".to_string()),
                ("anycart_agent", "acp:gpt".into())
            ]
        );
        assert_eq!(camel("anycart_campaign_source"), "anycartCampaignSource");
    }
}
