//! Pure mapping between anycart's orders and Shopify's wire shapes. No I/O, so it
//! is unit-tested directly.

use super::wire::*;
use crate::{
    ConnectorError, ExternalOrderLine, OrderPush, PlatformChange, PrivacyRequest, ProductUpdate,
    decimal_amount, minor_units,
};
use anycart_core::Currency;
use anycart_core::order::Order;
use anycart_core::pricing::Totals;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The tag that marks a Shopify order as anycart's and names its anycart order;
/// what the retry-safe search looks for.
pub fn order_tag(anycart_order_id: &str) -> String {
    format!("anycart-{anycart_order_id}")
}

/// The custom attribute (webhook `note_attributes`) carrying the anycart order id.
pub const ORDER_ID_ATTRIBUTE: &str = "anycart_order_id";

/// The Shopify search query that finds the order tagged for `anycart_order_id`.
pub fn find_order_query(anycart_order_id: &str) -> String {
    format!("tag:'{}'", order_tag(anycart_order_id))
}

fn money(amount_minor: i64, currency: &Currency) -> MoneyBagInput {
    MoneyBagInput {
        shop_money: MoneyInput {
            amount: decimal_amount(amount_minor, currency.exponent()),
            currency_code: currency.code_lower().to_ascii_uppercase(),
        },
    }
}

/// Builds `orderCreate`'s variables for an anycart order. Every line must have a
/// linked Shopify variant: an unlinked one is a permanent error (import or link
/// the catalogue first), never a silently dropped line.
pub fn order_create_variables(push: &OrderPush) -> Result<OrderCreateVariables, ConnectorError> {
    let order = &push.order;
    let currency = &order.currency;
    let captured = order.payment.captured;
    Ok(OrderCreateVariables {
        order: OrderCreateOrderInput {
            currency: currency.code_lower().to_ascii_uppercase(),
            email: order
                .email
                .as_ref()
                .or(order.fulfillment.email.as_ref())
                .map(|e| e.as_ref().to_string()),
            line_items: line_items(push)?,
            shipping_lines: shipping_lines(order),
            tax_lines: tax_lines(&order.totals, currency),
            shipping_address: shipping_address(order),
            tags: vec!["anycart".into(), order_tag(&order.id.to_string())],
            custom_attributes: custom_attributes(push),
            source_name: crate::attribution::source_name(order),
            source_identifier: order.id.to_string(),
            financial_status: if captured { "PAID" } else { "AUTHORIZED" }.into(),
            transactions: vec![transaction(order)],
        },
        options: OrderCreateOptionsInput {
            send_receipt: true,
            // anycart already reserved these units from the shared pool, so Shopify
            // must take them even if its own policy would refuse (no double check).
            inventory_behaviour: "DECREMENT_IGNORING_POLICY".into(),
        },
    })
}

/// One Shopify line per anycart line, at anycart's price.
fn line_items(push: &OrderPush) -> Result<Vec<LineItemInput>, ConnectorError> {
    let currency = &push.order.currency;
    push.order
        .lines
        .iter()
        .map(|l| {
            let variant_id = push.platform_variants.get(&l.variant_id).ok_or_else(|| {
                ConnectorError::Permanent(format!(
                    "variant {} ({}) is not linked to a Shopify variant",
                    l.variant_id, l.sku
                ))
            })?;
            Ok(LineItemInput {
                variant_id: variant_id.clone(),
                quantity: i64::from(l.quantity.get()),
                price_set: money(l.unit_price.amount_minor, currency),
            })
        })
        .collect()
}

/// The shipping line, if the order has shipping (a titled free rate still shows).
fn shipping_lines(order: &Order) -> Vec<ShippingLineInput> {
    match (&order.shipping_title, order.totals.fulfillment_minor) {
        (None, 0) => vec![],
        (title, minor) => vec![ShippingLineInput {
            title: title.clone().unwrap_or_else(|| "Shipping".into()),
            price_set: money(minor, &order.currency),
        }],
    }
}

/// One tax line with anycart's exact tax amount, if there is tax.
fn tax_lines(t: &Totals, currency: &Currency) -> Vec<TaxLineInput> {
    if t.tax_minor <= 0 {
        return vec![];
    }
    let taxable = t.subtotal_minor + t.fulfillment_minor;
    // Four decimals of rate from integers; only the exact amount matters.
    let rate_e4 = if taxable > 0 {
        t.tax_minor * 10_000 / taxable
    } else {
        0
    };
    vec![TaxLineInput {
        title: "Tax".into(),
        rate: rate_e4 as f64 / 10_000.0,
        price_set: money(t.tax_minor, currency),
    }]
}

/// The shipping address, the name split at its last space (`last_name` is the
/// field that is always set: a one-word name goes there).
fn shipping_address(order: &Order) -> Option<AddressInput> {
    order.fulfillment.address.as_ref().map(|a| {
        let (first, last) = match a.name.rsplit_once(' ') {
            Some((f, l)) => (Some(f.to_string()), l.to_string()),
            None => (None, a.name.clone()),
        };
        AddressInput {
            first_name: first,
            last_name: last,
            address1: a.line_one.clone(),
            address2: a.line_two.clone(),
            city: a.city.clone(),
            province_code: (!a.state.is_empty()).then(|| a.state.clone()),
            country_code: a.country.as_ref().to_ascii_uppercase(),
            zip: a.postal_code.clone(),
            phone: order.fulfillment.phone_number.clone(),
        }
    })
}

/// anycart's ids on the order: the order id (what webhooks recognise anycart's
/// own orders by), the session and the number the shopper saw; then where the
/// sale came from (channel, placement, campaign, creative, agent) and the
/// affiliate attribution agents sent, if any.
fn custom_attributes(push: &OrderPush) -> Vec<AttributeInput> {
    let order = &push.order;
    let attribution = crate::attribution::fields(order)
        .into_iter()
        .map(|(key, value)| AttributeInput {
            key: key.into(),
            value,
        });
    let affiliate = crate::affiliate_attributes(&push.affiliate)
        .into_iter()
        .map(|(key, value)| AttributeInput { key, value });
    let ids = [
        AttributeInput {
            key: ORDER_ID_ATTRIBUTE.into(),
            value: order.id.to_string(),
        },
        AttributeInput {
            key: "anycart_session_id".into(),
            value: order.session_id.to_string(),
        },
        AttributeInput {
            key: "anycart_order_number".into(),
            value: order.display_number(),
        },
    ];
    ids.into_iter()
        .chain(attribution)
        .chain(affiliate)
        .collect()
}

/// The payment anycart's provider already took (a sale) or authorised.
fn transaction(order: &Order) -> TransactionInput {
    TransactionInput {
        kind: if order.payment.captured {
            "SALE"
        } else {
            "AUTHORIZATION"
        }
        .into(),
        status: "SUCCESS".into(),
        gateway: order.payment.provider.clone(),
        authorization_code: order.payment.provider_reference.clone(),
        amount_set: money(order.payment.amount_minor, &order.currency),
    }
}

/// The word in a refund's note that marks it as anycart's refund `refund_id`.
pub fn refund_tag(refund_id: &str) -> String {
    format!("anycart:{refund_id}")
}

/// The refund anycart made earlier on this order (a timed-out attempt), if any.
pub fn find_refund<'a>(order: &'a RefundContextOrder, refund_id: &str) -> Option<&'a RefundNode> {
    let tag = refund_tag(refund_id);
    order.refunds.iter().find(|r| {
        r.note
            .as_deref()
            .is_some_and(|n| n.split_whitespace().any(|w| w == tag))
    })
}

/// Builds `refundCreate`'s input: the refunded lines mapped to the order's line
/// items by variant (restocked at `location` when asked), and a `REFUND` child
/// of the order's successful sale or capture.
pub fn refund_create_variables(
    push: &crate::RefundPush,
    order: &RefundContextOrder,
    location: Option<&str>,
) -> Result<RefundCreateVariables, ConnectorError> {
    let notice = &push.notice;
    let currency = &notice.order.currency;
    let mut refund_line_items = Vec::new();
    for line in &notice.lines {
        let Some(variant) = push.platform_variants.get(&line.variant_id) else {
            return Err(ConnectorError::Permanent(format!(
                "variant {} is not linked to a Shopify variant",
                line.variant_id
            )));
        };
        let item = order
            .line_items
            .nodes
            .iter()
            .find(|i| i.variant.as_ref().is_some_and(|v| &v.id == variant))
            .ok_or_else(|| {
                ConnectorError::Permanent(format!("the Shopify order has no line for {variant}"))
            })?;
        let restock = notice.restock && location.is_some();
        refund_line_items.push(RefundLineItemInput {
            line_item_id: item.id.clone(),
            quantity: line.quantity.min(item.refundable_quantity.max(0)),
            restock_type: if restock { "RETURN" } else { "NO_RESTOCK" }.into(),
            location_id: if restock {
                location.map(String::from)
            } else {
                None
            },
        });
    }
    refund_line_items.retain(|l| l.quantity > 0);
    let parent = order
        .transactions
        .iter()
        .find(|t| matches!(t.kind.as_str(), "SALE" | "CAPTURE") && t.status == "SUCCESS");
    let mut note = format!(
        "{} refunded {} {} through {}",
        refund_tag(&notice.refund_id.to_string()),
        decimal_amount(notice.amount_minor, currency.exponent()),
        currency.code_lower().to_ascii_uppercase(),
        notice.order.payment.provider
    );
    if let Some(r) = &notice.provider_reference {
        note.push_str(&format!(" ({r})"));
    }
    if let Some(reason) = &notice.reason {
        note.push_str(&format!(": {reason}"));
    }
    Ok(RefundCreateVariables {
        input: RefundInput {
            order_id: order.id.clone(),
            note,
            notify: true,
            refund_line_items,
            transactions: vec![OrderTransactionInput {
                order_id: order.id.clone(),
                kind: "REFUND".into(),
                gateway: parent
                    .and_then(|t| t.gateway.clone())
                    .unwrap_or_else(|| notice.order.payment.provider.clone()),
                amount: decimal_amount(notice.amount_minor, currency.exponent()),
                parent_id: parent.map(|t| t.id.clone()),
            }],
        },
    })
}

/// Parses an RFC 3339 timestamp into unix ms.
pub fn unix_ms(s: &str) -> Result<i64, ConnectorError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        .map_err(|e| ConnectorError::Malformed(format!("timestamp `{s}`: {e}")))
}

/// Maps a verified webhook body of `topic` to what changed and when.
pub fn webhook_change(
    topic: &str,
    body: &[u8],
) -> Result<(PlatformChange, Option<i64>), ConnectorError> {
    match topic {
        "inventory_levels/update" => inventory_level_change(parse_webhook(topic, body)?),
        "products/update" => product_change(parse_webhook(topic, body)?),
        "orders/create" => order_change(parse_webhook(topic, body)?),
        "refunds/create" => refund_change(parse_webhook(topic, body)?),
        "customers/redact" => {
            let w: CustomerRedactWebhook = parse_webhook(topic, body)?;
            Ok((
                privacy(PrivacyRequest::ForgetCustomer {
                    customer_id: w.customer.id.to_string(),
                    email: w.customer.email,
                }),
                None,
            ))
        }
        "customers/data_request" => {
            let w: CustomerDataRequestWebhook = parse_webhook(topic, body)?;
            Ok((
                privacy(PrivacyRequest::DataRequest {
                    customer_id: w.customer.id.to_string(),
                    email: w.customer.email,
                    data_request_id: w.data_request.id.to_string(),
                }),
                None,
            ))
        }
        "shop/redact" => Ok((privacy(PrivacyRequest::ForgetShop), None)),
        "app/uninstalled" => Ok((privacy(PrivacyRequest::Uninstalled), None)),
        other => Ok((
            PlatformChange::Ignored {
                topic: other.to_string(),
            },
            None,
        )),
    }
}

fn privacy(request: PrivacyRequest) -> PlatformChange {
    PlatformChange::Privacy(request)
}

/// A webhook body as the wire type of its topic.
fn parse_webhook<T: serde::de::DeserializeOwned>(
    topic: &str,
    body: &[u8],
) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed(format!("{topic}: {e}")))
}

/// A location's new stock figure; an untracked item (no figure) changes nothing.
fn inventory_level_change(
    w: InventoryLevelWebhook,
) -> Result<(PlatformChange, Option<i64>), ConnectorError> {
    let at = unix_ms(&w.updated_at)?;
    let Some(available) = w.available else {
        return Ok((
            PlatformChange::Ignored {
                topic: "inventory_levels/update (untracked)".into(),
            },
            Some(at),
        ));
    };
    Ok((
        PlatformChange::InventoryLevel {
            inventory_item_id: format!("gid://shopify/InventoryItem/{}", w.inventory_item_id),
            location_id: format!("gid://shopify/Location/{}", w.location_id),
            available,
        },
        Some(at),
    ))
}

/// A product's title, status and variant prices, with GraphQL ids.
fn product_change(w: ProductWebhook) -> Result<(PlatformChange, Option<i64>), ConnectorError> {
    let at = unix_ms(&w.updated_at)?;
    Ok((
        PlatformChange::Product(ProductUpdate {
            product_id: format!("gid://shopify/Product/{}", w.id),
            title: w.title,
            active: w.status == "active",
            variant_prices: w
                .variants
                .into_iter()
                .map(|v| (format!("gid://shopify/ProductVariant/{}", v.id), v.price))
                .collect(),
        }),
        Some(at),
    ))
}

/// anycart's own order coming back (already counted), or an order placed
/// elsewhere whose units the shared pool must lose.
fn order_change(w: OrderWebhook) -> Result<(PlatformChange, Option<i64>), ConnectorError> {
    let at = unix_ms(&w.created_at)?;
    if let Some(anycart_order_id) = own_order_id(&w) {
        return Ok((PlatformChange::OwnOrder { anycart_order_id }, Some(at)));
    }
    let lines = w
        .line_items
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| ExternalOrderLine {
            variant_id: l
                .variant_id
                .map(|v| format!("gid://shopify/ProductVariant/{v}")),
            quantity: l.quantity,
        })
        .collect();
    Ok((PlatformChange::ExternalOrder { lines }, Some(at)))
}

/// A refund made in Shopify's admin: anycart carries the money side out at its
/// provider. One anycart made itself (tagged in its note) changes nothing.
fn refund_change(w: RefundWebhook) -> Result<(PlatformChange, Option<i64>), ConnectorError> {
    let at = w.created_at.as_deref().map(unix_ms).transpose()?;
    if let Some(note) = &w.note
        && let Some(id) = note
            .split_whitespace()
            .find_map(|word| word.strip_prefix("anycart:rf_"))
    {
        return Ok((
            PlatformChange::OwnRefund {
                anycart_refund_id: format!("rf_{id}"),
            },
            at,
        ));
    }
    let refunded: Vec<&RefundTransactionWebhook> = w
        .transactions
        .iter()
        .filter(|t| t.kind == "refund" && t.status == "success")
        .collect();
    let currency = refunded.iter().find_map(|t| t.currency.clone());
    Ok((
        PlatformChange::Refund(crate::PlatformRefund {
            platform_refund_id: format!("gid://shopify/Refund/{}", w.id),
            platform_order_id: format!("gid://shopify/Order/{}", w.order_id),
            amounts: refunded.iter().map(|t| t.amount.clone()).collect(),
            currency,
            lines: w
                .refund_line_items
                .iter()
                .filter(|l| l.quantity > 0)
                .map(|l| ExternalOrderLine {
                    variant_id: l
                        .line_item
                        .as_ref()
                        .and_then(|i| i.variant_id)
                        .map(|v| format!("gid://shopify/ProductVariant/{v}")),
                    quantity: l.quantity,
                })
                .collect(),
            note: w.note,
        }),
        at,
    ))
}

/// The anycart order id an order carries: its custom attribute, else its tag.
fn own_order_id(w: &OrderWebhook) -> Option<String> {
    w.note_attributes
        .iter()
        .find(|a| a.name == ORDER_ID_ATTRIBUTE)
        .and_then(|a| a.value.clone())
        .or_else(|| {
            w.tags
                .split(',')
                .map(str::trim)
                .find_map(|t| t.strip_prefix("anycart-").map(str::to_string))
        })
}

/// Maps one page of Shopify products to anycart's import shape.
pub fn catalogue_page(data: ImportData) -> Result<crate::CataloguePage, ConnectorError> {
    let currency = Currency::parse(&data.shop.currency_code)
        .map_err(|e| ConnectorError::Malformed(format!("shop currency: {e}")))?;
    let products = data
        .products
        .nodes
        .into_iter()
        .map(|p| imported_product(p, currency))
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    Ok(crate::CataloguePage {
        currency,
        products,
        next_cursor: data
            .products
            .page_info
            .has_next_page
            .then_some(data.products.page_info.end_cursor)
            .flatten(),
    })
}

/// One product with its variants; `ACTIVE` is the only sellable status.
fn imported_product(
    p: ProductNode,
    currency: Currency,
) -> Result<crate::ImportedProduct, ConnectorError> {
    let variants = p
        .variants
        .nodes
        .into_iter()
        .map(|v| imported_variant(v, currency))
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    Ok(crate::ImportedProduct {
        external_id: p.id,
        title: p.title,
        description: p.description,
        images: product_images(p.media.nodes),
        active: p.status == "ACTIVE",
        variants,
    })
}

/// The URLs of a product's images, in Shopify's order (videos and 3D models and
/// images still processing are left out).
fn product_images(media: Vec<MediaNode>) -> Vec<String> {
    media
        .into_iter()
        .filter(|m| m.media_content_type == "IMAGE")
        .filter_map(|m| m.preview.and_then(|p| p.image))
        .map(|i| i.url)
        .collect()
}

/// One variant: its price in minor units, a SKU (made up from the id when the
/// merchant left it empty, as anycart needs one) and its stock per location.
fn imported_variant(
    v: VariantNode,
    currency: Currency,
) -> Result<crate::ImportedVariant, ConnectorError> {
    let levels = v
        .inventory_item
        .inventory_levels
        .nodes
        .into_iter()
        .map(|l| crate::ImportedLevel {
            available: l
                .quantities
                .iter()
                .find(|q| q.name == "available")
                .map_or(0, |q| q.quantity.max(0)),
            location_id: l.location.id,
            location_name: l.location.name,
        })
        .collect();
    Ok(crate::ImportedVariant {
        price_minor: minor_units(&v.price, currency.exponent())?,
        sku: v
            .sku
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("SHOPIFY-{}", v.id.rsplit('/').next().unwrap_or_default())),
        external_id: v.id,
        inventory_item_id: v.inventory_item.id,
        title: v.title,
        levels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_webhooks_name_graphql_ids() {
        let body = br#"{"inventory_item_id":271878346596884015,"location_id":24826418,"available":5,"updated_at":"2021-12-31T19:00:00-05:00"}"#;
        let (change, at) = webhook_change("inventory_levels/update", body).unwrap();
        assert_eq!(
            change,
            PlatformChange::InventoryLevel {
                inventory_item_id: "gid://shopify/InventoryItem/271878346596884015".into(),
                location_id: "gid://shopify/Location/24826418".into(),
                available: 5
            }
        );
        assert_eq!(at, Some(1_640_995_200_000));
    }

    #[test]
    fn anycart_orders_are_recognised_and_others_counted() {
        let own = br#"{"id":1,"created_at":"2024-01-01T00:00:00Z","tags":"anycart, anycart-ord_x","line_items":[{"variant_id":5,"quantity":1}]}"#;
        assert!(
            matches!(webhook_change("orders/create", own).unwrap().0, PlatformChange::OwnOrder { anycart_order_id } if anycart_order_id == "ord_x")
        );
        let other = br#"{"id":2,"created_at":"2024-01-01T00:00:00Z","tags":"","line_items":[{"variant_id":5,"quantity":2},{"variant_id":null,"quantity":1}]}"#;
        let (change, _) = webhook_change("orders/create", other).unwrap();
        assert_eq!(
            change,
            PlatformChange::ExternalOrder {
                lines: vec![
                    ExternalOrderLine {
                        variant_id: Some("gid://shopify/ProductVariant/5".into()),
                        quantity: 2
                    },
                    ExternalOrderLine {
                        variant_id: None,
                        quantity: 1
                    },
                ]
            }
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"{}",
            b"[]",
            b"{\"inventory_item_id\":\"x\"}",
            b"\xff",
        ] {
            assert!(matches!(
                webhook_change("inventory_levels/update", body),
                Err(ConnectorError::Malformed(_))
            ));
            assert!(matches!(
                webhook_change("orders/create", body),
                Err(ConnectorError::Malformed(_))
            ));
        }
    }
}
