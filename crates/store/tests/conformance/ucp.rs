//! The UCP door's tables and the bulk catalogue calls, on both engines.

use super::{complete_order, merchant, stocked, stores, usd};
use anycart_core::pricing::{Discount, DiscountKind, ShippingRate, ShippingZone};
use anycart_core::{CountryCode, DiscountId, Money, ShippingRateId, ShippingZoneId};
use anycart_store::{
    CredentialsKey, NewUcpWebhook, Secret, StoreError, UcpAccess, UcpDoor, UcpOrderRecord,
    UcpTestAddress, UcpWebhookState, new_ucp_webhook_id,
};

fn hook(url: &str) -> NewUcpWebhook {
    NewUcpWebhook {
        id: new_ucp_webhook_id(),
        event_type: "order_placed".into(),
        url: url.into(),
        ucp_version: "2026-01-11".into(),
        payload: r#"{"id":"x"}"#.into(),
    }
}

#[tokio::test]
async fn doors_keep_their_key_sealed_and_their_settings() {
    for (name, store, _dir) in stores().await {
        let store = store.with_credentials_key(
            CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap(),
        );
        let m = merchant(&store).await;
        assert!(store.get_ucp_door(m).await.unwrap().is_none(), "{name}");
        let door = UcpDoor {
            merchant_id: m,
            enabled: true,
            access: UcpAccess::Signed,
            signing_kid: "k1".into(),
            signing_key: Secret::new("pkcs8-in-base64"),
            settings: "{}".into(),
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        store.put_ucp_door(&door).await.unwrap();
        let read = store.get_ucp_door(m).await.unwrap().unwrap();
        assert_eq!(read.signing_key.expose(), "pkcs8-in-base64", "{name}");
        assert_eq!(read.access, UcpAccess::Signed);
        let closed = UcpDoor {
            enabled: false,
            access: UcpAccess::Open,
            updated_at_ms: 2,
            ..door
        };
        store.put_ucp_door(&closed).await.unwrap();
        let read = store.get_ucp_door(m).await.unwrap().unwrap();
        assert!(!read.enabled && read.access == UcpAccess::Open);
        assert_eq!(read.created_at_ms, 1, "{name}: created once");
    }
}

#[tokio::test]
async fn a_ucp_order_is_recorded_once_with_its_webhook_and_updated_by_version() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let order = complete_order(&store, m, v, 1).await;
        let session = store
            .get_order(m, order)
            .await
            .unwrap()
            .unwrap()
            .order
            .session_id;
        let record = UcpOrderRecord {
            order_id: order,
            merchant_id: m,
            session_id: session,
            channel: "ucp".into(),
            agent_profile: Some("https://agent.example/p".into()),
            webhook_url: Some("https://agent.example/hook".into()),
            ucp_version: "2026-01-11".into(),
            doc: "{}".into(),
            version: 1,
            created_at_ms: 10,
            updated_at_ms: 10,
        };
        let first = store
            .record_ucp_order(&record, Some(&hook("https://agent.example/hook")))
            .await
            .unwrap();
        assert!(matches!(first, Some(Some(_))), "{name}");
        let again = store
            .record_ucp_order(&record, Some(&hook("https://agent.example/hook")))
            .await
            .unwrap();
        assert_eq!(
            again, None,
            "{name}: a retried completion records nothing twice"
        );
        assert_eq!(
            store.ucp_webhooks_of_order(m, order).await.unwrap().len(),
            1
        );
        let read = store.get_ucp_order(m, order).await.unwrap().unwrap();
        assert_eq!(read, record);
        assert!(
            store
                .get_ucp_order(merchant(&store).await, order)
                .await
                .unwrap()
                .is_none()
        );

        store
            .update_ucp_order(
                m,
                order,
                1,
                r#"{"events":[1]}"#,
                Some(&hook("https://agent.example/hook")),
                20,
            )
            .await
            .unwrap();
        assert!(matches!(
            store.update_ucp_order(m, order, 1, "{}", None, 21).await,
            Err(StoreError::VersionConflict)
        ));
        let read = store.get_ucp_order(m, order).await.unwrap().unwrap();
        assert_eq!(
            (read.version, read.doc.as_str()),
            (2, r#"{"events":[1]}"#),
            "{name}"
        );
        assert_eq!(
            store.ucp_webhooks_of_order(m, order).await.unwrap().len(),
            2
        );
    }
}

#[tokio::test]
async fn webhooks_are_claimed_once_retried_and_dead_lettered() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let order = complete_order(&store, m, v, 1).await;
        let session = store
            .get_order(m, order)
            .await
            .unwrap()
            .unwrap()
            .order
            .session_id;
        let record = UcpOrderRecord {
            order_id: order,
            merchant_id: m,
            session_id: session,
            channel: "ucp".into(),
            agent_profile: None,
            webhook_url: Some("https://h".into()),
            ucp_version: "2026-01-11".into(),
            doc: "{}".into(),
            version: 1,
            created_at_ms: 100,
            updated_at_ms: 100,
        };
        let id = store
            .record_ucp_order(&record, Some(&hook("https://h")))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        // One claimer wins; the lease keeps the other out.
        let claimed = store.claim_ucp_webhook(&id, 100, 1_000).await.unwrap();
        assert_eq!(claimed.as_ref().map(|h| h.attempts), Some(1), "{name}");
        assert!(
            store
                .claim_ucp_webhook(&id, 200, 1_000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .claim_ucp_webhooks(200, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // A failure is due again later; claims count attempts.
        store
            .ucp_webhook_failed(&id, &"e".repeat(5_000), 5_000, false, 300)
            .await
            .unwrap();
        assert!(
            store
                .claim_ucp_webhooks(4_000, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let due = store.claim_ucp_webhooks(5_000, 1_000, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 2);
        assert_eq!(
            due[0].last_error.as_ref().unwrap().len(),
            anycart_store::UCP_WEBHOOK_ERROR_CHARS_MAX
        );
        store
            .ucp_webhook_failed(&id, "gone", 9_000, true, 5_100)
            .await
            .unwrap();
        let dead = &store.ucp_webhooks_of_order(m, order).await.unwrap()[0];
        assert_eq!(dead.state, UcpWebhookState::Dead, "{name}");
        assert!(
            store
                .claim_ucp_webhooks(100_000, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store.ucp_webhook_delivered(&id, 6_000).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn the_conformance_address_book_is_per_merchant_and_email() {
    for (name, store, _dir) in stores().await {
        let (a, b) = (merchant(&store).await, merchant(&store).await);
        let address = |id: &str, email: &str| UcpTestAddress {
            id: id.into(),
            email: email.into(),
            doc: format!(r#"{{"street_address":"{id}"}}"#),
        };
        store
            .put_ucp_test_address(a, &address("addr_1", "John@Example.com"), 1)
            .await
            .unwrap();
        store
            .put_ucp_test_address(a, &address("addr_2", "john@example.com"), 2)
            .await
            .unwrap();
        store
            .put_ucp_test_address(b, &address("addr_1", "john@example.com"), 1)
            .await
            .unwrap();
        let johns = store
            .ucp_test_addresses(a, "JOHN@example.com")
            .await
            .unwrap();
        let ids: Vec<_> = johns.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["addr_1", "addr_2"], "{name}");
        assert_eq!(
            store
                .ucp_test_addresses(b, "john@example.com")
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .ucp_test_addresses(a, "jane@example.com")
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn bulk_calls_find_skus_replace_zones_and_upsert_codes() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let sku = store.get_variants(m, &[v]).await.unwrap()[0]
            .sku
            .as_ref()
            .to_string();
        let found = store
            .variants_by_sku(m, &[sku.clone(), "NOPE".into()])
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].variant, v);
        assert!(
            store
                .variants_by_sku(merchant(&store).await, &[sku])
                .await
                .unwrap()
                .is_empty()
        );

        let zone = |code: &str| ShippingZone {
            id: ShippingZoneId::new(),
            name: code.into(),
            countries: vec![CountryCode::parse("US").unwrap()],
            rates: vec![ShippingRate {
                id: ShippingRateId::new(),
                title: "Std".into(),
                carrier: None,
                amount: Money::new(500, usd()).unwrap(),
                free_over_minor: None,
                min_delivery_days: 1,
                max_delivery_days: 2,
                free_with_products: vec![],
                code: Some(code.into()),
            }],
        };
        store
            .replace_shipping_zones(m, &[zone("a"), zone("b")], 1)
            .await
            .unwrap();
        store
            .replace_shipping_zones(m, &[zone("c")], 2)
            .await
            .unwrap();
        let zones = store.list_shipping_zones(m).await.unwrap();
        assert_eq!(zones.len(), 1, "{name}");
        assert_eq!(zones[0].rates[0].code.as_deref(), Some("c"));

        let code = |value: u32| Discount {
            id: DiscountId::new(),
            code: "TEN".into(),
            name: "Ten".into(),
            kind: DiscountKind::Percentage { rate_bps: value },
            min_subtotal_minor: None,
            starts_at_ms: None,
            ends_at_ms: None,
            max_redemptions: None,
            times_redeemed: 0,
            active: true,
            combinable: true,
        };
        let first = store.upsert_discount(m, &code(1_000), 1).await.unwrap();
        let second = store.upsert_discount(m, &code(2_000), 2).await.unwrap();
        assert_eq!(first, second, "{name}: the code keeps its id");
        let stored = store.list_discounts(m).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].kind, DiscountKind::Percentage { rate_bps: 2_000 });
        assert!(stored[0].combinable);
    }
}
