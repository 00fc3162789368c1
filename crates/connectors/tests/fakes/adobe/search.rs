//! `searchCriteria[…]` for the fake Adobe Commerce: parsing the bracketed query
//! keys, Magento's condition types, and its paging (a page past the end answers
//! the last page again).

use super::magento_error;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `searchCriteria[…]` as Magento reads it.
#[derive(Default)]
pub struct Criteria {
    groups: BTreeMap<usize, BTreeMap<usize, BTreeMap<String, String>>>,
    page_size: Option<usize>,
    current_page: usize,
}

pub fn criteria(q: &[(String, String)]) -> Result<Criteria, Response> {
    let mut c = Criteria {
        current_page: 1,
        ..Default::default()
    };
    let bad = |m: &str| magento_error(StatusCode::BAD_REQUEST, m, json!([]));
    for (k, v) in q {
        let Some(rest) = k.strip_prefix("searchCriteria") else {
            continue;
        };
        let parts: Vec<&str> = rest.split(['[', ']']).filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            ["filter_groups", g, "filters", f, part] => {
                let (Ok(g), Ok(f)) = (g.parse::<usize>(), f.parse::<usize>()) else {
                    return Err(bad("Invalid filter group"));
                };
                c.groups
                    .entry(g)
                    .or_default()
                    .entry(f)
                    .or_default()
                    .insert((*part).into(), v.clone());
            }
            ["pageSize"] => {
                c.page_size = Some(v.parse().map_err(|_| bad("pageSize must be an integer"))?)
            }
            ["currentPage"] => {
                c.current_page = v
                    .parse()
                    .map_err(|_| bad("currentPage must be an integer"))?
            }
            ["sortOrders", _, _] => {}
            [] => {}
            _ => {
                return Err(bad(&format!(
                    "Property \"{rest}\" does not have accessor method"
                )));
            }
        }
    }
    Ok(c)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn condition_holds(item: &Value, filter: &BTreeMap<String, String>) -> Result<bool, Response> {
    let field = filter.get("field").map(String::as_str).unwrap_or_default();
    let value = filter.get("value").cloned().unwrap_or_default();
    let actual = text(&item[field]);
    let cmp = |a: &str, b: &str| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(b)),
    };
    Ok(
        match filter
            .get("condition_type")
            .map(String::as_str)
            .unwrap_or("eq")
        {
            "eq" => actual.is_some_and(|a| a.eq_ignore_ascii_case(&value)),
            "neq" => actual.is_none_or(|a| a != value),
            "in" => actual.is_some_and(|a| value.split(',').any(|v| v == a)),
            "nin" => actual.is_none_or(|a| !value.split(',').any(|v| v == a)),
            "gteq" => actual.is_some_and(|a| cmp(&a, &value).is_some_and(|o| o.is_ge())),
            "lteq" => actual.is_some_and(|a| cmp(&a, &value).is_some_and(|o| o.is_le())),
            "null" => actual.is_none(),
            "notnull" => actual.is_some(),
            other => {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid condition type: %1",
                    json!([other]),
                ));
            }
        },
    )
}

/// Filters (AND across groups, OR within one) and pages like Magento's
/// `SearchResults`, including answering a page past the end with the last page.
pub fn search(items: Vec<Value>, c: &Criteria) -> Result<Value, Response> {
    let mut matched = Vec::new();
    'item: for item in items {
        for group in c.groups.values() {
            let mut any = false;
            for f in group.values() {
                any |= condition_holds(&item, f)?;
            }
            if !any {
                continue 'item;
            }
        }
        matched.push(item);
    }
    let total = matched.len();
    let size = c.page_size.filter(|s| *s > 0).unwrap_or(total.max(1));
    let last_page = total.div_ceil(size).max(1);
    let page = c.current_page.clamp(1, last_page);
    let start = (page - 1) * size;
    let slice: Vec<Value> = matched.into_iter().skip(start).take(size).collect();
    Ok(json!({
        "items": slice,
        "search_criteria": {"filter_groups": [], "page_size": c.page_size, "current_page": c.current_page},
        "total_count": total
    }))
}
