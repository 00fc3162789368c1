//! `/v1/customers`: create, retrieve, update.

use super::{Done, Request};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::model::Customer;
use crate::params::{Node, Params};
use crate::state::State;

const FIELDS: &[&str] = &[
    "email",
    "name",
    "description",
    "phone",
    "metadata",
    "expand",
];

/// Stripe's own check is loose too: something@something.tld, no spaces.
fn check_email(p: &Params) -> Result<Option<String>, ApiError> {
    let Some(email) = p.str("email")? else {
        return Ok(None);
    };
    let ok = email.len() <= 512
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        return Err(
            ApiError::invalid_param("email", format!("Invalid email address: {email}"))
                .code("email_invalid"),
        );
    }
    Ok(Some(email.to_string()))
}

pub(super) fn create(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(FIELDS, &[])?;
    let customer = Customer {
        id: new_id("cus"),
        created: req.now,
        email: check_email(p)?,
        name: p.str("name")?.map(str::to_string),
        description: p.str("description")?.map(str::to_string),
        phone: p.str("phone")?.map(str::to_string),
        metadata: p
            .metadata()?
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
    };
    let json = customer.to_json();
    state.customers.push(customer);
    let mut done = Done::ok(json.clone());
    done.events.push(("customer.created".into(), json));
    Ok(done)
}

pub(super) fn retrieve(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let c = state
        .customer(id)
        .ok_or_else(|| ApiError::no_such("customer", id))?;
    Ok(Done::ok(c.to_json()))
}

pub(super) fn update(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(FIELDS, &[])?;
    let email = check_email(p)?;
    let metadata = p.metadata()?;
    let c = state
        .customer_mut(id)
        .ok_or_else(|| ApiError::no_such("customer", id))?;
    if p.node(&["email"]).is_some() {
        c.email = email;
    }
    for (field, value) in [
        ("name", &mut c.name),
        ("description", &mut c.description),
        ("phone", &mut c.phone),
    ] {
        if let Some(v) = p.node(&[field]) {
            *value = match v {
                Node::Value(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
        }
    }
    if let Some(md) = metadata {
        if md.is_empty() {
            c.metadata.clear();
        }
        for (k, v) in md {
            if v.is_empty() {
                c.metadata.remove(&k);
            } else {
                c.metadata.insert(k, v);
            }
        }
    }
    let json = c.to_json();
    let mut done = Done::ok(json.clone());
    done.events.push(("customer.updated".into(), json));
    Ok(done)
}
