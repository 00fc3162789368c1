//! Reads and purges around the edges: orders by id and page, connected merchants,
//! forgetting a shopper, idempotency retention, health checks, the Shopify app's
//! install nonces and data requests.

use super::{complete_order, merchant, stocked, stores};
use anycart_core::MerchantId;
use anycart_store::{
    Backend, ConnectionRecord, DataRequest, IdempotencyBegin, IdempotencyScope, InstallState,
    SavedDetails, ShopperProfile, ShopperTokenRecord,
};

#[tokio::test]
async fn orders_are_read_by_id_and_paged_newest_first() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let other = merchant(&store).await;
        let a = complete_order(&store, m, v, 1).await;
        let b = complete_order(&store, m, v, 1).await;
        let c = complete_order(&store, m, v, 1).await;
        let got = store.get_order(m, b).await.unwrap().unwrap();
        assert_eq!(
            (got.order.id, got.access_token.as_str()),
            (b, format!("tok-{b}").as_str()),
            "{name}"
        );
        assert!(store.get_order(other, b).await.unwrap().is_none());
        let page = |before, limit| {
            let store = store.clone();
            async move {
                store
                    .list_orders(m, before, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.order.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(page(None, 10).await, vec![c, b, a], "{name}");
        assert_eq!(page(None, 2).await, vec![c, b], "{name}");
        assert_eq!(
            page(Some(b), 10).await,
            vec![a],
            "{name}: before the cursor"
        );
    }
}

#[tokio::test]
async fn connected_merchants_skip_native_and_page_by_id() {
    for (name, store, _dir) in stores().await {
        let mut connected = Vec::new();
        for platform in ["shopify", "native", "adobe"] {
            let m = merchant(&store).await;
            let c = ConnectionRecord {
                merchant_id: m,
                settings: serde_json::from_value(serde_json::json!({
                    "platform": platform,
                    "shop_domain": "shop.example",
                    "base_url": "https://shop.example",
                    "access_token": "t",
                    "webhook_secret": "w",
                }))
                .or_else(|_| {
                    serde_json::from_value(serde_json::json!({
                        "platform": platform,
                        "shop_domain": "shop.example",
                    }))
                })
                .or_else(|_| {
                    serde_json::from_value(serde_json::json!({
                        "platform": platform,
                        "shop_domain": "shop.example",
                        "base_url": "https://shop.example",
                        "access_token": "t",
                    }))
                })
                .unwrap(),
                created_at_ms: 1,
                updated_at_ms: 1,
            };
            store.upsert_connection(&c).await.unwrap();
            if platform != "native" {
                connected.push(m);
            }
        }
        connected.sort();
        let listed = store.connected_merchants(None, 100).await.unwrap();
        assert_eq!(listed, connected, "{name}");
        assert_eq!(
            store.connected_merchants(None, 1).await.unwrap(),
            connected[..1]
        );
        let after: Vec<MerchantId> = store
            .connected_merchants(Some(connected[0]), 100)
            .await
            .unwrap();
        assert!(!after.contains(&connected[0]) && after.contains(&connected[1]));
    }
}

#[tokio::test]
async fn forgetting_a_shopper_removes_their_details_tokens_and_codes() {
    use anycart_store::{CodeLimits, NewShopperCode};
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        for merchant in [m, other] {
            let profile = ShopperProfile {
                merchant_id: merchant,
                email: "sam@x.io".into(),
                details: SavedDetails::default(),
                payment_token: "pm_saved".to_string().into(),
                payment_provider: "stripe".into(),
                provider_customer: Some("cus_1".into()),
                card_brand: None,
                card_last4: None,
                created_at_ms: 1,
                updated_at_ms: 1,
            };
            store.upsert_shopper(&profile).await.unwrap();
            let token = ShopperTokenRecord {
                merchant_id: merchant,
                email: "sam@x.io".into(),
                expires_at_ms: 10_000,
            };
            store
                .insert_shopper_token(&format!("th-{merchant}"), &token, 1)
                .await
                .unwrap();
            let code = NewShopperCode {
                id: format!("code-{merchant}"),
                merchant_id: merchant,
                email: "sam@x.io".into(),
                code_mac: "mac".into(),
                created_at_ms: 1,
                expires_at_ms: 10_000,
            };
            let limits = CodeLimits {
                window_ms: 1_000,
                per_email: 5,
                per_merchant: 5,
            };
            store.issue_shopper_code(&code, limits).await.unwrap();
        }
        assert!(store.forget_shopper(m, "sam@x.io").await.unwrap(), "{name}");
        assert!(store.get_shopper(m, "sam@x.io").await.unwrap().is_none());
        assert!(
            store
                .find_shopper_token(m, &format!("th-{m}"), 2)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .live_shopper_code(m, "sam@x.io", 2)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !store.forget_shopper(m, "sam@x.io").await.unwrap(),
            "{name}: nothing left"
        );
        // Another merchant's shopper of the same email is untouched.
        assert!(
            store
                .get_shopper(other, "sam@x.io")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .live_shopper_code(other, "sam@x.io", 2)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn idempotency_records_are_purged_after_retention() {
    // The store keeps keys 48 hours (ACP asks for at least 24).
    const IDEMPOTENCY_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let scope = IdempotencyScope {
            merchant: m,
            endpoint: "POST /checkout_sessions".into(),
            key: "k".into(),
        };
        store.idempotency_begin(&scope, "h", 0, 10).await.unwrap();
        store.idempotency_finish(&scope, 200, "{}").await.unwrap();
        let later = IDEMPOTENCY_RETENTION_MS;
        assert_eq!(store.purge_idempotency(later).await.unwrap(), 0, "{name}");
        assert!(
            store.purge_idempotency(later + 1).await.unwrap() >= 1,
            "{name}"
        );
        assert_eq!(
            store
                .idempotency_begin(&scope, "other", later + 2, 10)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed,
            "{name}: a purged key is new again"
        );
    }
}

#[tokio::test]
async fn ping_answers_and_backend_is_reported() {
    for (name, store, _dir) in stores().await {
        store.ping().await.unwrap();
        let expected = if name == "sqlite" {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        assert_eq!(store.backend(), expected);
    }
}

/// A session of `m` stored with `status`, last changed at `updated_at_ms`.
async fn stored_session(
    store: &anycart_store::Store,
    m: MerchantId,
    status: anycart_core::session::CheckoutStatus,
    updated_at_ms: i64,
) -> anycart_core::SessionId {
    let id = anycart_core::SessionId::new();
    let write = anycart_store::SessionWrite {
        merchant: m,
        session: id,
        expected_version: None,
        holds: anycart_store::HoldChange::Keep,
    };
    store
        .write_session(write, updated_at_ms, move |_| {
            let mut s = super::session(m, id);
            s.status = status;
            s.updated_at_ms = updated_at_ms;
            Ok::<_, std::convert::Infallible>(s)
        })
        .await
        .unwrap()
        .unwrap();
    id
}

#[tokio::test]
async fn ended_sessions_and_old_webhook_ids_are_forgotten_after_their_windows() {
    use anycart_core::session::CheckoutStatus as S;
    use anycart_store::Retention;
    const DAY: i64 = 24 * 60 * 60 * 1000;
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let old_expired = stored_session(&store, m, S::Expired, DAY).await;
        let old_canceled = stored_session(&store, m, S::Canceled, DAY).await;
        let recent_expired = stored_session(&store, m, S::Expired, 9 * DAY).await;
        let old_but_open = stored_session(&store, m, S::ReadyForPayment, DAY).await;
        let order = complete_order(&store, m, v, 1).await;
        let paid_session = store
            .get_order(m, order)
            .await
            .unwrap()
            .unwrap()
            .order
            .session_id;
        for (id, at) in [("evt_old", DAY), ("evt_new", 9 * DAY)] {
            store
                .record_webhook(m, "stripe", id, "applied", at)
                .await
                .unwrap();
        }

        let now = 10 * DAY;
        let retention = Retention::default(); // ended sessions and webhook ids: 7 days
        let purged = store.purge_expired_records(retention, now).await.unwrap();
        assert_eq!(purged.sessions, 2, "{name}: {purged:?}");
        assert_eq!(purged.webhook_events, 1, "{name}");
        for (id, kept) in [
            (old_expired, false),
            (old_canceled, false),
            (recent_expired, true),
            (old_but_open, true),
            (paid_session, true),
        ] {
            assert_eq!(
                store.get_session(m, id).await.unwrap().is_some(),
                kept,
                "{name}: {id}"
            );
        }
        assert!(!store.webhook_seen(m, "stripe", "evt_old").await.unwrap());
        assert!(store.webhook_seen(m, "stripe", "evt_new").await.unwrap());
        // The order is kept whatever its age.
        let later = store
            .purge_expired_records(retention, 1_000 * DAY)
            .await
            .unwrap();
        assert_eq!(
            later.sessions, 1,
            "{name}: only the recent expired one is left to go"
        );
        assert!(store.get_order(m, order).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn agents_records_go_with_their_ended_sessions_and_traces_after_their_window() {
    use anycart_core::session::CheckoutStatus as S;
    use anycart_store::{CredentialsKey, IntentTraceRecord, Retention, Touchpoint};
    const DAY: i64 = 24 * 60 * 60 * 1000;
    for (name, store, _dir) in stores().await {
        let key = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let store = store.with_credentials_key(key);
        let (m, v, _) = stocked(&store, 5, 0).await;
        let abandoned = stored_session(&store, m, S::Canceled, DAY).await;
        let order = complete_order(&store, m, v, 1).await;
        let paid = store
            .get_order(m, order)
            .await
            .unwrap()
            .unwrap()
            .order
            .session_id;
        for session in [abandoned, paid] {
            let claim = super::agents::claim(Touchpoint::First, "pub_1");
            store
                .record_affiliate_claim(m, session, &claim, DAY)
                .await
                .unwrap();
        }
        let trace = IntentTraceRecord {
            reason_code: "price_sensitivity".into(),
            trace_summary: None,
            metadata: serde_json::Map::new(),
            agent: None,
            created_at_ms: DAY,
        };
        store
            .record_intent_trace(m, abandoned, &trace)
            .await
            .unwrap();

        let retention = Retention::default();
        let purged = store
            .purge_expired_records(retention, 10 * DAY)
            .await
            .unwrap();
        assert_eq!((purged.sessions, purged.affiliate_claims), (1, 1), "{name}");
        assert!(
            store
                .affiliate_claims(m, abandoned)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.affiliate_claims(m, paid).await.unwrap().len(),
            1,
            "{name}: the order's claim stays"
        );
        assert!(
            store.intent_trace(m, abandoned).await.unwrap().is_some(),
            "{name}: traces outlive the session"
        );

        let purged = store
            .purge_expired_records(retention, 100 * DAY)
            .await
            .unwrap();
        assert_eq!(purged.intent_traces, 1, "{name}");
        assert!(store.intent_trace(m, abandoned).await.unwrap().is_none());
        assert_eq!(
            store.affiliate_claims(m, paid).await.unwrap().len(),
            1,
            "{name}"
        );
    }
}

/// A Shopify connection as the app install saves it.
fn shopify_connection(merchant: MerchantId, at_ms: i64) -> ConnectionRecord {
    ConnectionRecord {
        merchant_id: merchant,
        settings: serde_json::from_value(serde_json::json!({
            "platform": "shopify",
            "shop_domain": "shop.myshopify.com",
            "base_url": "https://shop.example",
            "access_token": "t",
            "webhook_secret": "w",
        }))
        .unwrap(),
        created_at_ms: at_ms,
        updated_at_ms: at_ms,
    }
}

#[tokio::test]
async fn a_disabled_connection_reads_as_none_until_saved_again() {
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        for who in [m, other] {
            store
                .upsert_connection(&shopify_connection(who, 1))
                .await
                .unwrap();
        }
        assert!(store.disable_connection(m, 50).await.unwrap(), "{name}");
        assert!(
            !store.disable_connection(m, 60).await.unwrap(),
            "{name}: already disabled"
        );
        assert!(store.get_connection(m).await.unwrap().is_none(), "{name}");
        let (kept, disabled_at) = store.get_connection_any_state(m).await.unwrap().unwrap();
        assert_eq!(
            (kept.shop_domain(), disabled_at),
            ("shop.myshopify.com", Some(50)),
            "{name}: still there for compliance webhooks"
        );
        assert!(
            !store
                .connected_merchants(None, 100)
                .await
                .unwrap()
                .contains(&m),
            "{name}: not reconciled any more"
        );
        assert!(
            store.get_connection(other).await.unwrap().is_some(),
            "{name}: other merchants untouched"
        );
        store
            .upsert_connection(&shopify_connection(m, 70))
            .await
            .unwrap();
        assert!(store.get_connection(m).await.unwrap().is_some(), "{name}");
        assert_eq!(
            store.get_connection_any_state(m).await.unwrap().unwrap().1,
            None,
            "{name}: reinstalled"
        );
        assert!(
            !store
                .disable_connection(MerchantId::new(), 1)
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn shopper_emails_are_listed_per_merchant_in_order() {
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        for (who, email) in [(m, "b@x.io"), (m, "a@x.io"), (other, "c@x.io")] {
            let profile = ShopperProfile {
                merchant_id: who,
                email: email.into(),
                details: SavedDetails::default(),
                payment_token: "pm_saved".to_string().into(),
                payment_provider: "stripe".into(),
                provider_customer: None,
                card_brand: None,
                card_last4: None,
                created_at_ms: 1,
                updated_at_ms: 1,
            };
            store.upsert_shopper(&profile).await.unwrap();
        }
        assert_eq!(
            store.shopper_emails(m, 10).await.unwrap(),
            ["a@x.io", "b@x.io"],
            "{name}"
        );
        assert_eq!(store.shopper_emails(m, 1).await.unwrap(), ["a@x.io"]);
    }
}

#[tokio::test]
async fn an_install_nonce_is_spent_once_and_only_before_it_expires() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        store
            .save_install_state("hash-a", m, "acme.myshopify.com", 100, 700)
            .await
            .unwrap();
        store
            .save_install_state("hash-b", m, "acme.myshopify.com", 100, 700)
            .await
            .unwrap();
        assert_eq!(
            store
                .spend_install_state("hash-unknown", 200)
                .await
                .unwrap(),
            None,
            "{name}"
        );
        let spent = store.spend_install_state("hash-a", 200).await.unwrap();
        assert_eq!(
            spent,
            Some(InstallState {
                merchant_id: m,
                shop_domain: "acme.myshopify.com".into()
            }),
            "{name}"
        );
        assert_eq!(
            store.spend_install_state("hash-a", 201).await.unwrap(),
            None,
            "{name}: a replay finds nothing"
        );
        assert_eq!(
            store.spend_install_state("hash-b", 700).await.unwrap(),
            None,
            "{name}: expired"
        );
        // A new nonce clears expired ones; live ones stay.
        store
            .save_install_state("hash-c", m, "acme.myshopify.com", 800, 1_400)
            .await
            .unwrap();
        assert!(
            store
                .spend_install_state("hash-c", 900)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn shops_name_their_merchants_and_data_requests_are_kept_once() {
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        store
            .upsert_connection(&shopify_connection(m, 1))
            .await
            .unwrap();
        assert_eq!(
            store
                .merchants_of_shop("shopify", "Shop.myshopify.com")
                .await
                .unwrap(),
            [m],
            "{name}"
        );
        store.disable_connection(m, 2).await.unwrap();
        assert_eq!(
            store
                .merchants_of_shop("shopify", "shop.myshopify.com")
                .await
                .unwrap(),
            [m],
            "{name}: an uninstalled shop still gets its compliance webhooks"
        );
        assert!(
            store
                .merchants_of_shop("shopify", "nobody.myshopify.com")
                .await
                .unwrap()
                .is_empty()
        );
        let request = |event: &str, at: i64| DataRequest {
            platform: "shopify".into(),
            event_id: event.into(),
            shop_domain: "shop.myshopify.com".into(),
            customer_id: "191168".into(),
            customer_email: Some("bob@x.io".into()),
            data_request_id: "9999".into(),
            received_at_ms: at,
        };
        store
            .record_data_request(m, &request("d-1", 10))
            .await
            .unwrap();
        store
            .record_data_request(m, &request("d-1", 11))
            .await
            .unwrap();
        store
            .record_data_request(m, &request("d-2", 20))
            .await
            .unwrap();
        let kept = store.data_requests(m, 10).await.unwrap();
        assert_eq!(
            kept.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>(),
            ["d-2", "d-1"],
            "{name}: newest first, once per delivery"
        );
        assert_eq!(kept[1], request("d-1", 10));
        assert!(store.data_requests(other, 10).await.unwrap().is_empty());
    }
}
