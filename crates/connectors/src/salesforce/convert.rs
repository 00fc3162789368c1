//! Pure mapping between anycart's orders and catalogue and SCAPI's wire shapes. No
//! I/O, so it is unit-tested directly.

use super::wire::*;
use crate::minor_units;
use crate::{
    CataloguePage, ConnectorError, ImportedLevel, ImportedProduct, ImportedVariant, OrderPush,
    decimal_amount,
};
use anycart_core::Currency;
use std::collections::BTreeMap;

/// The shipment every SCAPI basket starts with.
pub const DEFAULT_SHIPMENT_ID: &str = "me";
/// Most units of a variant one import trusts (a larger ATS is clamped, never wraps).
pub const ATS_UNITS_MAX: i64 = 1_000_000_000;

fn number(amount_minor: i64, currency: &Currency) -> Result<serde_json::Number, ConnectorError> {
    let s = decimal_amount(amount_minor, currency.exponent());
    s.parse()
        .map_err(|_| ConnectorError::Malformed(format!("amount {s} is not a JSON number")))
}

fn address(a: &anycart_core::Address, phone: Option<&String>) -> OrderAddress {
    let (first, last) = match a.name.rsplit_once(' ') {
        Some((f, l)) => (Some(f.to_string()), l.to_string()),
        None => (None, a.name.clone()),
    };
    OrderAddress {
        first_name: first,
        last_name: last,
        address1: a.line_one.clone(),
        address2: a.line_two.clone(),
        city: a.city.clone(),
        state_code: (!a.state.is_empty()).then(|| a.state.clone()),
        postal_code: a.postal_code.clone(),
        country_code: a.country.as_ref().to_ascii_uppercase(),
        phone: phone.cloned(),
    }
}

/// Builds the `POST /baskets` body. Every line must have a linked B2C Commerce
/// product (a variant or standalone product id): an unlinked one is a permanent
/// error, never a silently dropped line. B2C Commerce needs the shopper's email to
/// place an order, so an order without one is refused here too.
pub fn basket_request(
    push: &OrderPush,
    shipping_method_id: &str,
) -> Result<BasketRequest, ConnectorError> {
    let order = &push.order;
    let product_items = order
        .lines
        .iter()
        .map(|l| {
            let product_id = push.platform_variants.get(&l.variant_id).ok_or_else(|| {
                ConnectorError::Permanent(format!(
                    "variant {} ({}) is not linked to a B2C Commerce product",
                    l.variant_id, l.sku
                ))
            })?;
            Ok(ProductItemRequest {
                product_id: product_id.clone(),
                quantity: i64::from(l.quantity.get()),
            })
        })
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    let email = order
        .email
        .as_ref()
        .or(order.fulfillment.email.as_ref())
        .map(|e| e.as_ref().to_string())
        .ok_or_else(|| {
            ConnectorError::Permanent(
                "order has no email address; B2C Commerce needs one to place an order".into(),
            )
        })?;
    let shipping_address = order
        .fulfillment
        .address
        .as_ref()
        .map(|a| address(a, order.fulfillment.phone_number.as_ref()));
    Ok(BasketRequest {
        currency: order.currency.code_lower().to_ascii_uppercase(),
        customer_info: CustomerInfo { email },
        billing_address: shipping_address.clone(),
        shipments: vec![ShipmentRequest {
            shipment_id: DEFAULT_SHIPMENT_ID.into(),
            shipping_address,
            shipping_method: ShippingMethodRef {
                id: shipping_method_id.into(),
            },
        }],
        product_items,
        anycart_order_id: order.id.to_string(),
        attribution: crate::attribution::fields(order)
            .into_iter()
            .map(|(key, value)| (format!("c_{}", crate::attribution::camel(key)), value))
            .collect(),
    })
}

/// The payment instrument recording what anycart charged.
pub fn payment_request(
    push: &OrderPush,
    payment_method_id: &str,
) -> Result<PaymentInstrumentRequest, ConnectorError> {
    Ok(PaymentInstrumentRequest {
        amount: number(push.order.payment.amount_minor, &push.order.currency)?,
        payment_method_id: payment_method_id.into(),
    })
}

/// Reads an import cursor (a search offset).
pub fn parse_cursor(cursor: Option<&str>) -> Result<i64, ConnectorError> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ConnectorError::Malformed(format!("import cursor `{c}` is not an offset"))
        }),
    }
}

/// The cursor after a search page, `None` on the last one.
pub fn next_cursor(search: &ProductSearchResult) -> Option<String> {
    let next = search
        .offset
        .saturating_add(i64::try_from(search.hits.len()).unwrap_or(i64::MAX));
    (!search.hits.is_empty() && next < search.total).then(|| next.to_string())
}

/// Search hits anycart imports: masters (with their variants) and standalone
/// products. Sets and bundles are not single sellable items and are skipped.
pub fn importable_ids(search: &ProductSearchResult) -> Vec<String> {
    search
        .hits
        .iter()
        .filter(|h| matches!(h.hit_type.as_deref(), None | Some("master" | "product")))
        .map(|h| h.product_id.clone())
        .collect()
}

/// The variant ids of fetched masters (whose availability needs a second request).
pub fn variant_ids(products: &[Product]) -> Vec<String> {
    products
        .iter()
        .filter(|p| p.kind.as_ref().is_some_and(|k| k.master))
        .flat_map(|p| p.variants.iter().map(|v| v.product_id.clone()))
        .collect()
}

fn price_minor(
    price: Option<&serde_json::Number>,
    currency: &Currency,
    product_id: &str,
) -> Result<i64, ConnectorError> {
    let price = price.ok_or_else(|| {
        ConnectorError::Malformed(format!("product {product_id} has no price for the site"))
    })?;
    minor_units(&price.to_string(), currency.exponent())
        .map_err(|_| ConnectorError::Malformed(format!("product {product_id}: price {price}")))
}

fn levels(inventory: Option<&Inventory>) -> Vec<ImportedLevel> {
    inventory
        .map(|i| ImportedLevel {
            location_id: i.id.clone(),
            location_name: format!("B2C Commerce inventory {}", i.id),
            // ATS may be fractional or negative (backorders): whole sellable units only.
            available: i.ats.map_or(0, |a| {
                if a.is_finite() {
                    crate::whole_units(a).unwrap_or(0).clamp(0, ATS_UNITS_MAX)
                } else {
                    0
                }
            }),
        })
        .into_iter()
        .collect()
}

fn variant_title(master: &Product, v: &Variant) -> String {
    let parts: Vec<String> = v
        .variation_values
        .iter()
        .map(|(attr, value)| {
            master
                .variation_attributes
                .iter()
                .find(|a| &a.id == attr)
                .and_then(|a| a.values.iter().find(|x| &x.value == value))
                .and_then(|x| x.name.clone())
                .unwrap_or_else(|| value.clone())
        })
        .collect();
    if parts.is_empty() {
        v.product_id.clone()
    } else {
        parts.join(" / ")
    }
}

/// Maps one page: the fetched masters / standalone products (in search order) and
/// the fetched variants by id, to anycart's import shape. Every imported variant
/// must have a price; its availability is its ATS in the site's inventory list.
pub fn catalogue_page(
    search: &ProductSearchResult,
    products: Vec<Product>,
    variants: &BTreeMap<String, Product>,
) -> Result<CataloguePage, ConnectorError> {
    let code = page_currency_code(search, &products);
    let currency = Currency::parse(&code)
        .map_err(|e| ConnectorError::Malformed(format!("site currency `{code}`: {e}")))?;
    let mut out = Vec::with_capacity(products.len());
    for p in products {
        if let Some(c) = &p.currency
            && !c.eq_ignore_ascii_case(&code)
        {
            return Err(ConnectorError::Malformed(format!(
                "product {} is priced in {c}, the page in {code}",
                p.id
            )));
        }
        let imported_variants = if p.kind.as_ref().is_some_and(|k| k.master) {
            master_variants(&p, variants, &currency)?
        } else {
            vec![standalone_variant(&p, &currency)?]
        };
        out.push(imported_product(p, imported_variants));
    }
    Ok(CataloguePage {
        currency,
        products: out,
        next_cursor: next_cursor(search),
    })
}

/// The page's currency code: the first product's, else the first hit's.
fn page_currency_code(search: &ProductSearchResult, products: &[Product]) -> String {
    products
        .iter()
        .find_map(|p| p.currency.clone())
        .or_else(|| search.hits.iter().find_map(|h| h.currency.clone()))
        // An empty page imports nothing, so any currency will do.
        .unwrap_or_else(|| "USD".into())
}

/// A master's variants, each priced and stocked from its own products response
/// (a variant missing from it is an error, not a variant without stock).
fn master_variants(
    p: &Product,
    variants: &BTreeMap<String, Product>,
    currency: &Currency,
) -> Result<Vec<ImportedVariant>, ConnectorError> {
    p.variants
        .iter()
        .map(|v| {
            let fetched = variants.get(&v.product_id).ok_or_else(|| {
                ConnectorError::Malformed(format!(
                    "variant {} of {} missing from the products response",
                    v.product_id, p.id
                ))
            })?;
            Ok(ImportedVariant {
                external_id: v.product_id.clone(),
                inventory_item_id: v.product_id.clone(),
                sku: v.product_id.clone(),
                title: variant_title(p, v),
                price_minor: price_minor(
                    fetched.price.as_ref().or(v.price.as_ref()),
                    currency,
                    &v.product_id,
                )?,
                levels: levels(fetched.inventory.as_ref()),
            })
        })
        .collect()
}

/// A standalone product is its own single variant.
fn standalone_variant(p: &Product, currency: &Currency) -> Result<ImportedVariant, ConnectorError> {
    Ok(ImportedVariant {
        external_id: p.id.clone(),
        inventory_item_id: p.id.clone(),
        sku: p.id.clone(),
        title: p.name.clone().unwrap_or_else(|| p.id.clone()),
        price_minor: price_minor(p.price.as_ref(), currency, &p.id)?,
        levels: levels(p.inventory.as_ref()),
    })
}

/// The product around its variants, with its large images.
fn imported_product(p: Product, variants: Vec<ImportedVariant>) -> ImportedProduct {
    let images = p
        .image_groups
        .iter()
        .filter(|g| g.view_type.as_deref().is_none_or(|v| v == "large"))
        .flat_map(|g| g.images.iter().map(|i| i.link.clone()))
        .collect();
    ImportedProduct {
        title: p.name.clone().unwrap_or_else(|| p.id.clone()),
        description: p
            .short_description
            .clone()
            .or(p.long_description.clone())
            .unwrap_or_default(),
        images,
        // Shopper APIs only return products that are online for the site.
        active: true,
        variants,
        external_id: p.id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_offsets() {
        assert_eq!(parse_cursor(None).unwrap(), 0);
        assert_eq!(parse_cursor(Some("48")).unwrap(), 48);
        for bad in ["", "-1", "x", "1.5"] {
            assert!(matches!(
                parse_cursor(Some(bad)),
                Err(ConnectorError::Malformed(_))
            ));
        }
    }

    fn search(hits: &str, offset: i64, total: i64) -> ProductSearchResult {
        serde_json::from_str(&format!(
            r#"{{"limit":24,"offset":{offset},"total":{total},"hits":{hits}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn masters_map_to_products_with_priced_stocked_variants() {
        let s = search(
            r#"[{"productId":"25592581M","hitType":"master","currency":"EUR"},{"productId":"bundle-1","hitType":"bundle"}]"#,
            0,
            30,
        );
        assert_eq!(importable_ids(&s), vec!["25592581M".to_string()]);
        assert_eq!(next_cursor(&s).as_deref(), Some("2"));
        let master: Product = serde_json::from_str(r#"{"id":"25592581M","name":"Shirt","shortDescription":"Cotton","currency":"EUR","type":{"master":true},
            "variationAttributes":[{"id":"color","name":"Color","values":[{"value":"BLU","name":"Blue"}]}],
            "variants":[{"productId":"701","price":19.9,"variationValues":{"color":"BLU"}}],
            "imageGroups":[{"viewType":"large","images":[{"link":"https://x/l.jpg"}]},{"viewType":"small","images":[{"link":"https://x/s.jpg"}]}]}"#).unwrap();
        let variant: Product = serde_json::from_str(
            r#"{"id":"701","currency":"EUR","price":19.9,"type":{"variant":true},"inventory":{"id":"inventory_m","ats":3.5,"orderable":true}}"#,
        )
        .unwrap();
        assert_eq!(
            variant_ids(std::slice::from_ref(&master)),
            vec!["701".to_string()]
        );
        let page =
            catalogue_page(&s, vec![master], &BTreeMap::from([("701".into(), variant)])).unwrap();
        let p = &page.products[0];
        assert_eq!(
            (p.title.as_str(), p.description.as_str()),
            ("Shirt", "Cotton")
        );
        assert_eq!(p.images, vec!["https://x/l.jpg".to_string()]);
        let v = &p.variants[0];
        assert_eq!(
            (v.price_minor, v.title.as_str(), v.sku.as_str()),
            (1990, "Blue", "701")
        );
        assert_eq!(
            (v.levels[0].location_id.as_str(), v.levels[0].available),
            ("inventory_m", 3)
        );
    }

    #[test]
    fn bad_prices_and_missing_variants_are_clear_errors() {
        let s = search(r#"[{"productId":"m","hitType":"master"}]"#, 0, 1);
        let master = |price: &str| -> Product {
            serde_json::from_str(&format!(r#"{{"id":"m","currency":"USD","type":{{"master":true}},"variants":[{{"productId":"v","price":{price}}}]}}"#)).unwrap()
        };
        let err = catalogue_page(&s, vec![master("1")], &BTreeMap::new()).unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Malformed(m) if m.contains("variant v of m missing")),
            "{err}"
        );
        let v: Product = serde_json::from_str(r#"{"id":"v","currency":"USD"}"#).unwrap();
        let err = catalogue_page(
            &s,
            vec![master("1.234")],
            &BTreeMap::from([("v".into(), v)]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Malformed(m) if m.contains("price")),
            "{err}"
        );
    }

    #[test]
    fn standalone_products_are_one_variant_and_odd_ats_is_safe() {
        let s = search(r#"[{"productId":"gift-1","hitType":"product"}]"#, 24, 25);
        assert_eq!(next_cursor(&s), None, "last page");
        for (ats, units) in [
            ("12.9", 12),
            ("-4", 0),
            ("null", 0),
            ("1e30", ATS_UNITS_MAX),
        ] {
            let p: Product = serde_json::from_str(&format!(
                r#"{{"id":"gift-1","name":"Gift","currency":"USD","price":5,"type":{{"item":true}},"inventory":{{"id":"inv","ats":{ats}}}}}"#
            ))
            .unwrap();
            let page = catalogue_page(&s, vec![p], &BTreeMap::new()).unwrap();
            let v = &page.products[0].variants[0];
            assert_eq!((v.external_id.as_str(), v.price_minor), ("gift-1", 500));
            assert_eq!(v.levels[0].available, units, "ats {ats}");
        }
    }
}

/// Where a B2C Commerce order stands for anycart.
#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    /// Placed (`new`, `completed`, or later changed by the merchant:
    /// `cancelled`, `replaced`): the platform has the order.
    Placed,
    /// `created` but not placed: B2C Commerce fails such orders after a while,
    /// and no one fulfils them. Not a success; the reason is for the merchant.
    NotPlaced(String),
    /// `failed`: it will never be placed; a new basket and order may be made.
    Failed,
}

/// Reads an order's `status` (an order without one is not known to be placed).
pub fn placement(order: &Order) -> Placement {
    match order.status.as_deref() {
        Some("new" | "open" | "completed" | "cancelled" | "replaced") => Placement::Placed,
        Some("failed") => Placement::Failed,
        other => Placement::NotPlaced(format!(
            "B2C Commerce created order {} but did not place it (status `{}`): the site must place \
             Shopper Orders orders (a dw.ocapi.shop.order.afterPOST hook calling OrderMgr.placeOrder, \
             or a payment integration that does); retry the delivery once it does",
            order.order_no,
            other.unwrap_or("none")
        )),
    }
}
