//! Placements (widget embeds) and widget themes.

use super::{merchant, stocked, stores};
use anycart_core::{ApiKeyId, MerchantId, PlacementId, ProductId};
use anycart_store::{
    ApiKeyKind, ApiKeyRecord, Campaign, Channel, Placement, PlacementSettings, Store, Theme,
};

fn theme() -> Theme {
    Theme {
        primary_color: Some("#112233".into()),
        background_color: Some("#fff".into()),
        text_color: Some("#000".into()),
        font_family: Some("Inter, sans-serif".into()),
        radius_px: Some(8),
        logo_url: Some("https://img.example/logo.png".into()),
        dark: Some(false),
    }
}

/// A stored placement of `m` selling `product`, with its own publishable key.
pub(crate) async fn placement(store: &Store, m: MerchantId, product: ProductId) -> Placement {
    let key = ApiKeyRecord {
        id: ApiKeyId::new(),
        merchant_id: m,
        kind: ApiKeyKind::Publishable,
        key_hash: format!("hash-{}", ApiKeyId::new()),
        hint: "pk_…0001".into(),
        placement_id: None,
        created_at_ms: 3,
    };
    let p = Placement {
        id: PlacementId::new(),
        merchant_id: m,
        product_id: product,
        enabled: true,
        settings: PlacementSettings {
            name: "Spring ad".into(),
            variant_id: None,
            quantity: 1,
            channel: Channel::DisplayAd,
            campaign: Campaign {
                name: Some("spring".into()),
                source: Some("network".into()),
                medium: Some("display".into()),
                content: Some("300x250".into()),
            },
            allowed_origins: vec!["https://news.example".into()],
            ad_servers: vec![],
            theme: theme(),
            publishable_key: "pk_test_0001".into(),
        },
        created_at_ms: 3,
    };
    store.create_placement(&p, &key).await.unwrap();
    assert_eq!(
        store.find_api_key(&key.key_hash).await.unwrap(),
        Some(ApiKeyRecord {
            placement_id: Some(p.id),
            ..key
        }),
        "the placement's key is stored with it, and knows its placement"
    );
    p
}

#[tokio::test]
async fn placements_are_found_by_id_and_listed_per_merchant() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 1, 0).await;
        let other = merchant(&store).await;
        let product = store.get_variants(m, &[v]).await.unwrap()[0].product_id;
        let first = placement(&store, m, product).await;
        let second = placement(&store, m, product).await;
        assert_eq!(
            store.get_placement(m, first.id).await.unwrap(),
            Some(first.clone()),
            "{name}"
        );
        assert_eq!(store.get_placement(other, first.id).await.unwrap(), None);
        assert_eq!(
            store.find_placement(first.id).await.unwrap(),
            Some(first.clone()),
            "{name}: the iframe page needs no merchant"
        );
        assert_eq!(
            store.list_placements(m, None, 10).await.unwrap(),
            vec![first.clone(), second.clone()],
            "{name}"
        );
        assert_eq!(
            store.list_placements(m, Some(first.id), 10).await.unwrap(),
            vec![second.clone()]
        );
        assert!(
            store
                .list_placements(other, None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        assert!(
            !store
                .set_placement_enabled(other, first.id, false)
                .await
                .unwrap()
        );
        assert!(
            store
                .set_placement_enabled(m, first.id, false)
                .await
                .unwrap()
        );
        assert!(
            !store
                .find_placement(first.id)
                .await
                .unwrap()
                .unwrap()
                .enabled,
            "{name}"
        );
    }
}

#[tokio::test]
async fn widget_themes_default_to_empty_and_are_replaced_whole() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        assert_eq!(
            store.widget_theme(m).await.unwrap(),
            Theme::default(),
            "{name}"
        );
        store.set_widget_theme(m, &theme(), 1).await.unwrap();
        assert_eq!(store.widget_theme(m).await.unwrap(), theme(), "{name}");
        let dark = Theme {
            dark: Some(true),
            ..Theme::default()
        };
        store.set_widget_theme(m, &dark, 2).await.unwrap();
        assert_eq!(store.widget_theme(m).await.unwrap(), dark, "{name}");
        assert_eq!(
            store.widget_theme(merchant(&store).await).await.unwrap(),
            Theme::default()
        );
    }
}
