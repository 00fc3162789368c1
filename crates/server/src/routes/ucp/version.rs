//! The protocol versions served, and the `UCP-Agent` header that names the
//! agent's profile and, optionally, its version.

use anycart_checkout::ucp::sfv::{self, Bare, Value};

/// A UCP version this server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UcpVersion {
    /// What the official conformance suite tests; the default.
    V2026_01_11,
    /// The latest release: map-shaped profiles and envelopes, RFC 9421
    /// signatures, business outcomes as 200s.
    V2026_04_08,
}

impl UcpVersion {
    /// Every version served, oldest first.
    pub const ALL: [UcpVersion; 2] = [UcpVersion::V2026_01_11, UcpVersion::V2026_04_08];
    /// What an agent that names no version gets.
    pub const DEFAULT: UcpVersion = UcpVersion::V2026_01_11;

    /// The date string.
    pub fn as_str(self) -> &'static str {
        match self {
            UcpVersion::V2026_01_11 => "2026-01-11",
            UcpVersion::V2026_04_08 => "2026-04-08",
        }
    }

    /// A served version by its date string.
    pub fn parse(value: &str) -> Option<UcpVersion> {
        UcpVersion::ALL.into_iter().find(|v| v.as_str() == value)
    }

    /// The supported versions, for error messages.
    pub fn list() -> String {
        UcpVersion::ALL
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Whether this version answers business outcomes (an item out of stock, a
    /// declined card) as 200s with messages, as 2026-04-08 does, rather than
    /// with 4xx errors as 2026-01-11 and its conformance suite expect.
    pub fn outcomes_are_200s(self) -> bool {
        self == UcpVersion::V2026_04_08
    }
}

/// What `UCP-Agent` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentHeader {
    /// The agent's profile URL (unchecked).
    pub profile: Option<String>,
    /// The version asked for, as written.
    pub version: Option<String>,
}

/// Parses `UCP-Agent` (an RFC 8941 dictionary): `profile="…"`, with the version
/// either as a member (`, version="…"`) or as a parameter of `profile`
/// (`; version="…"`, as the conformance suite writes it).
pub fn parse_agent(header: &str) -> Result<AgentHeader, String> {
    let members = sfv::parse_dictionary(header.trim()).map_err(|e| e.to_string())?;
    let mut out = AgentHeader::default();
    for m in members {
        let text = match &m.value {
            Value::Item(Bare::String(s) | Bare::Token(s), _) => Some(s.clone()),
            _ => None,
        };
        match m.key.as_str() {
            "profile" => {
                out.profile = Some(text.ok_or("`profile` must be a quoted URL")?);
                if let Some(v) = m.value.param("version").and_then(Bare::as_str) {
                    out.version = Some(v.to_string());
                }
            }
            "version" => out.version = Some(text.ok_or("`version` must be a string")?),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_header_in_the_forms_agents_send() {
        let a = parse_agent(r#"profile="https://agent.example/p.json""#).unwrap();
        assert_eq!(a.profile.as_deref(), Some("https://agent.example/p.json"));
        assert_eq!(a.version, None);
        let a = parse_agent(r#"profile="..."; version="2099-01-01""#).unwrap();
        assert_eq!(a.version.as_deref(), Some("2099-01-01"));
        let a = parse_agent(r#"profile="x", version="2026-04-08""#).unwrap();
        assert_eq!(a.version.as_deref(), Some("2026-04-08"));
        assert!(parse_agent("profile=1").is_err());
        assert!(parse_agent("not a dictionary!").is_err());
        assert_eq!(
            UcpVersion::parse("2026-04-08"),
            Some(UcpVersion::V2026_04_08)
        );
        assert_eq!(UcpVersion::parse("2099-01-01"), None);
    }
}
