//! Stripe's request parameters: `application/x-www-form-urlencoded` pairs whose
//! names use bracket notation (`metadata[order_id]=…`, `expand[]=…`,
//! `payment_method_data[type]=card`), decoded once into a tree, with typed getters
//! that fail with the errors Stripe gives (`Invalid integer: abc`, `Received unknown
//! parameter: foo`, …).

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Parameters in one request, past this, are refused (Stripe's bodies are small).
pub const PAIRS_MAX: usize = 1_000;
/// Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500.
pub const METADATA_KEYS_MAX: usize = 50;
pub const METADATA_KEY_CHARS_MAX: usize = 40;
pub const METADATA_VALUE_CHARS_MAX: usize = 500;

/// A node of the parameter tree. `expand[]=a` makes a list; `a[b]=c` a map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    Value(String),
    List(Vec<Node>),
    Map(BTreeMap<String, Node>),
}

/// The decoded parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// The pairs as sent (percent-decoded), for the request log.
    pub pairs: Vec<(String, String)>,
    /// The bracket-notation tree, compared for idempotent replays.
    pub tree: BTreeMap<String, Node>,
}

/// Names never echoed into logs or stored fingerprints: card data stays out of them.
const REDACTED_PARAMS: &[&str] = &["card[number]", "card[cvc]"];

impl Params {
    /// Decodes a form body (or a query string).
    pub fn parse(raw: &[u8]) -> Result<Params, ApiError> {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(raw) {
            if params.pairs.len() >= PAIRS_MAX {
                return Err(ApiError::invalid(format!(
                    "Too many parameters: at most {PAIRS_MAX} are accepted."
                )));
            }
            let path = split_name(&name)?;
            insert(&mut params.tree, &name, &path, value.to_string())?;
            params.pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(params)
    }

    /// The pairs with card numbers and security codes masked.
    pub fn redacted_pairs(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(k, v)| {
                if REDACTED_PARAMS.contains(&k.as_str()) {
                    let tail: String = v
                        .chars()
                        .rev()
                        .take(4)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let shown = if k == "card[number]" {
                        format!("••••{tail}")
                    } else {
                        "•••".to_string()
                    };
                    (k.clone(), shown)
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    }

    /// What an idempotent replay is compared on: the tree, card data masked.
    pub fn fingerprint(&self) -> String {
        let redacted = Params::from_pairs(self.redacted_pairs());
        serde_json::to_string(&redacted.tree).unwrap_or_default()
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            if let Ok(path) = split_name(&k) {
                let _ = insert(&mut p.tree, &k, &path, v.clone());
            }
            p.pairs.push((k, v));
        }
        p
    }

    /// The node at `path` (`["payment_method_data", "type"]`).
    pub fn node(&self, path: &[&str]) -> Option<&Node> {
        let (first, rest) = path.split_first()?;
        let mut node = self.tree.get(*first)?;
        for seg in rest {
            node = match node {
                Node::Map(m) => m.get(*seg)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A string parameter; an empty value counts as absent (Stripe's way to unset).
    pub fn str_at(&self, path: &[&str]) -> Result<Option<&str>, ApiError> {
        match self.node(path) {
            None => Ok(None),
            Some(Node::Value(v)) if v.is_empty() => Ok(None),
            Some(Node::Value(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(ApiError::invalid_param(
                &display_name(path),
                format!(
                    "Invalid string: {} must be a string, not a hash or array.",
                    display_name(path)
                ),
            )),
        }
    }

    pub fn str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        self.str_at(&[name])
    }

    /// A required string parameter.
    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.str(name)?.ok_or_else(|| ApiError::missing_param(name))
    }

    /// An integer parameter (`Invalid integer: abc`).
    pub fn int_at(&self, path: &[&str]) -> Result<Option<i64>, ApiError> {
        let name = display_name(path);
        match self.str_at(path)? {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid_param(&name, format!("Invalid integer: {v}"))
                    .code("parameter_invalid_integer")
            }),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.int_at(&[name])
    }

    /// A boolean parameter: `true` or `false` (`Invalid boolean: yes`).
    pub fn bool_at(&self, path: &[&str]) -> Result<Option<bool>, ApiError> {
        match self.str_at(path)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid_param(
                &display_name(path),
                format!("Invalid boolean: {v}"),
            )),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.bool_at(&[name])
    }

    /// One of a fixed set of values.
    pub fn enum_str<'a>(
        &'a self,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a str>, ApiError> {
        match self.str(name)? {
            Some(v) if !allowed.contains(&v) => Err(ApiError::invalid_param(
                name,
                format!("Invalid {name}: must be one of {}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }

    /// `metadata[…]` with Stripe's limits. Empty values are kept (as "") so an
    /// update can unset a key; create calls drop them.
    pub fn metadata(&self) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        let map = match self.tree.get("metadata") {
            None => return Ok(None),
            Some(Node::Value(v)) if v.is_empty() => return Ok(Some(BTreeMap::new())),
            Some(Node::Map(m)) => m,
            Some(_) => {
                return Err(ApiError::invalid_param(
                    "metadata",
                    "Invalid metadata: must be a hash of strings.",
                ));
            }
        };
        if map.len() > METADATA_KEYS_MAX {
            return Err(ApiError::invalid_param(
                "metadata",
                format!("Invalid metadata: metadata can have at most {METADATA_KEYS_MAX} keys."),
            ));
        }
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let Node::Value(v) = v else {
                return Err(ApiError::invalid_param(
                    &format!("metadata[{k}]"),
                    "Invalid metadata: nested values are not allowed.",
                ));
            };
            if k.chars().count() > METADATA_KEY_CHARS_MAX {
                return Err(ApiError::invalid_param(
                    &format!("metadata[{k}]"),
                    format!(
                        "Invalid metadata: keys must be at most {METADATA_KEY_CHARS_MAX} characters."
                    ),
                ));
            }
            if v.chars().count() > METADATA_VALUE_CHARS_MAX {
                return Err(ApiError::invalid_param(
                    &format!("metadata[{k}]"),
                    format!(
                        "Invalid metadata: values must be at most {METADATA_VALUE_CHARS_MAX} characters."
                    ),
                ));
            }
            out.insert(k.clone(), v.clone());
        }
        Ok(Some(out))
    }

    /// `expand[]=a&expand[]=b` (or `expand[0]=a`): the paths to expand.
    pub fn expand(&self) -> Vec<String> {
        match self.tree.get("expand") {
            Some(Node::List(items)) => items.iter().filter_map(leaf).collect(),
            Some(Node::Map(m)) => {
                let mut indexed: Vec<(u64, String)> = m
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, leaf(v)?)))
                    .collect();
                indexed.sort();
                indexed.into_iter().map(|(_, v)| v).collect()
            }
            Some(Node::Value(v)) if !v.is_empty() => vec![v.clone()],
            _ => Vec::new(),
        }
    }

    /// Refuses any top-level parameter not in `allowed`, and any child of a hash
    /// parameter not in its list (`("payment_method_data", &["type", …])`), as Stripe
    /// does: `Received unknown parameter: foo`.
    pub fn check_allowed(
        &self,
        allowed: &[&str],
        hashes: &[(&str, &[&str])],
    ) -> Result<(), ApiError> {
        for (name, node) in &self.tree {
            if !allowed.contains(&name.as_str()) {
                return Err(unknown(name));
            }
            let Some((_, children)) = hashes.iter().find(|(h, _)| *h == name) else {
                continue;
            };
            match node {
                Node::Map(m) => {
                    if let Some(child) = m.keys().find(|k| !children.contains(&k.as_str())) {
                        return Err(unknown(&format!("{name}[{child}]")));
                    }
                }
                Node::Value(v) if v.is_empty() => {}
                _ => {
                    return Err(ApiError::invalid_param(
                        name,
                        format!("Invalid object: {name} must be a hash."),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::invalid_param(name, format!("Received unknown parameter: {name}"))
        .code("parameter_unknown")
}

fn leaf(n: &Node) -> Option<String> {
    match n {
        Node::Value(v) => Some(v.clone()),
        _ => None,
    }
}

/// `["payment_method_data", "type"]` → `payment_method_data[type]`.
pub fn display_name(path: &[&str]) -> String {
    let mut s = String::new();
    for (i, seg) in path.iter().enumerate() {
        if i == 0 {
            s.push_str(seg);
        } else {
            s.push('[');
            s.push_str(seg);
            s.push(']');
        }
    }
    s
}

/// `a[b][]` → `["a", "b", ""]`.
fn split_name(name: &str) -> Result<Vec<String>, ApiError> {
    let malformed = || {
        ApiError::invalid(format!(
            "Invalid request: the parameter name '{name}' is malformed."
        ))
    };
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if head.is_empty() {
        return Err(malformed());
    }
    let mut path = vec![head.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let close = inner.find(']').ok_or_else(malformed)?;
        path.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    Ok(path)
}

fn insert(
    tree: &mut BTreeMap<String, Node>,
    name: &str,
    path: &[String],
    value: String,
) -> Result<(), ApiError> {
    let conflict = || {
        ApiError::invalid(format!(
            "Invalid request: the parameter '{name}' conflicts with another one."
        ))
    };
    let Some((first, rest)) = path.split_first() else {
        return Err(conflict());
    };
    if rest.is_empty() {
        // A repeated scalar: the last one wins.
        return match tree.get(first) {
            Some(Node::Map(_)) | Some(Node::List(_)) => Err(conflict()),
            _ => {
                tree.insert(first.clone(), Node::Value(value));
                Ok(())
            }
        };
    }
    let child = tree.entry(first.clone()).or_insert_with(|| {
        if rest[0].is_empty() {
            Node::List(Vec::new())
        } else {
            Node::Map(BTreeMap::new())
        }
    });
    insert_node(child, rest, value).map_err(|()| conflict())
}

fn insert_node(node: &mut Node, path: &[String], value: String) -> Result<(), ()> {
    let Some((seg, rest)) = path.split_first() else {
        return Err(());
    };
    match node {
        Node::List(items) if seg.is_empty() => {
            if rest.is_empty() {
                items.push(Node::Value(value));
                Ok(())
            } else {
                // `items[][price]=…`: each `[]` starts a new element.
                let mut m = Node::Map(BTreeMap::new());
                insert_node(&mut m, rest, value)?;
                items.push(m);
                Ok(())
            }
        }
        Node::Map(m) if !seg.is_empty() => {
            if rest.is_empty() {
                match m.get(seg) {
                    Some(Node::Map(_)) | Some(Node::List(_)) => Err(()),
                    _ => {
                        m.insert(seg.clone(), Node::Value(value));
                        Ok(())
                    }
                }
            } else {
                let child = m.entry(seg.clone()).or_insert_with(|| {
                    if rest[0].is_empty() {
                        Node::List(Vec::new())
                    } else {
                        Node::Map(BTreeMap::new())
                    }
                });
                insert_node(child, rest, value)
            }
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_build_a_tree() {
        let p = Params::parse(
            b"amount=2000&metadata[order_id]=ord_1&metadata[cart]=c%201&expand[]=latest_charge&expand[]=customer&payment_method_data[type]=card",
        )
        .unwrap();
        assert_eq!(p.int("amount").unwrap(), Some(2000));
        let md = p.metadata().unwrap().unwrap();
        assert_eq!(md["order_id"], "ord_1");
        assert_eq!(md["cart"], "c 1");
        assert_eq!(p.expand(), vec!["latest_charge", "customer"]);
        assert_eq!(
            p.str_at(&["payment_method_data", "type"]).unwrap(),
            Some("card")
        );
        assert_eq!(p.pairs.len(), 6);
    }

    #[test]
    fn indexed_lists_and_nested_hashes() {
        let p =
            Params::parse(b"expand[1]=b&expand[0]=a&billing_details[address][country]=US").unwrap();
        assert_eq!(p.expand(), vec!["a", "b"]);
        assert_eq!(
            p.str_at(&["billing_details", "address", "country"])
                .unwrap(),
            Some("US")
        );
    }

    #[test]
    fn bad_values_get_stripes_errors() {
        let p = Params::parse(b"amount=12.5&confirm=yes&foo=1").unwrap();
        let e = p.int("amount").unwrap_err();
        assert_eq!(e.message, "Invalid integer: 12.5");
        assert_eq!(e.param.as_deref(), Some("amount"));
        assert_eq!(
            p.bool("confirm").unwrap_err().message,
            "Invalid boolean: yes"
        );
        let e = p.check_allowed(&["amount", "confirm"], &[]).unwrap_err();
        assert_eq!(e.message, "Received unknown parameter: foo");
    }

    #[test]
    fn unknown_children_of_hashes_are_refused() {
        let p = Params::parse(b"payment_method_data[typo]=card").unwrap();
        let e = p
            .check_allowed(
                &["payment_method_data"],
                &[("payment_method_data", &["type"])],
            )
            .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("payment_method_data[typo]"));
    }

    #[test]
    fn malformed_and_conflicting_names_are_refused() {
        assert!(Params::parse(b"metadata[a=1").is_err());
        assert!(Params::parse(b"[a]=1").is_err());
        assert!(Params::parse(b"metadata=x&metadata[a]=1").is_err());
    }

    #[test]
    fn metadata_limits_hold() {
        let long_key = format!("metadata[{}]=v", "k".repeat(41));
        let e = Params::parse(long_key.as_bytes())
            .unwrap()
            .metadata()
            .unwrap_err();
        assert!(e.message.contains("40 characters"));
        let many: Vec<String> = (0..51).map(|i| format!("metadata[k{i}]=v")).collect();
        let e = Params::parse(many.join("&").as_bytes())
            .unwrap()
            .metadata()
            .unwrap_err();
        assert!(e.message.contains("50 keys"));
    }

    #[test]
    fn card_numbers_never_reach_the_log_or_the_fingerprint() {
        let p = Params::parse(b"type=card&card[number]=4242424242424242&card[cvc]=123").unwrap();
        let log = p.redacted_pairs();
        assert_eq!(log[1].1, "••••4242");
        assert_eq!(log[2].1, "•••");
        assert!(!p.fingerprint().contains("4242424242424242"));
    }

    #[test]
    fn fingerprints_ignore_pair_order() {
        let a = Params::parse(b"amount=1&currency=usd&metadata[a]=1&metadata[b]=2").unwrap();
        let b = Params::parse(b"metadata[b]=2&currency=usd&amount=1&metadata[a]=1").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = Params::parse(b"amount=2&currency=usd").unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
