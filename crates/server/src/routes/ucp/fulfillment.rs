//! Fulfillment methods, destinations and options: a request's `fulfillment`
//! merged into what the session has, and what the checkout service prices from
//! it (the address of the selected destination, the chosen rate).

use super::address_book;
use super::state::{Destination, DoorState, MethodState};
use super::wire::MethodRequest;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_core::pricing::{ShippingZone, shipping_rates_for};
use anycart_core::session::Fulfillment;
use anycart_core::values::TEXT_LEN_MAX;
use anycart_core::{Address, CountryCode, MerchantId, ShippingRateId};

/// Most fulfillment methods one checkout may have.
pub const METHODS_MAX: usize = 4;
/// Most destinations one method may list.
pub const DESTINATIONS_MAX: usize = 20;
/// Longest id an agent may give a method, destination or group.
pub const ID_LEN_MAX: usize = 128;

fn short_id(prefix: &str) -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("{prefix}_{}", &id[id.len() - 12..])
}

fn invalid(param: String, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Invalid, message).with_param(param)
}

/// Who the buyer is, for the conformance mode's address book.
pub struct Book<'a> {
    pub merchant: MerchantId,
    /// The buyer's email when the conformance mode's address book applies.
    pub email: Option<&'a str>,
}

/// The methods after a request's `fulfillment.methods` (which replace the list;
/// a method the request names by id, or the only one, keeps what the request
/// leaves out).
pub async fn merge(
    state: &AppState,
    book: &Book<'_>,
    current: &[MethodState],
    request: &[MethodRequest],
) -> Result<Vec<MethodState>, ApiError> {
    if request.len() > METHODS_MAX {
        return Err(invalid(
            "$.fulfillment.methods".into(),
            format!("At most {METHODS_MAX} fulfillment methods are accepted."),
        ));
    }
    let mut out = Vec::with_capacity(request.len());
    for (i, req) in request.iter().enumerate() {
        let p = format!("$.fulfillment.methods[{i}]");
        let existing = match &req.id {
            Some(id) => current.iter().find(|m| &m.id == id),
            None if current.len() == 1 => current.first(),
            None => current.get(i),
        };
        out.push(merge_method(state, book, existing, req, &p).await?);
    }
    Ok(out)
}

async fn merge_method(
    state: &AppState,
    book: &Book<'_>,
    existing: Option<&MethodState>,
    req: &MethodRequest,
    p: &str,
) -> Result<MethodState, ApiError> {
    let id = match (&req.id, existing) {
        (Some(id), _) => bounded_id(id, &format!("{p}.id"))?,
        (None, Some(e)) => e.id.clone(),
        (None, None) => short_id("ship"),
    };
    let kind = req
        .kind
        .clone()
        .or_else(|| existing.map(|e| e.kind.clone()))
        .unwrap_or_else(|| "shipping".into());
    if kind != "shipping" {
        return Err(invalid(
            format!("{p}.type"),
            "Only shipping is offered (no pickup locations).",
        ));
    }
    let destinations = match req.destinations.as_deref() {
        Some(list) if !list.is_empty() => new_destinations(state, book, list, p).await?,
        _ => match existing.filter(|e| !e.destinations.is_empty()) {
            Some(e) => e.destinations.clone(),
            None => match book.email {
                Some(email) => {
                    address_book::saved_destinations(state, book.merchant, email).await?
                }
                None => vec![],
            },
        },
    };
    let selected = match &req.selected_destination_id {
        Some(Some(id)) => {
            if !destinations.iter().any(|d| d.id.as_deref() == Some(id)) {
                return Err(invalid(
                    format!("{p}.selected_destination_id"),
                    "No destination of this method has this id.",
                ));
            }
            Some(id.clone())
        }
        Some(None) => None,
        None => existing
            .and_then(|e| e.selected_destination_id.clone())
            .filter(|id| destinations.iter().any(|d| d.id.as_deref() == Some(id))),
    };
    let requested_option = match req.groups.as_deref() {
        Some([first, ..]) => match &first.selected_option_id {
            Some(choice) => choice.clone(),
            None => existing.and_then(|e| e.requested_option.clone()),
        },
        _ => existing.and_then(|e| e.requested_option.clone()),
    };
    Ok(MethodState {
        id,
        kind,
        destinations,
        selected_destination_id: selected,
        group_id: existing.map_or_else(|| short_id("grp"), |e| e.group_id.clone()),
        requested_option,
    })
}

/// The destinations a request lists, checked, each with an id (the agent's,
/// the address book's in the conformance mode, or a new one).
async fn new_destinations(
    state: &AppState,
    book: &Book<'_>,
    list: &[Destination],
    p: &str,
) -> Result<Vec<Destination>, ApiError> {
    if list.len() > DESTINATIONS_MAX {
        return Err(invalid(
            format!("{p}.destinations"),
            format!("At most {DESTINATIONS_MAX} destinations are accepted."),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (j, d) in list.iter().enumerate() {
        let dp = format!("{p}.destinations[{j}]");
        let mut d = checked_destination(d, &dp)?;
        match (book.email, &d.id) {
            (_, Some(id)) => d.id = Some(bounded_id(id, &format!("{dp}.id"))?),
            (Some(email), None) => {
                address_book::remember(state, book.merchant, email, &mut d).await?
            }
            (None, None) => d.id = Some(short_id("dest")),
        }
        if out.iter().any(|o: &Destination| o.id == d.id) {
            return Err(invalid(
                format!("{dp}.id"),
                "Destination ids must be unique.",
            ));
        }
        out.push(d);
    }
    Ok(out)
}

fn bounded_id(id: &str, param: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > ID_LEN_MAX || id.chars().any(char::is_control) {
        return Err(invalid(
            param.to_string(),
            format!("Ids are 1 to {ID_LEN_MAX} characters."),
        ));
    }
    Ok(id.to_string())
}

/// A destination with its fields trimmed and bounded and its country checked.
fn checked_destination(d: &Destination, p: &str) -> Result<Destination, ApiError> {
    let text = |v: &Option<String>, field: &str| -> Result<Option<String>, ApiError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) if s.chars().count() > TEXT_LEN_MAX => Err(invalid(
                format!("{p}.{field}"),
                format!("At most {TEXT_LEN_MAX} characters."),
            )),
            Some(s) => Ok(Some(s.to_string())),
        }
    };
    let country = match text(&d.address_country, "address_country")? {
        Some(c) => Some(
            CountryCode::parse(&c)
                .map_err(|e| {
                    ApiError::new(ErrorCode::InvalidAddress, e.to_string())
                        .with_param(format!("{p}.address_country"))
                })?
                .as_ref()
                .to_string(),
        ),
        None => None,
    };
    Ok(Destination {
        id: d.id.clone(),
        street_address: text(&d.street_address, "street_address")?,
        extended_address: text(&d.extended_address, "extended_address")?,
        address_locality: text(&d.address_locality, "address_locality")?,
        address_region: text(&d.address_region, "address_region")?,
        postal_code: text(&d.postal_code, "postal_code")?,
        address_country: country,
        first_name: text(&d.first_name, "first_name")?,
        last_name: text(&d.last_name, "last_name")?,
        full_name: text(&d.full_name, "full_name")?,
        phone_number: text(&d.phone_number, "phone_number")?,
    })
}

/// What the checkout service prices: the selected destination as an address (a
/// full one when it has a street, city, postal code and a name, from the
/// destination or the buyer; else a region to quote from), or none.
pub fn core_fulfillment(state: &DoorState, buyer_name: Option<String>) -> Fulfillment {
    let Some((_, dest)) = state.shipping().and_then(MethodState::selected) else {
        return Fulfillment::default();
    };
    let Some(country) = dest.address_country.as_deref() else {
        return Fulfillment::default();
    };
    let name = dest.name().or(buyer_name);
    let get = |v: &Option<String>| v.clone().unwrap_or_default();
    let full = match (
        &dest.street_address,
        &dest.address_locality,
        &dest.postal_code,
        &name,
    ) {
        (Some(street), Some(city), Some(postal), Some(name)) => Address::parse(
            name,
            street,
            dest.extended_address.as_deref(),
            city,
            &get(&dest.address_region),
            country,
            postal,
        )
        .ok(),
        _ => None,
    };
    let address = full.or_else(|| {
        Address::destination(
            name.as_deref().unwrap_or(""),
            &get(&dest.address_locality),
            &get(&dest.address_region),
            country,
            &get(&dest.postal_code),
        )
        .ok()
    });
    Fulfillment {
        name,
        email: None,
        phone_number: dest.phone_number.clone(),
        address,
    }
}

/// The rate an option id names for the destination's country: a rate code
/// (`std-ship`) or a rate id. `None` when the destination is unknown or the
/// option is not offered there.
pub fn rate_for(zones: &[ShippingZone], state: &DoorState, option: &str) -> Option<ShippingRateId> {
    let (_, dest) = state.shipping().and_then(MethodState::selected)?;
    let country = CountryCode::parse(dest.address_country.as_deref()?).ok()?;
    shipping_rates_for(zones, &country)
        .into_iter()
        .find(|r| r.code.as_deref() == Some(option) || r.id.to_string() == option)
        .map(|r| r.id)
}
