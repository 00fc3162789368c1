//! An order's append-only logs as agents report them (`PUT /orders/{id}`):
//! fulfillment events and adjustments checked against UCP's schema and the
//! order's lines, new entries appended, recorded ones never rewritten.

use super::convert::OrderDoc;
use crate::error::{ApiError, ErrorCode};
use anycart_core::order::Order;
use serde_json::Value;

/// Most fulfillment events and adjustments an order keeps (each).
pub const ORDER_LOG_ENTRIES_MAX: usize = 100;
/// Longest free text in an event or adjustment.
const NOTE_LEN_MAX: usize = 1_000;
/// Longest id or type.
const LABEL_LEN_MAX: usize = 128;

pub fn unprocessable(param: String, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidOrder, message).with_param(param)
}

/// Appends what an agent reports: new fulfillment events and adjustments, each
/// checked against UCP's schema and the order's lines. Entries already
/// recorded must come back unchanged.
pub fn apply_reported(doc: &mut OrderDoc, request: &Value, order: &Order) -> Result<(), ApiError> {
    if !request.is_object() {
        return Err(unprocessable(
            "$".into(),
            "The order must be a JSON object.",
        ));
    }
    if let Some(f) = request.get("fulfillment") {
        if !f.is_object() {
            return Err(unprocessable(
                "$.fulfillment".into(),
                "fulfillment must be an object.",
            ));
        }
        if let Some(events) = f.get("events") {
            append(
                &mut doc.events,
                events,
                "$.fulfillment.events",
                order,
                check_event,
            )?;
        }
    }
    if let Some(adjustments) = request.get("adjustments") {
        append(
            &mut doc.adjustments,
            adjustments,
            "$.adjustments",
            order,
            check_adjustment,
        )?;
    }
    Ok(())
}

type Check = fn(&serde_json::Map<String, Value>, &str, &Order) -> Result<(), ApiError>;

fn append(
    log: &mut Vec<Value>,
    entries: &Value,
    param: &str,
    order: &Order,
    check: Check,
) -> Result<(), ApiError> {
    let list = entries
        .as_array()
        .ok_or_else(|| unprocessable(param.into(), "Must be a list."))?;
    let mut added = vec![];
    for (i, entry) in list.iter().enumerate() {
        let p = format!("{param}[{i}]");
        let obj = entry
            .as_object()
            .ok_or_else(|| unprocessable(p.clone(), "Each entry must be an object."))?;
        check(obj, &p, order)?;
        let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
        match log
            .iter()
            .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
        {
            Some(recorded) if recorded == entry => {}
            Some(_) => {
                return Err(unprocessable(
                    format!("{p}.id"),
                    "Recorded entries cannot change (the log is append-only).",
                ));
            }
            None if added.iter().any(|a: &Value| a.get("id") == entry.get("id")) => {
                return Err(unprocessable(format!("{p}.id"), "Ids must be unique."));
            }
            None => added.push(entry.clone()),
        }
    }
    if log.len() + added.len() > ORDER_LOG_ENTRIES_MAX {
        return Err(unprocessable(
            param.into(),
            format!("An order keeps at most {ORDER_LOG_ENTRIES_MAX} entries here."),
        ));
    }
    log.extend(added);
    Ok(())
}

fn label(obj: &serde_json::Map<String, Value>, field: &str, p: &str) -> Result<(), ApiError> {
    match obj.get(field).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() && s.len() <= LABEL_LEN_MAX => Ok(()),
        _ => Err(unprocessable(
            format!("{p}.{field}"),
            format!("{field} must be a string of 1 to {LABEL_LEN_MAX} characters."),
        )),
    }
}

fn timestamp(obj: &serde_json::Map<String, Value>, p: &str) -> Result<(), ApiError> {
    let ok = obj
        .get("occurred_at")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        });
    if ok {
        Ok(())
    } else {
        Err(unprocessable(
            format!("{p}.occurred_at"),
            "occurred_at must be an RFC 3339 date-time.",
        ))
    }
}

fn note(obj: &serde_json::Map<String, Value>, field: &str, p: &str) -> Result<(), ApiError> {
    match obj.get(field) {
        None => Ok(()),
        Some(Value::String(s)) if s.len() <= NOTE_LEN_MAX => Ok(()),
        Some(_) => Err(unprocessable(
            format!("{p}.{field}"),
            format!("{field} must be a string of at most {NOTE_LEN_MAX} characters."),
        )),
    }
}

/// `line_items`: lines of this order, each at most its quantity.
fn lines(
    obj: &serde_json::Map<String, Value>,
    p: &str,
    order: &Order,
    required: bool,
) -> Result<(), ApiError> {
    let Some(items) = obj.get("line_items") else {
        return if required {
            Err(unprocessable(
                format!("{p}.line_items"),
                "line_items is required.",
            ))
        } else {
            Ok(())
        };
    };
    let items = items
        .as_array()
        .ok_or_else(|| unprocessable(format!("{p}.line_items"), "line_items must be a list."))?;
    for (k, li) in items.iter().enumerate() {
        let lp = format!("{p}.line_items[{k}]");
        let id = li.get("id").and_then(Value::as_str);
        let qty = li.get("quantity").and_then(Value::as_i64);
        let line = id.and_then(|id| order.lines.iter().find(|l| l.id.to_string() == id));
        match (line, qty) {
            (Some(l), Some(q)) if q >= 1 && q <= i64::from(l.quantity.get()) => {}
            (None, _) => {
                return Err(unprocessable(
                    format!("{lp}.id"),
                    "No line of this order has this id.",
                ));
            }
            _ => {
                return Err(unprocessable(
                    format!("{lp}.quantity"),
                    "quantity must be from 1 to the line's quantity.",
                ));
            }
        }
    }
    Ok(())
}

pub fn check_event(
    obj: &serde_json::Map<String, Value>,
    p: &str,
    order: &Order,
) -> Result<(), ApiError> {
    label(obj, "id", p)?;
    label(obj, "type", p)?;
    timestamp(obj, p)?;
    lines(obj, p, order, true)?;
    for field in ["tracking_number", "carrier", "description"] {
        note(obj, field, p)?;
    }
    if let Some(url) = obj.get("tracking_url") {
        let ok = url
            .as_str()
            .is_some_and(|u| u.len() <= NOTE_LEN_MAX && url::Url::parse(u).is_ok());
        if !ok {
            return Err(unprocessable(
                format!("{p}.tracking_url"),
                "tracking_url must be a URL.",
            ));
        }
    }
    Ok(())
}

fn check_adjustment(
    obj: &serde_json::Map<String, Value>,
    p: &str,
    order: &Order,
) -> Result<(), ApiError> {
    label(obj, "id", p)?;
    label(obj, "type", p)?;
    timestamp(obj, p)?;
    match obj.get("status").and_then(Value::as_str) {
        Some("pending" | "completed" | "failed") => {}
        _ => {
            return Err(unprocessable(
                format!("{p}.status"),
                "status must be pending, completed or failed.",
            ));
        }
    }
    if let Some(a) = obj.get("amount")
        && !a.is_i64()
    {
        return Err(unprocessable(
            format!("{p}.amount"),
            "amount must be an integer (minor units).",
        ));
    }
    lines(obj, p, order, false)?;
    note(obj, "description", p)
}
