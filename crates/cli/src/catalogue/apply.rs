//! Writing an import: products found again by their CSV id (variants by SKU),
//! stock per location, codes upserted, and the shipping table replaced whole.

use super::{Plan, ProductPlan, PromotionPlan, RatePlan, SOURCE};
use anycart_core::catalogue::{IMAGES_MAX, Location, Product, Variant};
use anycart_core::pricing::{ShippingRate, ShippingZone};
use anycart_core::{
    CountryCode, LocationId, MerchantId, ProductId, ShippingRateId, ShippingZoneId, VariantId,
};
use anycart_store::{ExternalKind, Store};
use anyhow::{Result, anyhow, bail};
use std::collections::{BTreeMap, BTreeSet};

/// The shipping table as zones: one per country with its own rates (plus the
/// `default` rates of the levels it does not price itself), and a catch-all
/// zone of the `default` rates. Free-shipping promotions become each rate's
/// threshold (`free_over`) and products (`free_with`).
pub fn zones(
    rates: &[RatePlan],
    promotions: &[PromotionPlan],
    products: &BTreeMap<String, ProductId>,
) -> Result<Vec<ShippingZone>> {
    let rate = |r: &RatePlan| -> Result<ShippingRate> {
        let promos: Vec<&PromotionPlan> = promotions
            .iter()
            .filter(|p| p.service_levels.contains(&r.service_level))
            .collect();
        let threshold = promos
            .iter()
            .filter_map(|p| p.min_subtotal_minor)
            .chain(r.free_over_minor)
            .min();
        let mut free_with = vec![];
        for p in &promos {
            for item in &p.eligible {
                let id = products.get(item).ok_or_else(|| {
                    anyhow!("promotions.csv ({}): no product or SKU `{item}`", p.id)
                })?;
                if !free_with.contains(id) {
                    free_with.push(*id);
                }
            }
        }
        Ok(ShippingRate {
            id: ShippingRateId::new(),
            title: r.title.clone(),
            carrier: r.carrier.clone(),
            amount: r.amount,
            free_over_minor: threshold,
            min_delivery_days: r.days.0,
            max_delivery_days: r.days.1,
            free_with_products: free_with,
            code: Some(r.code.clone()),
        })
    };
    let defaults: Vec<&RatePlan> = rates.iter().filter(|r| r.country.is_none()).collect();
    let countries: BTreeSet<String> = rates
        .iter()
        .filter_map(|r| r.country.as_ref().map(|c| c.as_ref().to_string()))
        .collect();
    let mut out = vec![];
    for code in countries {
        let country = CountryCode::parse(&code).map_err(|e| anyhow!("{e}"))?;
        let own: Vec<&RatePlan> = rates
            .iter()
            .filter(|r| r.country.as_ref() == Some(&country))
            .collect();
        let mut zone_rates = own.iter().map(|r| rate(r)).collect::<Result<Vec<_>>>()?;
        for d in &defaults {
            if !own.iter().any(|o| o.service_level == d.service_level) {
                zone_rates.push(rate(d)?);
            }
        }
        out.push(ShippingZone {
            id: ShippingZoneId::new(),
            name: country.as_ref().to_string(),
            countries: vec![country],
            rates: zone_rates,
        });
    }
    if !defaults.is_empty() {
        out.push(ShippingZone {
            id: ShippingZoneId::new(),
            name: "Rest of world".into(),
            countries: vec![],
            rates: defaults.iter().map(|r| rate(r)).collect::<Result<_>>()?,
        });
    }
    Ok(out)
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub products_created: usize,
    pub products_updated: usize,
    pub stock_levels: usize,
    pub discounts: usize,
    pub shipping_zones: usize,
}

/// Writes `plan` for `merchant`. Products are found again by their CSV id (and
/// their variants by SKU), codes by code; the shipping table is replaced whole.
pub async fn apply(
    store: &Store,
    merchant: MerchantId,
    plan: &Plan,
    now_ms: i64,
    mut progress: impl FnMut(&str),
) -> Result<Report> {
    let mut report = Report::default();
    // Product id or SKU → product, and SKU (or a one-variant product's id) → variant.
    let mut products: BTreeMap<String, ProductId> = BTreeMap::new();
    let mut variants: BTreeMap<String, VariantId> = BTreeMap::new();
    for p in &plan.products {
        let linked = store
            .external_to_internal(merchant, SOURCE, ExternalKind::Product, &p.handle)
            .await?;
        let skus: Vec<String> = p
            .variants
            .iter()
            .map(|v| v.sku.as_ref().to_string())
            .collect();
        let existing = store.variants_by_sku(merchant, &skus).await?;
        let product_id = match linked.and_then(|id| id.parse::<ProductId>().ok()) {
            Some(id) => {
                store
                    .set_product_basics(merchant, id, &p.title, p.active)
                    .await?;
                for v in &p.variants {
                    match existing.iter().find(|e| e.sku == v.sku.as_ref()) {
                        Some(e) => {
                            store
                                .set_variant_price(merchant, e.variant, v.price)
                                .await?
                        }
                        None => progress(&format!(
                            "  variant {} of {} is new: re-create the product to add variants (skipped)",
                            v.sku.as_ref(),
                            p.handle
                        )),
                    }
                }
                report.products_updated += 1;
                id
            }
            None => {
                if let Some(e) = existing.first() {
                    bail!(
                        "SKU `{}` already belongs to another product of this merchant",
                        e.sku
                    );
                }
                let product = new_product(p);
                store.create_product(merchant, &product, now_ms).await?;
                store
                    .link_external_id(
                        merchant,
                        SOURCE,
                        ExternalKind::Product,
                        &p.handle,
                        &product.id.to_string(),
                    )
                    .await?;
                report.products_created += 1;
                product.id
            }
        };
        products.insert(p.handle.clone(), product_id);
        for found in store.variants_by_sku(merchant, &skus).await? {
            products.insert(found.sku.clone(), product_id);
            if p.variants.len() == 1 {
                variants.insert(p.handle.clone(), found.variant);
            }
            variants.insert(found.sku, found.variant);
        }
    }
    progress(&format!(
        "products: {} created, {} updated",
        report.products_created, report.products_updated
    ));
    let mut locations: BTreeMap<String, LocationId> = BTreeMap::new();
    for (item, location, on_hand) in &plan.stock {
        let variant = *variants.get(item).ok_or_else(|| {
            anyhow!("inventory.csv: no variant `{item}` (give the SKU of one variant)")
        })?;
        let location_id = match locations.get(location) {
            Some(id) => *id,
            None => {
                let id = location_id(store, merchant, location, now_ms).await?;
                locations.insert(location.clone(), id);
                id
            }
        };
        let floor = store
            .stock_levels(merchant, &[variant])
            .await?
            .iter()
            .find(|l| l.location_id == location_id)
            .map_or(0, |l| l.held + l.committed);
        if *on_hand < floor {
            progress(&format!(
                "  {item}: {floor} units are held or sold but not yet shipped; on hand kept at {floor}"
            ));
        }
        store
            .set_on_hand(merchant, variant, location_id, (*on_hand).max(floor))
            .await?;
        report.stock_levels += 1;
    }
    progress(&format!("stock: {} levels set", report.stock_levels));
    for d in &plan.discounts {
        store.upsert_discount(merchant, d, now_ms).await?;
        report.discounts += 1;
    }
    progress(&format!("discounts: {} codes", report.discounts));
    if !plan.rates.is_empty() {
        let zones = zones(&plan.rates, &plan.promotions, &products)?;
        store
            .replace_shipping_zones(merchant, &zones, now_ms)
            .await?;
        report.shipping_zones = zones.len();
        progress(&format!(
            "shipping: {} zones from {} rates",
            zones.len(),
            plan.rates.len()
        ));
    }
    Ok(report)
}

fn new_product(p: &ProductPlan) -> Product {
    let id = ProductId::new();
    Product {
        id,
        title: p.title.clone(),
        description: p.description.clone(),
        images: p.image_url.iter().take(IMAGES_MAX).cloned().collect(),
        active: p.active,
        variants: p
            .variants
            .iter()
            .map(|v| Variant {
                id: VariantId::new(),
                product_id: id,
                sku: v.sku.clone(),
                title: v.title.clone(),
                options: v.options.clone(),
                price: v.price,
                max_quantity_per_order: v.max_quantity_per_order,
                image_url: v.image_url.clone().or_else(|| p.image_url.clone()),
            })
            .collect(),
    }
}

/// The location named `name`, created (and linked) on first use.
async fn location_id(
    store: &Store,
    merchant: MerchantId,
    name: &str,
    now_ms: i64,
) -> Result<LocationId> {
    if let Some(id) = store
        .external_to_internal(merchant, SOURCE, ExternalKind::Location, name)
        .await?
        .and_then(|id| id.parse().ok())
    {
        return Ok(id);
    }
    let location = Location {
        id: LocationId::new(),
        name: name.to_string(),
    };
    store.create_location(merchant, &location, now_ms).await?;
    store
        .link_external_id(
            merchant,
            SOURCE,
            ExternalKind::Location,
            name,
            &location.id.to_string(),
        )
        .await?;
    Ok(location.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::{Currency, Money};

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn rates_become_zones_with_country_rates_first_and_promotions_applied() {
        let rate = |code: &str, country: Option<&str>, level: &str, amount: i64| RatePlan {
            code: code.into(),
            country: country.map(|c| CountryCode::parse(c).unwrap()),
            service_level: level.into(),
            amount: Money::new(amount, usd()).unwrap(),
            title: code.into(),
            carrier: None,
            days: (1, 2),
            free_over_minor: None,
        };
        let rates = [
            rate("std-ship", None, "standard", 500),
            rate("exp-ship-us", Some("US"), "express", 1500),
            rate("exp-ship-intl", None, "express", 2500),
        ];
        let roses = ProductId::new();
        let products = BTreeMap::from([("bouquet_roses".to_string(), roses)]);
        let promotions = [
            PromotionPlan {
                id: "p1".into(),
                min_subtotal_minor: Some(10_000),
                eligible: vec![],
                service_levels: vec!["standard".into()],
            },
            PromotionPlan {
                id: "p2".into(),
                min_subtotal_minor: None,
                eligible: vec!["bouquet_roses".into()],
                service_levels: vec!["standard".into()],
            },
        ];
        let zones = zones(&rates, &promotions, &products).unwrap();
        assert_eq!(zones.len(), 2);
        let us: Vec<_> = zones[0]
            .rates
            .iter()
            .map(|r| r.code.clone().unwrap())
            .collect();
        assert_eq!(us, ["exp-ship-us", "std-ship"]);
        let world: Vec<_> = zones[1]
            .rates
            .iter()
            .map(|r| r.code.clone().unwrap())
            .collect();
        assert_eq!(world, ["std-ship", "exp-ship-intl"]);
        let std = &zones[1].rates[0];
        assert_eq!(std.free_over_minor, Some(10_000));
        assert_eq!(std.free_with_products, vec![roses]);
        assert!(zones[1].rates[1].free_with_products.is_empty());
        let unknown = [PromotionPlan {
            eligible: vec!["nope".into()],
            ..promotions[1].clone()
        }];
        assert!(super::zones(&rates, &unknown, &products).is_err());
    }

    #[tokio::test]
    async fn importing_twice_updates_what_the_first_import_made() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "products.csv",
            "id,title,price\nroses,Roses,3500\npot,Pot,1500\n",
        );
        write("inventory.csv", "product_id,quantity\nroses,10\npot,0\n");
        write(
            "discounts.csv",
            "code,type,value,description\n10OFF,percentage,10,10% off\n",
        );
        write(
            "shipping_rates.csv",
            "id,country_code,service_level,price,title\nstd,default,standard,500,Standard\nexp-us,US,express,1500,Express\n",
        );
        write(
            "promotions.csv",
            "id,type,min_subtotal,eligible_item_ids\np,free_shipping,,[\"roses\"]\n",
        );
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let merchant = MerchantId::new();
        store
            .create_merchant(
                &anycart_store::Merchant {
                    id: merchant,
                    name: "Flowers".into(),
                    created_at_ms: 1,
                },
                &[],
            )
            .await
            .unwrap();
        let plan = super::super::parse(dir.path(), usd()).unwrap();
        let first = apply(&store, merchant, &plan, 1, |_| {}).await.unwrap();
        assert_eq!((first.products_created, first.products_updated), (2, 0));
        assert_eq!(first.shipping_zones, 2);
        write(
            "products.csv",
            "id,title,price\nroses,Red roses,3900\npot,Pot,1500\n",
        );
        let plan = super::super::parse(dir.path(), usd()).unwrap();
        let second = apply(&store, merchant, &plan, 2, |_| {}).await.unwrap();
        assert_eq!((second.products_created, second.products_updated), (0, 2));
        let products = store.list_products(merchant, None, 10).await.unwrap();
        assert_eq!(products.len(), 2, "updated, not duplicated");
        let roses = products.iter().find(|p| p.title == "Red roses").unwrap();
        assert_eq!(roses.variants[0].price.amount_minor, 3900);
        let levels = store
            .stock_levels(merchant, &[roses.variants[0].id])
            .await
            .unwrap();
        assert_eq!(levels.iter().map(|l| l.on_hand).sum::<i64>(), 10);
        assert_eq!(store.list_discounts(merchant).await.unwrap().len(), 1);
        let zones = store.list_shipping_zones(merchant).await.unwrap();
        assert_eq!(zones.len(), 2);
        let standard = zones
            .iter()
            .flat_map(|z| &z.rates)
            .find(|r| r.code.as_deref() == Some("std"))
            .unwrap();
        assert_eq!(standard.free_with_products, vec![roses.id]);
    }
}
