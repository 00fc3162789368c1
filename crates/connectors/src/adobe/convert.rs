//! Pure mapping between anycart and Adobe Commerce's REST shapes: the guest-cart
//! requests for an order, how a pushed order is recognised again, searchCriteria
//! query strings, error messages, and the catalogue/stock page. No I/O, so it is
//! unit-tested directly.

use super::wire::{self, Address, PaymentMethod};
use crate::minor_units;
use crate::{
    CataloguePage, ConnectorError, ImportedLevel, ImportedProduct, ImportedVariant, OrderPush,
    decimal_amount,
};
use anycart_core::Currency;
use anycart_core::order::Order;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// How far before the anycart order's creation time the retry-safe search looks
/// (clock skew between anycart and the platform, generously).
pub const FIND_SINCE_MARGIN_S: i64 = 24 * 3_600;
/// Telephone sent when the shopper gave none: Magento requires one by default.
pub const NO_TELEPHONE: &str = "not provided";
/// Longest error text kept from a platform answer.
const ERROR_CHARS_MAX: usize = 300;

/// The connection settings an order push needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSettings {
    pub shipping_carrier_code: String,
    pub shipping_method_code: String,
    pub payment_method: String,
}

/// Everything the guest-cart flow sends for one anycart order, built before any
/// request so an unmappable order fails without touching the platform.
#[derive(Debug)]
pub struct OrderPlan {
    pub anycart_order_id: String,
    pub email: String,
    /// (platform SKU, quantity) per line.
    pub items: Vec<(String, i64)>,
    pub shipping: wire::ShippingInformationRequest,
    pub payment: wire::PaymentInformationRequest,
    /// The order comment that tags the platform order for people and for search.
    pub comment: String,
    /// Orders created before this (`Y-m-d H:i:s`, UTC) cannot be this one.
    pub created_since: String,
}

/// The token that marks a platform order as anycart's `anycart_order_id` (in the
/// PO number and in the order comment).
pub fn order_tag(anycart_order_id: &str) -> String {
    format!("anycart:{anycart_order_id}")
}

/// True when `order` is the platform order anycart created for
/// `anycart_order_id`: its PO number (set atomically at placement), its external
/// order id, or one of its comments names it.
pub fn is_anycart_order(order: &wire::Order, anycart_order_id: &str) -> bool {
    let by_po = order
        .payment
        .as_ref()
        .and_then(|p| p.po_number.as_deref())
        .is_some_and(|po| po == anycart_order_id);
    let by_ext = order.ext_order_id.as_deref() == Some(anycart_order_id);
    by_po || by_ext || has_tag_comment(order, anycart_order_id)
}

/// True when one of `order`'s comments carries the tag of `anycart_order_id` as a
/// whole word (so `ord_1` never matches `ord_10`).
pub fn has_tag_comment(order: &wire::Order, anycart_order_id: &str) -> bool {
    let tag = order_tag(anycart_order_id);
    order.status_histories.iter().any(|h| {
        h.comment.as_deref().is_some_and(|c| {
            c.split_whitespace()
                .any(|w| w.trim_end_matches([',', '.', ')', ':']) == tag)
        })
    })
}

/// Formats unix seconds as Magento stores `created_at` (`Y-m-d H:i:s`, UTC).
pub fn magento_datetime(unix_s: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_s).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Builds the guest-cart requests for an anycart order. Every line must have a
/// linked platform SKU, and the order needs an email and a shipping address
/// (Magento refuses guest orders without them): otherwise a permanent error.
pub fn order_plan(push: &OrderPush, settings: &OrderSettings) -> Result<OrderPlan, ConnectorError> {
    let order = &push.order;
    let id = order.id.to_string();
    let items = cart_items(push)?;
    let email = guest_email(order)?;
    let address = guest_address(order, &email)?;
    Ok(OrderPlan {
        anycart_order_id: id.clone(),
        email: email.clone(),
        items,
        shipping: wire::ShippingInformationRequest {
            address_information: wire::ShippingInformation {
                shipping_address: address.clone(),
                billing_address: address.clone(),
                shipping_carrier_code: settings.shipping_carrier_code.clone(),
                shipping_method_code: settings.shipping_method_code.clone(),
            },
        },
        payment: wire::PaymentInformationRequest {
            email,
            payment_method: PaymentMethod {
                method: settings.payment_method.clone(),
                po_number: id.clone(),
            },
            billing_address: address,
        },
        comment: tag_comment(order, &id) + &affiliate_note(&push.affiliate),
        created_since: magento_datetime(
            order.created_at_ms.div_euclid(1_000) - FIND_SINCE_MARGIN_S,
        ),
    })
}

/// (platform SKU, quantity) per line; an unlinked variant or an empty order is
/// refused rather than placed short.
fn cart_items(push: &OrderPush) -> Result<Vec<(String, i64)>, ConnectorError> {
    let items = push
        .order
        .lines
        .iter()
        .map(|l| {
            let sku = push.platform_variants.get(&l.variant_id).ok_or_else(|| {
                ConnectorError::Permanent(format!(
                    "variant {} ({}) is not linked to an Adobe Commerce SKU",
                    l.variant_id, l.sku
                ))
            })?;
            Ok((sku.clone(), i64::from(l.quantity.get())))
        })
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    if items.is_empty() {
        return Err(ConnectorError::Permanent("order has no lines".into()));
    }
    Ok(items)
}

/// The buyer's email, else the one given for fulfillment.
fn guest_email(order: &Order) -> Result<String, ConnectorError> {
    order
        .email
        .as_ref()
        .or(order.fulfillment.email.as_ref())
        .map(|e| e.as_ref().to_string())
        .ok_or_else(|| {
            ConnectorError::Permanent("Adobe Commerce guest orders need an email address".into())
        })
}

/// The shipping address as Magento wants it (also used for billing): both names,
/// a street list, and a telephone even when the shopper gave none.
fn guest_address(order: &Order, email: &str) -> Result<Address, ConnectorError> {
    let a = order.fulfillment.address.as_ref().ok_or_else(|| {
        ConnectorError::Permanent(
            "Adobe Commerce guest orders need a shipping address; this order has none".into(),
        )
    })?;
    let name = a.name.trim();
    // Magento requires both names; a one-word name fills both.
    let (first, last) = name.rsplit_once(' ').unwrap_or((name, name));
    let state = a.state.trim();
    Ok(Address {
        firstname: first.trim().to_string(),
        lastname: last.trim().to_string(),
        street: std::iter::once(a.line_one.clone())
            .chain(a.line_two.clone().filter(|l| !l.trim().is_empty()))
            .collect(),
        city: a.city.clone(),
        // Until `resolve_region` reads the directory: the shopper's own text.
        region: state.to_string(),
        region_id: 0,
        region_code: state.to_string(),
        postcode: a.postal_code.clone(),
        country_id: a.country.as_ref().to_ascii_uppercase(),
        telephone: order
            .fulfillment
            .phone_number
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| NO_TELEPHONE.into()),
        email: email.to_string(),
    })
}

/// Sets the address's region from the country's region list (the directory API):
/// Magento's `region_id`, code and name for the region the shopper gave by code
/// or name. A country without a list keeps the shopper's text with id `0`; a
/// region the list does not have is refused here rather than by Magento later.
pub fn resolve_region(
    address: &mut Address,
    country: &wire::CountryInformation,
) -> Result<(), ConnectorError> {
    if country.available_regions.is_empty() {
        return Ok(());
    }
    let given = address.region_code.trim();
    if given.is_empty() {
        return Err(ConnectorError::Permanent(format!(
            "Adobe Commerce lists regions for {}: the address needs one",
            address.country_id
        )));
    }
    let region = country
        .available_regions
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(given) || r.name.eq_ignore_ascii_case(given))
        .ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "`{given}` is not one of Adobe Commerce's regions of {}",
                address.country_id
            ))
        })?;
    address.region_id = region.id.trim().parse().map_err(|_| {
        ConnectorError::Malformed(format!("region id `{}` is not a number", region.id))
    })?;
    address.region_code = region.code.clone();
    address.region = region.name.clone();
    Ok(())
}

/// The order comment: the tag (for search) and what anycart charged (for people).
fn tag_comment(order: &Order, id: &str) -> String {
    let currency = &order.currency;
    let charged = format!(
        "{tag} anycart order {number}: {amount} {code} charged via {provider} ({reference}), {state}.",
        tag = order_tag(id),
        number = order.display_number(),
        amount = decimal_amount(order.payment.amount_minor, currency.exponent()),
        code = currency.code_lower().to_ascii_uppercase(),
        provider = order.payment.provider,
        reference = order.payment.provider_reference,
        state = if order.payment.captured {
            "captured"
        } else {
            "authorised"
        },
    );
    match crate::attribution::sentence(order) {
        Some(source) => format!("{charged} {source}"),
        None => charged,
    }
}

/// The affiliate attribution agents sent, for the order comment (empty when none).
fn affiliate_note(claims: &[anycart_store::AffiliateClaim]) -> String {
    let attributes = crate::affiliate_attributes(claims);
    if attributes.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(" Affiliate attribution: {}.", pairs.join(", "))
}

/// The order comment that records an anycart refund, tagged with its id.
pub fn refund_comment(notice: &anycart_store::RefundNotice) -> String {
    let order = &notice.order;
    let currency = &order.currency;
    let mut comment = format!(
        "{tag} anycart refund of {amount} {code} via {provider} ({reference})",
        tag = order_tag(&notice.refund_id.to_string()),
        amount = decimal_amount(notice.amount_minor, currency.exponent()),
        code = currency.code_lower().to_ascii_uppercase(),
        provider = order.payment.provider,
        reference = notice.provider_reference.as_deref().unwrap_or("pending"),
    );
    let items: Vec<String> = notice
        .lines
        .iter()
        .filter_map(|r| {
            let l = order.lines.iter().find(|l| l.variant_id == r.variant_id)?;
            Some(format!("{} x {}", r.quantity, l.sku))
        })
        .collect();
    if !items.is_empty() {
        comment.push_str(&format!(" for {}", items.join(", ")));
    }
    if notice.restock {
        comment.push_str("; return the items to stock");
    }
    comment.push('.');
    comment
}

/// A searchCriteria filter: `(field, value, condition_type)`.
pub type Filter<'a> = (&'a str, &'a str, &'a str);

/// Builds `searchCriteria` query pairs: each filter in its own group (groups are
/// ANDed), one page, sorted by `sort_field` ascending so pages are stable.
pub fn search_criteria(
    filters: &[Filter<'_>],
    page_size: i64,
    current_page: i64,
    sort_field: Option<&str>,
) -> Vec<(String, String)> {
    let mut q = Vec::with_capacity(filters.len() * 3 + 4);
    for (g, (field, value, condition)) in filters.iter().enumerate() {
        let key = |part: &str| format!("searchCriteria[filter_groups][{g}][filters][0][{part}]");
        q.push((key("field"), (*field).to_string()));
        q.push((key("value"), (*value).to_string()));
        q.push((key("condition_type"), (*condition).to_string()));
    }
    if let Some(f) = sort_field {
        q.push(("searchCriteria[sortOrders][0][field]".into(), f.into()));
        q.push((
            "searchCriteria[sortOrders][0][direction]".into(),
            "ASC".into(),
        ));
    }
    q.push(("searchCriteria[pageSize]".into(), page_size.to_string()));
    q.push((
        "searchCriteria[currentPage]".into(),
        current_page.to_string(),
    ));
    q
}

/// The next page's cursor after `current_page`, from `total_count` (never from
/// "did the page have items": Magento answers a page past the end with the last
/// page again).
pub fn next_cursor(current_page: i64, page_size: i64, total_count: i64) -> Option<String> {
    let seen = current_page.saturating_mul(page_size);
    (seen < total_count).then(|| (current_page + 1).to_string())
}

/// Parses an import cursor (a 1-based page number).
pub fn parse_cursor(cursor: Option<&str>) -> Result<i64, ConnectorError> {
    match cursor {
        None => Ok(1),
        Some(c) => c.parse::<i64>().ok().filter(|p| *p >= 1).ok_or_else(|| {
            ConnectorError::Malformed(format!("import cursor `{c}` is not a page number"))
        }),
    }
}

/// A readable message from a Magento error body: placeholders (`%1`, `%fieldName`)
/// filled from `parameters`, nested `errors` appended; a non-JSON body is quoted
/// (shortened) as is.
pub fn error_message(body: &str) -> String {
    let text = match serde_json::from_str::<wire::ErrorBody>(body) {
        Ok(e) => {
            let mut parts = vec![fill(&e.message, e.parameters.as_ref())];
            parts.extend(
                e.errors
                    .iter()
                    .map(|x| fill(&x.message, x.parameters.as_ref())),
            );
            parts.dedup();
            parts.join("; ")
        }
        Err(_) => body.trim().to_string(),
    };
    text.chars().take(ERROR_CHARS_MAX).collect()
}

fn fill(message: &str, parameters: Option<&serde_json::Value>) -> String {
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = message.to_string();
    match parameters {
        Some(serde_json::Value::Array(list)) => {
            // Highest index first so `%1` does not eat the start of `%10`.
            for (i, v) in list.iter().enumerate().rev() {
                out = out.replace(&format!("%{}", i + 1), &value(v));
            }
        }
        Some(serde_json::Value::Object(map)) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
            for k in keys {
                out = out.replace(&format!("%{k}"), &value(&map[k]));
            }
        }
        _ => {}
    }
    out
}

/// Sellable units per source for one SKU: each in-stock source item's quantity,
/// then lowered (fullest source first) to the stock's salable quantity, which
/// also subtracts MSI reservations (orders placed but not shipped yet).
/// Disabled or unknown sources sell nothing and are left out.
pub fn levels(
    sku: &str,
    items: &[wire::SourceItem],
    sources: &BTreeMap<String, String>,
    salable: Option<i64>,
) -> Vec<ImportedLevel> {
    let mut out: Vec<ImportedLevel> = items
        .iter()
        .filter(|i| i.sku == sku)
        .filter_map(|i| {
            let name = sources.get(&i.source_code)?;
            let units = if i.status == 1 && i.quantity.is_finite() {
                crate::whole_units(i.quantity).unwrap_or(0).max(0)
            } else {
                0
            };
            Some(ImportedLevel {
                location_id: i.source_code.clone(),
                location_name: name.clone(),
                available: units,
            })
        })
        .collect();
    if let Some(salable) = salable {
        let total: i64 = out.iter().map(|l| l.available).sum();
        let mut deficit = (total - salable.max(0)).max(0);
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by_key(|&i| {
            (
                std::cmp::Reverse(out[i].available),
                out[i].location_id.clone(),
            )
        });
        for i in order {
            let take = deficit.min(out[i].available);
            out[i].available -= take;
            deficit -= take;
        }
        debug_assert!(deficit == 0 || out.iter().all(|l| l.available == 0));
    }
    out
}

/// Tags stripped and whitespace collapsed: Magento descriptions are HTML, anycart
/// shows plain text.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A product price (a JSON number in the base currency) in minor units, exactly.
pub fn price_minor(
    sku: &str,
    price: Option<&serde_json::Number>,
    currency: Currency,
) -> Result<i64, ConnectorError> {
    let price =
        price.ok_or_else(|| ConnectorError::Malformed(format!("product `{sku}` has no price")))?;
    minor_units(&price.to_string(), currency.exponent())
        .map_err(|_| ConnectorError::Malformed(format!("product `{sku}` price `{price}`")))
}

/// Image URLs of enabled gallery images, in gallery order.
pub fn image_urls(entries: &[wire::MediaGalleryEntry], media_base: &str) -> Vec<String> {
    let mut images: Vec<&wire::MediaGalleryEntry> = entries
        .iter()
        .filter(|e| !e.disabled && e.media_type.as_deref().is_none_or(|t| t == "image"))
        .collect();
    images.sort_by_key(|e| e.position.unwrap_or(i64::MAX));
    images
        .iter()
        .filter_map(|e| e.file.as_deref())
        .filter(|f| !f.is_empty())
        .map(|f| {
            format!(
                "{}/{}",
                media_base.trim_end_matches('/'),
                f.trim_start_matches('/')
            )
        })
        .collect()
}

fn attribute<'a>(p: &'a wire::Product, code: &str) -> Option<&'a str> {
    p.custom_attributes
        .iter()
        .find(|a| a.attribute_code == code)
        .and_then(|a| a.value.as_str())
}

/// One catalogue entry as fetched: a simple product, or a configurable one with
/// its simple children.
#[derive(Debug)]
pub struct Entry {
    pub product: wire::Product,
    pub children: Vec<wire::Product>,
}

/// Maps a page of products to anycart's import shape. Variants are SKUs (what
/// the cart API and MSI name), so a variant's platform id, inventory item id and
/// SKU are all its Magento SKU. `levels_by_sku` comes from [`levels`].
pub fn catalogue_page(
    entries: Vec<Entry>,
    currency: Currency,
    media_base: &str,
    levels_by_sku: &BTreeMap<String, Vec<ImportedLevel>>,
    next_cursor: Option<String>,
) -> Result<CataloguePage, ConnectorError> {
    let variant = |p: &wire::Product| -> Result<ImportedVariant, ConnectorError> {
        Ok(ImportedVariant {
            external_id: p.sku.clone(),
            inventory_item_id: p.sku.clone(),
            sku: p.sku.clone(),
            title: p.name.clone().unwrap_or_else(|| p.sku.clone()),
            price_minor: price_minor(&p.sku, p.price.as_ref(), currency)?,
            levels: levels_by_sku.get(&p.sku).cloned().unwrap_or_default(),
        })
    };
    let products = entries
        .into_iter()
        .map(|e| {
            let p = &e.product;
            let variants = if p.type_id == "configurable" {
                e.children
                    .iter()
                    .filter(|c| c.status.is_none_or(|s| s == 1))
                    .map(variant)
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                vec![variant(p)?]
            };
            Ok(ImportedProduct {
                external_id: p.id.to_string(),
                title: p.name.clone().unwrap_or_else(|| p.sku.clone()),
                description: attribute(p, "description")
                    .or_else(|| attribute(p, "short_description"))
                    .map(plain_text)
                    .unwrap_or_default(),
                images: image_urls(&p.media_gallery_entries, media_base),
                active: p.status == Some(1),
                variants,
            })
        })
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    Ok(CataloguePage {
        currency,
        products,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(sku: &str, source: &str, quantity: f64, status: i64) -> wire::SourceItem {
        wire::SourceItem {
            sku: sku.into(),
            source_code: source.into(),
            quantity,
            status,
        }
    }

    #[test]
    fn salable_quantity_lowers_the_fullest_source_first() {
        let sources = BTreeMap::from([
            ("eu".to_string(), "EU".to_string()),
            ("us".to_string(), "US".to_string()),
        ]);
        let items = [
            item("A", "eu", 5.0, 1),
            item("A", "us", 8.0, 1),
            item("A", "gone", 9.0, 1),
            item("B", "eu", 3.0, 1),
        ];
        let got = |salable| {
            levels("A", &items, &sources, salable)
                .iter()
                .map(|l| (l.location_id.clone(), l.available))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(None), vec![("eu".into(), 5), ("us".into(), 8)]);
        assert_eq!(got(Some(10)), vec![("eu".into(), 5), ("us".into(), 5)]);
        assert_eq!(got(Some(2)), vec![("eu".into(), 2), ("us".into(), 0)]);
        assert_eq!(got(Some(-4)), vec![("eu".into(), 0), ("us".into(), 0)]);
        assert_eq!(
            got(Some(99)),
            vec![("eu".into(), 5), ("us".into(), 8)],
            "backorders add nothing"
        );
        let out_of_stock = [item("A", "eu", 5.5, 0)];
        assert_eq!(levels("A", &out_of_stock, &sources, None)[0].available, 0);
    }

    #[test]
    fn pages_end_by_total_count_not_by_a_repeated_last_page() {
        assert_eq!(next_cursor(1, 10, 25).as_deref(), Some("2"));
        assert_eq!(next_cursor(3, 10, 25), None);
        assert_eq!(next_cursor(1, 10, 10), None);
        assert_eq!(next_cursor(1, 10, 0), None);
        assert_eq!(parse_cursor(None).unwrap(), 1);
        assert_eq!(parse_cursor(Some("3")).unwrap(), 3);
        for bad in ["0", "-1", "x", ""] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_criteria_uses_magentos_bracket_syntax() {
        let q = search_criteria(&[("sku", "a,b", "in")], 20, 2, Some("entity_id"));
        let s: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            s,
            [
                "searchCriteria[filter_groups][0][filters][0][field]=sku",
                "searchCriteria[filter_groups][0][filters][0][value]=a,b",
                "searchCriteria[filter_groups][0][filters][0][condition_type]=in",
                "searchCriteria[sortOrders][0][field]=entity_id",
                "searchCriteria[sortOrders][0][direction]=ASC",
                "searchCriteria[pageSize]=20",
                "searchCriteria[currentPage]=2",
            ]
        );
    }

    #[test]
    fn error_messages_fill_placeholders() {
        assert_eq!(
            error_message(
                r#"{"message":"\"%fieldName\" is required. Enter and try again.","parameters":{"fieldName":"email"}}"#
            ),
            "\"email\" is required. Enter and try again."
        );
        assert_eq!(
            error_message(
                r#"{"message":"No such entity with %1 = %2","parameters":["cartId","abc"]}"#
            ),
            "No such entity with cartId = abc"
        );
        assert_eq!(
            error_message(
                r#"{"message":"Invalid","errors":[{"message":"%1 is bad","parameters":["qty"]}]}"#
            ),
            "Invalid; qty is bad"
        );
        assert_eq!(error_message("<html>502</html>"), "<html>502</html>");
    }

    #[test]
    fn pushed_orders_are_recognised_by_po_number_ext_id_or_comment() {
        let order = |v: serde_json::Value| serde_json::from_value::<wire::Order>(v).unwrap();
        let id = "ord_1";
        assert!(is_anycart_order(
            &order(json!({"entity_id": 1, "payment": {"po_number": "ord_1"}})),
            id
        ));
        assert!(is_anycart_order(
            &order(json!({"entity_id": 1, "ext_order_id": "ord_1"})),
            id
        ));
        assert!(is_anycart_order(
            &order(
                json!({"entity_id": 1, "status_histories": [{"comment": "anycart:ord_1 anycart order #1001"}]})
            ),
            id
        ));
        assert!(!is_anycart_order(
            &order(
                json!({"entity_id": 1, "payment": {"po_number": "ord_10"}, "status_histories": [{"comment": "anycart:ord_10"}, {"comment": null}]})
            ),
            id
        ));
        assert!(!is_anycart_order(&order(json!({"entity_id": 1})), id));
    }

    #[test]
    fn descriptions_prices_images_and_dates_map_exactly() {
        assert_eq!(
            plain_text("<p>Soft &amp; <b>warm</b></p>\n<p>tee</p>"),
            "Soft & warm tee"
        );
        let usd = Currency::parse("usd").unwrap();
        let n = |v: serde_json::Value| serde_json::from_value::<serde_json::Number>(v).unwrap();
        assert_eq!(price_minor("A", Some(&n(json!(19.9))), usd).unwrap(), 1990);
        assert_eq!(price_minor("A", Some(&n(json!(34))), usd).unwrap(), 3400);
        assert!(price_minor("A", Some(&n(json!(1.005))), usd).is_err());
        assert!(price_minor("A", Some(&n(json!(-1))), usd).is_err());
        assert!(price_minor("A", None, usd).is_err());
        let entries: Vec<wire::MediaGalleryEntry> = serde_json::from_value(json!([
            {"media_type": "image", "position": 2, "disabled": false, "file": "/m/b/back.jpg"},
            {"media_type": "image", "position": 1, "disabled": false, "file": "/m/b/front.jpg"},
            {"media_type": "external-video", "position": 0, "disabled": false, "file": "/v.jpg"},
            {"media_type": "image", "position": 3, "disabled": true, "file": "/m/b/off.jpg"}
        ]))
        .unwrap();
        assert_eq!(
            image_urls(&entries, "https://shop.example/media/catalog/product/"),
            [
                "https://shop.example/media/catalog/product/m/b/front.jpg",
                "https://shop.example/media/catalog/product/m/b/back.jpg"
            ]
        );
        assert_eq!(magento_datetime(1_700_000_000), "2023-11-14 22:13:20");
    }
}
