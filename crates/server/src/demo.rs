//! The demo merchant: a small but realistic catalogue so `anycart serve --demo`
//! sells something real from the first second (variants, images, two warehouses,
//! shipping zones, a tax table and a discount code).

use crate::merchants::{CreatedMerchant, create_merchant};
use crate::state::AppState;
use anycart_core::catalogue::{Location, Product, Sku, Variant, VariantOption};
use anycart_core::pricing::{Discount, DiscountKind, ShippingRate, ShippingZone, TaxRate};
use anycart_core::{
    CountryCode, Currency, DiscountId, LocationId, Money, ProductId, ShippingRateId,
    ShippingZoneId, TaxRateId, VariantId,
};
use anycart_store::{Store, StoreError};
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

/// One sellable variant as listed in `demo.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DemoVariant {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub amount: i64,
    pub currency: String,
    pub available: i64,
}

/// The contents of `DATA_DIR/demo.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DemoInfo {
    pub base_url: String,
    pub merchant_id: String,
    pub publishable_key: String,
    pub secret_key: String,
    pub variants: Vec<DemoVariant>,
    /// The sample 300×250 ad page (another origin than the API) with a placement.
    #[serde(default)]
    pub ad_page_url: Option<String>,
    /// The sample publisher article with a placement.
    #[serde(default)]
    pub article_page_url: Option<String>,
    /// The demo placements' ids (ad first, then article).
    #[serde(default)]
    pub placements: Vec<String>,
}

/// `(sku, title, options, price in cents, on hand per warehouse, max per order)`.
type DemoVariantSpec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    i64,
    [i64; 2],
    Option<u32>,
);

struct DemoProduct {
    title: &'static str,
    description: &'static str,
    image: &'static str,
    variants: &'static [DemoVariantSpec],
}

const CATALOGUE: &[DemoProduct] = &[
    DemoProduct {
        title: "Trail Runner Tee",
        description: "Breathable merino-blend running tee.",
        image: "tee",
        variants: &[
            (
                "TEE-TRAIL-S",
                "Trail Runner Tee — S",
                &[("Size", "S")],
                3200,
                [12, 4],
                None,
            ),
            (
                "TEE-TRAIL-M",
                "Trail Runner Tee — M",
                &[("Size", "M")],
                3200,
                [0, 9],
                None,
            ),
            (
                "TEE-TRAIL-L",
                "Trail Runner Tee — L",
                &[("Size", "L")],
                3200,
                [3, 0],
                None,
            ),
        ],
    },
    DemoProduct {
        title: "Summit Water Bottle",
        description: "Insulated steel bottle, keeps drinks cold for 24 hours.",
        image: "bottle",
        variants: &[
            (
                "BTL-750-BLU",
                "Summit Bottle 750 ml — Glacier Blue",
                &[("Colour", "Glacier Blue"), ("Size", "750 ml")],
                2800,
                [40, 25],
                None,
            ),
            (
                "BTL-750-GRN",
                "Summit Bottle 750 ml — Pine Green",
                &[("Colour", "Pine Green"), ("Size", "750 ml")],
                2800,
                [2, 1],
                None,
            ),
        ],
    },
    DemoProduct {
        title: "Limited Edition Sneaker Drop",
        description: "Numbered run of 25 pairs. Two per customer.",
        image: "sneaker",
        variants: &[(
            "SNKR-DROP-42",
            "Sneaker Drop — EU 42",
            &[("Size", "EU 42")],
            18000,
            [25, 0],
            Some(2),
        )],
    },
];

fn svg(name: &str) -> Option<&'static str> {
    Some(match name {
        "tee" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#eef3f8"/><path d="M40 25l-22 14 9 16 10-5v45h46V50l10 5 9-16-22-14c-4 8-11 12-20 12s-16-4-20-12z" fill="#2b6cb0"/></svg>"##
        }
        "bottle" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#eef8f1"/><rect x="48" y="14" width="24" height="12" rx="3" fill="#2f855a"/><rect x="40" y="26" width="40" height="82" rx="12" fill="#38a169"/></svg>"##
        }
        "sneaker" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#fdf2f2"/><path d="M14 78c0-10 6-22 14-26l18 8 12-6 26 14c10 3 22 6 24 14v6H14z" fill="#c53030"/><rect x="14" y="84" width="94" height="8" fill="#1a202c"/></svg>"##
        }
        _ => return None,
    })
}

/// Routes serving the demo product images.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/assets/demo/{name}",
        get(|Path(name): Path<String>| async move {
            match name.strip_suffix(".svg").and_then(svg) {
                Some(body) => (
                    [
                        (header::CONTENT_TYPE, "image/svg+xml"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    body,
                )
                    .into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }),
    )
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("demo catalogue: {e}"))
}

/// Creates the demo merchant and its catalogue; returns what `demo.json` lists.
pub async fn seed(store: &Store, base_url: &str, now_ms: i64) -> Result<DemoInfo, StoreError> {
    let created: CreatedMerchant = create_merchant(store, "Northwind Outfitters (demo)", now_ms)
        .await
        .map_err(err)?;
    let m = created.merchant_id;
    let usd = Currency::parse("usd").map_err(err)?;
    let usd_amount = |a: i64| Money::new(a, usd).map_err(err);
    let warehouses = [
        Location {
            id: LocationId::new(),
            name: "Reno warehouse".into(),
        },
        Location {
            id: LocationId::new(),
            name: "Newark warehouse".into(),
        },
    ];
    for w in &warehouses {
        store.create_location(m, w, now_ms).await?;
    }
    for p in CATALOGUE {
        let product_id = ProductId::new();
        let image = format!("{base_url}/assets/demo/{}.svg", p.image);
        let mut variants = Vec::new();
        let mut stock = Vec::new();
        for (sku, title, options, price, on_hand, cap) in p.variants {
            let id = VariantId::new();
            variants.push(Variant {
                id,
                product_id,
                sku: Sku::parse(sku).map_err(err)?,
                title: title.to_string(),
                options: options
                    .iter()
                    .map(|(n, v)| VariantOption {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                price: usd_amount(*price)?,
                max_quantity_per_order: *cap,
                image_url: Some(image.clone()),
            });
            for (w, qty) in warehouses.iter().zip(on_hand) {
                stock.push((id, w.id, *qty));
            }
        }
        let product = Product {
            id: product_id,
            title: p.title.into(),
            description: p.description.into(),
            images: vec![image],
            active: true,
            variants,
        };
        store.create_product(m, &product, now_ms).await?;
        for (v, l, q) in stock {
            store.set_on_hand(m, v, l, q).await?;
        }
    }
    let country = |c: &str| CountryCode::parse(c).map_err(err);
    let rate = |title: &str,
                carrier: &str,
                amount: i64,
                free_over: Option<i64>,
                days: (u32, u32)|
     -> Result<ShippingRate, StoreError> {
        Ok(ShippingRate {
            id: ShippingRateId::new(),
            title: title.into(),
            carrier: Some(carrier.into()),
            amount: usd_amount(amount)?,
            free_over_minor: free_over,
            min_delivery_days: days.0,
            max_delivery_days: days.1,
        })
    };
    let zones = [
        ShippingZone {
            id: ShippingZoneId::new(),
            name: "United States".into(),
            countries: vec![country("US")?],
            rates: vec![
                rate("Standard", "USPS", 500, Some(7500), (3, 5))?,
                rate("Express", "UPS", 1500, None, (1, 2))?,
            ],
        },
        ShippingZone {
            id: ShippingZoneId::new(),
            name: "Canada & Europe".into(),
            countries: ["CA", "GB", "DE", "FR", "NL", "IE"]
                .iter()
                .map(|c| country(c))
                .collect::<Result<_, _>>()?,
            rates: vec![rate("International", "DHL", 2000, None, (5, 10))?],
        },
    ];
    for z in &zones {
        store.create_shipping_zone(m, z, now_ms).await?;
    }
    let tax = |name: &str,
               c: &str,
               region: Option<&str>,
               bps: u32,
               ship: bool|
     -> Result<TaxRate, StoreError> {
        Ok(TaxRate {
            id: TaxRateId::new(),
            name: name.into(),
            country: country(c)?,
            region: region.map(String::from),
            rate_bps: bps,
            applies_to_shipping: ship,
        })
    };
    for t in [
        tax("California sales tax", "US", Some("CA"), 825, false)?,
        tax("New York sales tax", "US", Some("NY"), 888, true)?,
        tax("UK VAT", "GB", None, 2000, true)?,
        tax("Germany VAT", "DE", None, 1900, true)?,
    ] {
        store.create_tax_rate(m, &t, now_ms).await?;
    }
    let welcome = Discount {
        id: DiscountId::new(),
        code: "WELCOME10".into(),
        name: "10% off your first order".into(),
        kind: DiscountKind::Percentage { rate_bps: 1000 },
        min_subtotal_minor: None,
        starts_at_ms: None,
        ends_at_ms: None,
        max_redemptions: None,
        times_redeemed: 0,
        active: true,
    };
    store.create_discount(m, &welcome, now_ms).await?;
    let info = DemoInfo {
        base_url: base_url.to_string(),
        merchant_id: m.to_string(),
        publishable_key: created.to_json().publishable_key.to_string(),
        secret_key: created.to_json().secret_key.to_string(),
        variants: vec![],
        ad_page_url: None,
        article_page_url: None,
        placements: vec![],
    };
    refresh(store, info).await
}

/// Re-reads the demo variants (ids, prices, live availability) into `info`.
pub async fn refresh(store: &Store, mut info: DemoInfo) -> Result<DemoInfo, StoreError> {
    let m = anycart_core::MerchantId::parse(&info.merchant_id).map_err(err)?;
    let mut variants = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_products(m, after, anycart_store::PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for p in &page {
            let ids: Vec<_> = p.variants.iter().map(|v| v.id).collect();
            let levels = store.stock_levels(m, &ids).await?;
            for v in &p.variants {
                variants.push(DemoVariant {
                    id: v.id.to_string(),
                    sku: v.sku.as_ref().to_string(),
                    title: v.title.clone(),
                    amount: v.price.amount_minor,
                    currency: v.price.currency.code_lower(),
                    available: levels
                        .iter()
                        .filter(|l| l.variant_id == v.id)
                        .map(|l| l.available())
                        .sum(),
                });
            }
        }
    }
    info.variants = variants;
    Ok(info)
}
