//! The demo merchant: a small but realistic catalogue so `anycart serve --demo`
//! sells something real from the first second (variants, images, two warehouses,
//! shipping zones, a tax table and a discount code).

use crate::error::CheckoutError;
use crate::merchants::{CreatedMerchant, create_merchant};
use crate::placements::{self, PlacementSpec};
use anycart_core::catalogue::{Location, Product, Sku, Variant, VariantOption};
use anycart_core::pricing::{Discount, DiscountKind, ShippingRate, ShippingZone, TaxRate};
use anycart_core::{
    CountryCode, Currency, DiscountId, LocationId, Money, ProductId, ShippingRateId,
    ShippingZoneId, TaxRateId, VariantId,
};
use anycart_core::{MerchantId, PlacementId};
use anycart_store::{Campaign, Store, StoreError, Theme};
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
    /// The merchant dashboard, and the demo owner's sign-in (a demo secret,
    /// like the keys above).
    #[serde(default)]
    pub dashboard_url: Option<String>,
    #[serde(default)]
    pub dashboard_email: Option<String>,
    #[serde(default)]
    pub dashboard_password: Option<String>,
    /// TV checkout and ads through ad servers (see [`ensure_surfaces`]): a TV
    /// app page framing `/tv/{placement}`, and an ad the publisher page gets
    /// through a nested "ad server" frame on a third origin.
    #[serde(default)]
    pub tv_page_url: Option<String>,
    #[serde(default)]
    pub ad_server_page_url: Option<String>,
    #[serde(default)]
    pub tv_placement: Option<String>,
    #[serde(default)]
    pub ad_server_placement: Option<String>,
    // Link checkout and the app built on the SDK (issue 13):
    /// The placement behind the link checkout (`/buy/{id}`, channel `social`).
    #[serde(default)]
    pub link_placement: Option<String>,
    /// The placement the SDK app page sells through (channel `app`).
    #[serde(default)]
    pub app_placement: Option<String>,
    /// The app placement's own publishable key (what the app's SDK client uses).
    #[serde(default)]
    pub app_publishable_key: Option<String>,
    /// A social post whose link card opens the link checkout.
    #[serde(default)]
    pub social_post_url: Option<String>,
    /// The link checkout itself (on the API's origin).
    #[serde(default)]
    pub link_url: Option<String>,
    /// A tiny game whose in-game shop is built on `@anycart/sdk`.
    #[serde(default)]
    pub app_page_url: Option<String>,
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

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("demo catalogue: {e}"))
}

/// Creates the demo merchant and its catalogue; returns what `demo.json` lists.
pub async fn seed(store: &Store, base_url: &str, now_ms: i64) -> Result<DemoInfo, StoreError> {
    let created: CreatedMerchant = create_merchant(store, "Northwind Outfitters (demo)", now_ms)
        .await
        .map_err(err)?;
    let m = created.merchant_id;
    let warehouses = seed_locations(store, m, now_ms).await?;
    seed_products(store, m, base_url, &warehouses, now_ms).await?;
    seed_shipping(store, m, now_ms).await?;
    seed_tax_and_discounts(store, m, now_ms).await?;
    let keys = created.to_json();
    let info = DemoInfo {
        base_url: base_url.to_string(),
        merchant_id: m.to_string(),
        publishable_key: keys.publishable_key.to_string(),
        secret_key: keys.secret_key.to_string(),
        variants: vec![],
        ad_page_url: None,
        article_page_url: None,
        placements: vec![],
        dashboard_url: None,
        dashboard_email: None,
        dashboard_password: None,
        tv_page_url: None,
        ad_server_page_url: None,
        tv_placement: None,
        ad_server_placement: None,
        link_placement: None,
        app_placement: None,
        app_publishable_key: None,
        social_post_url: None,
        link_url: None,
        app_page_url: None,
    };
    refresh(store, info).await
}

fn usd(amount_minor: i64) -> Result<Money, StoreError> {
    Money::new(amount_minor, Currency::parse("usd").map_err(err)?).map_err(err)
}

fn country(code: &str) -> Result<CountryCode, StoreError> {
    CountryCode::parse(code).map_err(err)
}

async fn seed_locations(
    store: &Store,
    m: MerchantId,
    now_ms: i64,
) -> Result<[Location; 2], StoreError> {
    let warehouses = ["Reno warehouse", "Newark warehouse"].map(|name| Location {
        id: LocationId::new(),
        name: name.into(),
    });
    for w in &warehouses {
        store.create_location(m, w, now_ms).await?;
    }
    Ok(warehouses)
}

async fn seed_products(
    store: &Store,
    m: MerchantId,
    base_url: &str,
    warehouses: &[Location; 2],
    now_ms: i64,
) -> Result<(), StoreError> {
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
                price: usd(*price)?,
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
    Ok(())
}

fn rate(
    title: &str,
    carrier: &str,
    amount: i64,
    free_over: Option<i64>,
    days: (u32, u32),
) -> Result<ShippingRate, StoreError> {
    Ok(ShippingRate {
        id: ShippingRateId::new(),
        title: title.into(),
        carrier: Some(carrier.into()),
        amount: usd(amount)?,
        free_over_minor: free_over,
        min_delivery_days: days.0,
        max_delivery_days: days.1,
        free_with_products: vec![],
        code: None,
    })
}

async fn seed_shipping(store: &Store, m: MerchantId, now_ms: i64) -> Result<(), StoreError> {
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
    Ok(())
}

fn tax(
    name: &str,
    c: &str,
    region: Option<&str>,
    bps: u32,
    ship: bool,
) -> Result<TaxRate, StoreError> {
    Ok(TaxRate {
        id: TaxRateId::new(),
        name: name.into(),
        country: country(c)?,
        region: region.map(String::from),
        rate_bps: bps,
        applies_to_shipping: ship,
    })
}

async fn seed_tax_and_discounts(
    store: &Store,
    m: MerchantId,
    now_ms: i64,
) -> Result<(), StoreError> {
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
        combinable: false,
    };
    store.create_discount(m, &welcome, now_ms).await?;
    Ok(())
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

/// Makes sure the demo has an ad and an article placement that allow
/// `pages_origin`, creating them when missing (or when the pages moved to another
/// origin), and records them and the page URLs in `info` (ad first).
pub async fn ensure_placements(
    store: &Store,
    info: &mut DemoInfo,
    pages_origin: &str,
    now_ms: i64,
) -> Result<(), CheckoutError> {
    let merchant = MerchantId::parse(&info.merchant_id).map_err(err)?;
    let mut usable = info.placements.len() == 2;
    for id in &info.placements {
        let found = match PlacementId::parse(id) {
            Ok(pid) => store.get_placement(merchant, pid).await?,
            Err(_) => None,
        };
        usable &= found.is_some_and(|p| {
            p.enabled && p.settings.allowed_origins.iter().any(|o| o == pages_origin)
        });
    }
    if !usable {
        let (ad, article) = demo_placements(store, merchant, pages_origin).await?;
        let a = placements::create(store, merchant, &ad, now_ms).await?;
        let b = placements::create(store, merchant, &article, now_ms).await?;
        info.placements = vec![a.id.to_string(), b.id.to_string()];
    }
    info.ad_page_url = Some(format!("{pages_origin}/ad"));
    info.article_page_url = Some(format!("{pages_origin}/article"));
    Ok(())
}

/// The link checkout's placement (the tee, channel `social`) and the SDK app's
/// (the bottle, channel `app`), made once and remade when missing or disabled.
pub async fn ensure_link_and_app_placements(
    store: &Store,
    info: &mut DemoInfo,
    pages_origin: &str,
    now_ms: i64,
) -> Result<(), CheckoutError> {
    let merchant = MerchantId::parse(&info.merchant_id).map_err(err)?;
    let products = store
        .list_products(merchant, None, anycart_store::PAGE_SIZE_MAX)
        .await?;
    let product = |title: &str| {
        products
            .iter()
            .find(|p| p.title == title)
            .map(|p| p.id.to_string())
            .ok_or_else(|| err(format!("the demo product {title} is missing")))
    };
    let surfaces = [
        (
            "Demo social link",
            "Trail Runner Tee",
            "social",
            "demo-social",
            "link",
        ),
        (
            "Demo game shop",
            "Summit Water Bottle",
            "app",
            "demo-game",
            "in-app",
        ),
    ];
    let mut ids = Vec::new();
    for (i, (name, title, channel, source, medium)) in surfaces.into_iter().enumerate() {
        let known = if i == 0 {
            &info.link_placement
        } else {
            &info.app_placement
        };
        let existing = match known.as_deref().map(PlacementId::parse) {
            Some(Ok(pid)) => store.get_placement(merchant, pid).await?,
            _ => None,
        };
        let usable = existing
            .filter(|p| p.enabled && p.settings.allowed_origins.iter().any(|o| o == pages_origin));
        let placement = match usable {
            Some(p) => p,
            None => {
                let spec = PlacementSpec {
                    name: Some(name.into()),
                    product_id: product(title)?,
                    variant_id: None,
                    quantity: Some(1),
                    channel: channel.into(),
                    campaign: Campaign {
                        name: Some("spring-launch".into()),
                        source: Some(source.into()),
                        medium: Some(medium.into()),
                        content: None,
                    },
                    allowed_origins: vec![pages_origin.to_string()],
                    ad_servers: vec![],
                    theme: Theme::default(),
                    enabled: true,
                };
                placements::create(store, merchant, &spec, now_ms).await?
            }
        };
        ids.push((placement.id.to_string(), placement.settings.publishable_key));
    }
    let base = info.base_url.trim_end_matches('/').to_string();
    let [(link, _), (app, app_key)] =
        <[_; 2]>::try_from(ids).map_err(|_| err("two demo surfaces, two placements"))?;
    info.link_url = Some(format!("{base}/buy/{link}"));
    info.link_placement = Some(link);
    info.app_placement = Some(app);
    info.app_publishable_key = Some(app_key);
    info.social_post_url = Some(format!("{pages_origin}/social"));
    info.app_page_url = Some(format!("{pages_origin}/app"));
    Ok(())
}

/// The ad (the bottle, preselected) and the article (the tee) placements.
async fn demo_placements(
    store: &Store,
    merchant: MerchantId,
    pages_origin: &str,
) -> Result<(PlacementSpec, PlacementSpec), StoreError> {
    let products = store
        .list_products(merchant, None, anycart_store::PAGE_SIZE_MAX)
        .await?;
    let product = |title: &str| {
        products
            .iter()
            .find(|p| p.title == title)
            .ok_or_else(|| err(format!("the demo product {title} is missing")))
    };
    let bottle = product("Summit Water Bottle")?;
    let tee = product("Trail Runner Tee")?;
    let ad = PlacementSpec {
        name: Some("Demo 300×250 ad".into()),
        product_id: bottle.id.to_string(),
        variant_id: bottle.variants.first().map(|v| v.id.to_string()),
        quantity: Some(1),
        channel: "display_ad".into(),
        campaign: Campaign {
            name: Some("summer-hydration".into()),
            source: Some("demo-ad-network".into()),
            medium: Some("display".into()),
            content: Some("300x250".into()),
        },
        allowed_origins: vec![pages_origin.to_string()],
        ad_servers: vec![],
        theme: Theme {
            primary_color: Some("#2f855a".into()),
            radius_px: Some(4),
            ..Theme::default()
        },
        enabled: true,
    };
    let article = PlacementSpec {
        name: Some("Demo article".into()),
        product_id: tee.id.to_string(),
        variant_id: None,
        quantity: Some(1),
        channel: "publisher".into(),
        campaign: Campaign {
            name: Some("running-gear-review".into()),
            source: Some("demo-trail-magazine".into()),
            medium: Some("affiliate".into()),
            content: None,
        },
        allowed_origins: vec![pages_origin.to_string()],
        ad_servers: vec![],
        theme: Theme {
            primary_color: Some("#c05621".into()),
            font_family: Some("Georgia, serif".into()),
            radius_px: Some(12),
            ..Theme::default()
        },
        enabled: true,
    };
    Ok((ad, article))
}

/// Makes sure the demo has a TV placement framable by `pages_origin` and an ad
/// placement that trusts the demo ad server at `ad_server_origin` (any
/// publisher through it), creating them when missing or when the origins moved,
/// and records them and their pages in `info`.
pub async fn ensure_surfaces(
    store: &Store,
    info: &mut DemoInfo,
    pages_origin: &str,
    ad_server_origin: &str,
    now_ms: i64,
) -> Result<(), CheckoutError> {
    let merchant = MerchantId::parse(&info.merchant_id).map_err(err)?;
    let current = |id: &Option<String>| {
        let id = id.as_deref().and_then(|i| PlacementId::parse(i).ok());
        async move {
            match id {
                Some(pid) => store.get_placement(merchant, pid).await,
                None => Ok(None),
            }
        }
    };
    let tv_ok = current(&info.tv_placement)
        .await?
        .is_some_and(|p| p.enabled && p.settings.allowed_origins.iter().any(|o| o == pages_origin));
    let ad_ok = current(&info.ad_server_placement)
        .await?
        .is_some_and(|p| p.enabled && p.settings.ad_servers.iter().any(|o| o == ad_server_origin));
    let (mut ad, mut tv) = demo_placements(store, merchant, pages_origin).await?;
    if !tv_ok {
        tv.name = Some("Demo TV app".into());
        tv.channel = "ctv".into();
        tv.campaign = Campaign {
            name: Some("living-room".into()),
            source: Some("demo-tv-app".into()),
            medium: Some("ctv".into()),
            content: None,
        };
        info.tv_placement = Some(
            placements::create(store, merchant, &tv, now_ms)
                .await?
                .id
                .to_string(),
        );
    }
    if !ad_ok {
        ad.name = Some("Demo ad through an ad server".into());
        // The creative runs on the ad server's origin; any publisher it serves is fine.
        ad.allowed_origins = vec![ad_server_origin.to_string()];
        ad.ad_servers = vec![ad_server_origin.to_string()];
        info.ad_server_placement = Some(
            placements::create(store, merchant, &ad, now_ms)
                .await?
                .id
                .to_string(),
        );
    }
    info.tv_page_url = Some(format!("{pages_origin}/tv"));
    info.ad_server_page_url = Some(format!("{pages_origin}/ad-server"));
    Ok(())
}
