//! What the UCP door keeps with a checkout session (its door state, written in
//! the same write as the session): the fulfillment methods with the
//! destinations the agent named and their ids, the buyer's consent and full
//! name, and the item ids the agent used.

use anycart_core::session::CheckoutSession;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What marks a session as opened through the UCP door.
pub const DOOR: &str = "ucp";

/// The door state of a UCP session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorState {
    /// [`DOOR`]: the UCP door serves only the sessions it opened.
    #[serde(default)]
    pub door: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MethodState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// The id the agent named each item by (a SKU or a variant id), by variant
    /// id, so responses echo it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub item_ids: BTreeMap<String, String>,
    /// The agent profile that opened the checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_profile: Option<String>,
}

impl DoorState {
    /// Whether the UCP door opened `session` (it serves no other door's).
    pub fn opened(session: &CheckoutSession) -> bool {
        DoorState::of(session).door == DOOR
    }

    /// The state stored with `session` (empty for a session another door opened).
    pub fn of(session: &CheckoutSession) -> DoorState {
        session
            .door_state
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// As stored.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The shipping method (UCP allows several; anycart ships one basket to one
    /// place, so the first shipping method is the one priced).
    pub fn shipping(&self) -> Option<&MethodState> {
        self.methods.iter().find(|m| m.kind == "shipping")
    }
}

/// One fulfillment method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodState {
    pub id: String,
    /// `shipping` or `pickup`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Destination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_destination_id: Option<String>,
    /// The id of the method's one group (all lines ship together).
    pub group_id: String,
    /// The option the agent chose (a rate code or id), kept until it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_option: Option<String>,
}

impl MethodState {
    /// The destination the agent selected.
    pub fn selected(&self) -> Option<(usize, &Destination)> {
        let id = self.selected_destination_id.as_deref()?;
        self.destinations
            .iter()
            .enumerate()
            .find(|(_, d)| d.id.as_deref() == Some(id))
    }
}

/// A shipping destination: a postal address with an id (UCP's
/// `shipping_destination`), as the agent sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

impl Destination {
    /// The same address, ignoring ids, names and case: what makes two saved
    /// addresses one.
    pub fn same_place(&self, other: &Destination) -> bool {
        let norm = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_lowercase());
        norm(&self.street_address) == norm(&other.street_address)
            && norm(&self.extended_address) == norm(&other.extended_address)
            && norm(&self.address_locality) == norm(&other.address_locality)
            && norm(&self.address_region) == norm(&other.address_region)
            && norm(&self.postal_code) == norm(&other.postal_code)
            && norm(&self.address_country) == norm(&other.address_country)
    }

    /// The recipient's name, if the destination names one.
    pub fn name(&self) -> Option<String> {
        if let Some(n) = self.full_name.as_ref().filter(|n| !n.trim().is_empty()) {
            return Some(n.trim().to_string());
        }
        let joined = [&self.first_name, &self.last_name]
            .iter()
            .filter_map(|p| p.as_deref().map(str::trim).filter(|p| !p.is_empty()))
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    }
}

/// The buyer's consent (UCP's buyer consent extension).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_of_data: Option<bool>,
}
