//! Catalogue reads and merchant rules: products, variants, prices, locations,
//! shipping zones, tax rates and discount codes, each scoped by merchant.

use super::{complete_order_redeeming, merchant, stocked, stores, try_complete_order, usd};
use anycart_core::catalogue::{Location, Product, Sku, Variant, VariantOption};
use anycart_core::pricing::{Discount, DiscountKind, ShippingRate, ShippingZone, TaxRate};
use anycart_core::{
    CountryCode, DiscountId, LocationId, Money, ProductId, ShippingRateId, ShippingZoneId,
    TaxRateId, VariantId,
};
use anycart_store::StoreError;

/// A product with two variants that use every stored column.
fn product() -> Product {
    let id = ProductId::new();
    let variant = |sku: &str, size: &str, max: Option<u32>, image: Option<&str>| Variant {
        id: VariantId::new(),
        product_id: id,
        sku: Sku::parse(&format!("{sku}-{}", id.uuid().simple())).unwrap(),
        title: format!("Hoodie {size}"),
        options: vec![VariantOption {
            name: "Size".into(),
            value: size.into(),
        }],
        price: Money::new(4_900, usd()).unwrap(),
        max_quantity_per_order: max,
        image_url: image.map(str::to_string),
    };
    Product {
        id,
        title: "Hoodie".into(),
        description: "Warm.".into(),
        images: vec!["https://img.example/h.png".into()],
        active: true,
        // Not in id order, so reading back proves the stored position is kept.
        variants: vec![
            variant("HOOD-L", "L", Some(2), Some("https://img.example/l.png")),
            variant("HOOD-M", "M", None, None),
        ],
    }
}

#[tokio::test]
async fn products_read_back_whole_and_change_only_for_their_merchant() {
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let mut p = product();
        p.variants.swap(0, 1);
        store.create_product(m, &p, 5).await.unwrap();
        assert_eq!(
            store.get_product(m, p.id).await.unwrap(),
            Some(p.clone()),
            "{name}"
        );
        assert_eq!(store.get_product(other, p.id).await.unwrap(), None);

        let second = product();
        store.create_product(m, &second, 6).await.unwrap();
        let ids = |ps: Vec<Product>| ps.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let mut both = vec![p.id, second.id];
        both.sort();
        assert_eq!(ids(store.list_products(m, None, 10).await.unwrap()), both);
        assert_eq!(
            ids(store.list_products(m, Some(both[0]), 10).await.unwrap()),
            vec![both[1]],
            "{name}: cursor"
        );
        assert_eq!(
            ids(store.list_products(m, None, 1).await.unwrap()),
            vec![both[0]],
            "{name}: limit"
        );

        let v = p.variants[0].id;
        let ids = [v, p.variants[1].id, second.variants[0].id, VariantId::new()];
        let mut for_sale = store.variants_for_sale(m, &ids).await.unwrap();
        for_sale.sort_by_key(|(v, _)| v.id);
        let mut expected: Vec<_> = p
            .variants
            .iter()
            .chain(&second.variants[..1])
            .map(|v| (v.clone(), true))
            .collect();
        expected.sort_by_key(|(v, _)| v.id);
        assert_eq!(for_sale, expected, "{name}");
        assert!(
            store
                .variants_for_sale(other, &ids)
                .await
                .unwrap()
                .is_empty()
        );

        let price = Money::new(5_500, usd()).unwrap();
        store.set_variant_price(m, v, price).await.unwrap();
        assert_eq!(store.get_variants(m, &[v]).await.unwrap()[0].price, price);
        assert!(matches!(
            store.set_variant_price(other, v, price).await,
            Err(StoreError::NotFound)
        ));

        assert!(store.product_is_active(m, p.id).await.unwrap(), "{name}");
        store
            .set_product_basics(m, p.id, "Old hoodie", false)
            .await
            .unwrap();
        assert!(!store.product_is_active(m, p.id).await.unwrap(), "{name}");
        assert!(!store.product_is_active(other, p.id).await.unwrap());
        let archived = store.get_product(m, p.id).await.unwrap().unwrap();
        assert_eq!(
            (archived.title.as_str(), archived.active),
            ("Old hoodie", false)
        );
        assert!(
            store
                .variants_for_sale(m, &[v])
                .await
                .unwrap()
                .iter()
                .all(|(_, on_sale)| !on_sale),
            "{name}: an archived product stops selling"
        );
        assert!(matches!(
            store.set_product_basics(other, p.id, "x", true).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn locations_are_listed_per_merchant_in_id_order() {
    for (name, store, _dir) in stores().await {
        let (m, _, mut locs) = stocked(&store, 1, 1).await;
        let other = merchant(&store).await;
        locs.sort();
        let listed: Vec<LocationId> = store
            .list_locations(m)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(listed, locs.to_vec(), "{name}");
        assert!(store.list_locations(other).await.unwrap().is_empty());
        let loc = Location {
            id: LocationId::new(),
            name: "Shop floor".into(),
        };
        store.create_location(other, &loc, 2).await.unwrap();
        assert_eq!(store.list_locations(other).await.unwrap(), vec![loc]);
    }
}

fn zone() -> ShippingZone {
    ShippingZone {
        id: ShippingZoneId::new(),
        name: "Europe".into(),
        countries: vec![CountryCode::parse("FR").unwrap()],
        rates: vec![ShippingRate {
            id: ShippingRateId::new(),
            title: "Standard".into(),
            carrier: Some("La Poste".into()),
            amount: Money::new(500, usd()).unwrap(),
            free_over_minor: Some(10_000),
            min_delivery_days: 2,
            max_delivery_days: 5,
            free_with_products: vec![],
            code: None,
        }],
    }
}

#[tokio::test]
async fn shipping_zones_and_tax_rates_round_trip_per_merchant() {
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let mut zones = vec![zone(), zone()];
        for z in &zones {
            store.create_shipping_zone(m, z, 1).await.unwrap();
        }
        zones.sort_by_key(|z| z.id);
        assert_eq!(store.list_shipping_zones(m).await.unwrap(), zones, "{name}");
        assert!(store.list_shipping_zones(other).await.unwrap().is_empty());

        let rate = TaxRate {
            id: TaxRateId::new(),
            name: "CA sales tax".into(),
            country: CountryCode::parse("US").unwrap(),
            region: Some("CA".into()),
            rate_bps: 825,
            applies_to_shipping: true,
        };
        store.create_tax_rate(m, &rate, 1).await.unwrap();
        assert_eq!(store.list_tax_rates(m).await.unwrap(), vec![rate], "{name}");
        assert!(store.list_tax_rates(other).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn discounts_are_unique_per_merchant_and_count_redemptions() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 0).await;
        let other = merchant(&store).await;
        let discount = Discount {
            id: DiscountId::new(),
            code: "WELCOME".into(),
            name: "Welcome".into(),
            kind: DiscountKind::Percentage { rate_bps: 1_000 },
            min_subtotal_minor: Some(1_000),
            starts_at_ms: Some(0),
            ends_at_ms: Some(9_000_000),
            max_redemptions: Some(10),
            times_redeemed: 0,
            active: true,
            combinable: false,
        };
        store.create_discount(m, &discount, 1).await.unwrap();
        assert_eq!(
            store.list_discounts(m).await.unwrap(),
            vec![discount.clone()],
            "{name}"
        );
        let again = Discount {
            id: DiscountId::new(),
            ..discount.clone()
        };
        assert!(
            matches!(
                store.create_discount(m, &again, 2).await,
                Err(StoreError::Duplicate(_))
            ),
            "{name}"
        );
        store.create_discount(other, &again, 2).await.unwrap();

        complete_order_redeeming(&store, m, v, 1, &[discount.id]).await;
        let listed = store.list_discounts(m).await.unwrap();
        assert_eq!(listed[0].times_redeemed, 1, "{name}");
        assert_eq!(
            store.list_discounts(other).await.unwrap()[0].times_redeemed,
            0,
            "{name}: only the merchant's own code counts"
        );
    }
}

/// A code with `max_redemptions` uses.
fn limited(code: &str, max_redemptions: u32) -> Discount {
    Discount {
        id: DiscountId::new(),
        code: code.into(),
        name: code.into(),
        kind: DiscountKind::Percentage { rate_bps: 500 },
        min_subtotal_minor: None,
        starts_at_ms: None,
        ends_at_ms: None,
        max_redemptions: Some(max_redemptions),
        times_redeemed: 0,
        active: true,
        combinable: true,
    }
}

/// The limit is the database's: an order past it is refused and writes
/// nothing, and the configuration generation moves when a code is defined
/// and when it is used up (so cached copies drop it), not on every use.
#[tokio::test]
async fn a_code_is_never_redeemed_past_its_limit() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 20, 0).await;
        let before = store.config_generation(m).await.unwrap();
        let twice = limited("TWICE", 2);
        store.create_discount(m, &twice, 1).await.unwrap();
        let defined = store.config_generation(m).await.unwrap();
        assert!(defined > before, "{name}: a new code bumps the generation");

        try_complete_order(&store, m, v, 1, &[twice.id], None)
            .await
            .unwrap();
        assert_eq!(
            store.config_generation(m).await.unwrap(),
            defined,
            "{name}: a use that leaves uses does not bump the generation"
        );
        try_complete_order(&store, m, v, 1, &[twice.id], None)
            .await
            .unwrap();
        let used_up = store.config_generation(m).await.unwrap();
        assert!(
            used_up > defined,
            "{name}: the last use bumps the generation"
        );

        let refused = try_complete_order(&store, m, v, 1, &[twice.id], None).await;
        assert!(
            matches!(refused, Err(StoreError::DiscountUsedUp(ref id)) if *id == twice.id.to_string()),
            "{name}: {refused:?}"
        );
        let listed = store.list_discounts(m).await.unwrap();
        assert_eq!(listed[0].times_redeemed, 2, "{name}");
        assert_eq!(
            store.list_orders(m, None, 100).await.unwrap().len(),
            2,
            "{name}: the refused order was not written"
        );
    }
}

/// Orders racing for a code's last uses: exactly its limit get it, however
/// many were priced while it had uses left.
#[tokio::test]
async fn concurrent_orders_redeem_a_code_at_most_its_limit() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 40, 0).await;
        let three = limited("THREE", 3);
        store.create_discount(m, &three, 1).await.unwrap();
        let racers: Vec<_> = (0..12)
            .map(|_| {
                let store = store.clone();
                let id = three.id;
                tokio::spawn(async move { try_complete_order(&store, m, v, 1, &[id], None).await })
            })
            .collect();
        let mut written = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(_) => written += 1,
                Err(StoreError::DiscountUsedUp(_)) => {}
                Err(other) => panic!("{name}: unexpected {other:?}"),
            }
        }
        assert_eq!(written, 3, "{name}");
        assert_eq!(
            store.list_discounts(m).await.unwrap()[0].times_redeemed,
            3,
            "{name}"
        );
        assert_eq!(
            store.list_orders(m, None, 100).await.unwrap().len(),
            3,
            "{name}"
        );
    }
}
