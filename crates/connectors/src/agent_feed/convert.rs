//! A catalogue product with its live availability → an ACP feed `Product`. Pure.

use super::wire::*;
use anycart_core::VariantId;
use anycart_core::catalogue::Product;
use anycart_core::quote::LOW_STOCK_THRESHOLD;
use std::collections::BTreeMap;

/// ACP's availability of a variant from the units free to sell now (on hand
/// less held less committed, over every location). A product off sale is
/// `discontinued`.
pub fn availability(available: i64, on_sale: bool) -> AvailabilityWire {
    let status = match available {
        _ if !on_sale => "discontinued",
        a if a <= 0 => "out_of_stock",
        a if a <= LOW_STOCK_THRESHOLD => "limited_stock",
        _ => "in_stock",
    };
    AvailabilityWire {
        available: on_sale && available > 0,
        status,
    }
}

/// Media of an image URL (only absolute http(s) URLs are listed).
fn image(url: &str, alt: &str) -> Option<MediaWire> {
    (url.starts_with("https://") || url.starts_with("http://")).then(|| MediaWire {
        kind: "image",
        url: url.to_string(),
        alt_text: Some(alt.to_string()),
    })
}

/// A variant's display title: its own when it names the product already
/// ("Trail Runner Tee — S"), else the product's and its own.
fn variant_title(product: &str, variant: &str) -> String {
    let first_word = product.split_whitespace().next().unwrap_or(product);
    if variant.trim().is_empty() {
        product.to_string()
    } else if variant.contains(first_word) {
        variant.to_string()
    } else {
        format!("{product} - {variant}")
    }
}

/// The feed entry of `p`: `available` holds each variant's free units (absent:
/// none), `seller` is the merchant's name.
pub fn product(p: &Product, available: &BTreeMap<VariantId, i64>, seller: &str) -> ProductWire {
    ProductWire {
        id: p.id.to_string(),
        title: p.title.clone(),
        description: (!p.description.trim().is_empty()).then(|| DescriptionWire {
            plain: p.description.clone(),
        }),
        media: p.images.iter().filter_map(|u| image(u, &p.title)).collect(),
        variants: p
            .variants
            .iter()
            .map(|v| VariantWire {
                id: v.id.to_string(),
                title: variant_title(&p.title, &v.title),
                price: PriceWire {
                    amount: v.price.amount_minor,
                    currency: v.price.currency.code_lower().to_ascii_uppercase(),
                },
                availability: availability(available.get(&v.id).copied().unwrap_or(0), p.active),
                variant_options: v
                    .options
                    .iter()
                    .map(|o| VariantOptionWire {
                        name: o.name.clone(),
                        value: o.value.clone(),
                    })
                    .collect(),
                media: v
                    .image_url
                    .iter()
                    .filter_map(|u| image(u, &v.title))
                    .collect(),
                seller: SellerWire {
                    name: seller.to_string(),
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_titles_name_the_product_once() {
        assert_eq!(
            variant_title("Trail Runner Tee", "Trail Runner Tee — S"),
            "Trail Runner Tee — S"
        );
        assert_eq!(
            variant_title("Summit Water Bottle", "Summit Bottle 750 ml"),
            "Summit Bottle 750 ml"
        );
        assert_eq!(
            variant_title("Classic Tee", "Red / M"),
            "Classic Tee - Red / M"
        );
        assert_eq!(variant_title("Classic Tee", ""), "Classic Tee");
    }

    #[test]
    fn availability_follows_free_units_and_sale() {
        let s = |a, on| availability(a, on).status;
        assert_eq!(s(0, true), "out_of_stock");
        assert_eq!(s(-3, true), "out_of_stock");
        assert_eq!(s(LOW_STOCK_THRESHOLD, true), "limited_stock");
        assert_eq!(s(LOW_STOCK_THRESHOLD + 1, true), "in_stock");
        assert_eq!(s(100, false), "discontinued");
        assert!(!availability(100, false).available);
        assert!(availability(1, true).available);
    }
}
