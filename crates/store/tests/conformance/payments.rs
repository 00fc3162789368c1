//! The payment journal: journaling is idempotent per attempt, answers only move an
//! unsettled attempt, and the order commit and a give-back exclude each other.

use super::{hold, stocked, stores, usd};
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::session::{CheckoutStatus, Fulfillment};
use anycart_core::{MerchantId, OrderId, SessionId, VariantId};
use anycart_store::{AttemptKey, AttemptState, CardUse, PaymentAttempt, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

fn attempt(key: AttemptKey, token: &str, now_ms: i64) -> PaymentAttempt {
    PaymentAttempt {
        key,
        idempotency_key: format!("{}-{}", key.session, key.attempt),
        provider: "sandbox".into(),
        order_id: OrderId::new(),
        amount_minor: 1_000,
        currency: "usd".into(),
        capture: true,
        token: SecretString::from(token.to_string()),
        card_use: CardUse::OneOff,
        provider_metadata: vec![("anycart_channel".into(), "display_ad".into())],
        state: AttemptState::Started,
        provider_reference: None,
        captured: false,
        recovery_runs: 0,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    }
}

/// Completes `session` as paid by its attempt 0 with `order_id`.
async fn complete(
    store: &Store,
    m: MerchantId,
    s: SessionId,
    v: VariantId,
    order_id: OrderId,
) -> Result<Order, StoreError> {
    let (mut sess, version) = store.get_session(m, s).await.unwrap().unwrap();
    sess.status = CheckoutStatus::Completed;
    sess.order_id = Some(order_id);
    let order = Order {
        id: order_id,
        merchant_id: m,
        session_id: s,
        number: 0,
        status: OrderStatus::Confirmed,
        currency: usd(),
        lines: vec![],
        totals: sess.quote.totals,
        email: None,
        fulfillment: Fulfillment::default(),
        shipping_title: None,
        payment: PaymentRecord {
            provider: "sandbox".into(),
            provider_reference: "ref".into(),
            amount_minor: 1_000,
            card_last4: None,
            captured: true,
        },
        attribution: None,
        created_at_ms: 20,
    };
    let demand = BTreeMap::from([(v, 1)]);
    store
        .complete_checkout(
            &sess,
            version,
            &demand,
            order,
            &format!("tok-{order_id}"),
            &[],
        )
        .await
        .map(|completed| completed.order)
}

#[tokio::test]
async fn attempts_are_journaled_once_and_sealed() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 0).await;
        let (s, _) = hold(&store, m, v, 1).await;
        let key = AttemptKey {
            merchant: m,
            session: s,
            attempt: 0,
        };
        let first = store
            .journal_payment_attempt(&attempt(key, "tok_visa", 10))
            .await
            .unwrap();
        // A retry journals nothing new: it gets the first row and its order id.
        let again = store
            .journal_payment_attempt(&attempt(key, "tok_visa", 11))
            .await
            .unwrap();
        assert_eq!(again.order_id, first.order_id, "{name}");
        assert_eq!(again.state, AttemptState::Started);
        assert_eq!(again.token.expose_secret(), "tok_visa");
        assert_eq!(
            again.provider_metadata,
            vec![("anycart_channel".to_string(), "display_ad".to_string())]
        );
        assert!(
            store
                .record_payment_answer(key, AttemptState::Authorized, Some("sbx_1"), true, 12)
                .await
                .unwrap()
        );
        let got = store.get_payment_attempt(key).await.unwrap().unwrap();
        assert_eq!(got.state, AttemptState::Authorized, "{name}");
        assert_eq!(got.provider_reference.as_deref(), Some("sbx_1"));
        assert!(got.captured);

        // What the card is used for beyond the payment is journaled with it, so a
        // replay of the provider call is the same call.
        for (n, card_use) in [
            CardUse::Save {
                customer: "cus_a".into(),
            },
            CardUse::SavedCard {
                customer: "cus_b".into(),
            },
        ]
        .into_iter()
        .enumerate()
        {
            let key = AttemptKey {
                attempt: u32::try_from(n + 1).unwrap(),
                ..key
            };
            let wanted = PaymentAttempt {
                card_use: card_use.clone(),
                ..attempt(key, "pm_1", 20)
            };
            let journaled = store.journal_payment_attempt(&wanted).await.unwrap();
            assert_eq!(journaled.card_use, card_use, "{name}");
        }
    }
}

#[tokio::test]
async fn the_order_commit_and_a_give_back_exclude_each_other() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 4, 0).await;
        // Given back first: the order can no longer be written with it.
        let (s, _) = hold(&store, m, v, 1).await;
        let key = AttemptKey {
            merchant: m,
            session: s,
            attempt: 0,
        };
        let a = store
            .journal_payment_attempt(&attempt(key, "tok_visa", 10))
            .await
            .unwrap();
        assert!(
            store.begin_voiding(key, Some("pi_void"), 11).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.begin_voiding(key, None, 12).await.unwrap(),
            "{name}: only once"
        );
        assert_eq!(
            store
                .get_payment_attempt(key)
                .await
                .unwrap()
                .unwrap()
                .provider_reference
                .as_deref(),
            Some("pi_void"),
            "{name}: the claim records the reference recovery voids by"
        );
        let err = complete(&store, m, s, v, a.order_id).await.unwrap_err();
        assert!(
            matches!(err, StoreError::PaymentSettled(_)),
            "{name}: {err}"
        );
        assert!(
            !store
                .record_payment_answer(key, AttemptState::Authorized, Some("r"), true, 13)
                .await
                .unwrap(),
            "{name}: a late answer changes nothing"
        );
        store
            .finish_voiding(key, AttemptState::Voided, 14)
            .await
            .unwrap();
        let got = store.get_payment_attempt(key).await.unwrap().unwrap();
        assert_eq!(got.state, AttemptState::Voided, "{name}");

        // Ordered first: nobody can give it back any more.
        let (s2, _) = hold(&store, m, v, 1).await;
        let key2 = AttemptKey {
            merchant: m,
            session: s2,
            attempt: 0,
        };
        let a2 = store
            .journal_payment_attempt(&attempt(key2, "tok_visa", 10))
            .await
            .unwrap();
        complete(&store, m, s2, v, a2.order_id).await.unwrap();
        let ordered = store.get_payment_attempt(key2).await.unwrap().unwrap();
        assert_eq!(ordered.state, AttemptState::Ordered, "{name}");
        // The authorisation was never journaled on its own: the order's
        // transaction recorded what paid it.
        assert_eq!(
            (ordered.provider_reference.as_deref(), ordered.captured),
            (Some("ref"), true),
            "{name}"
        );
        assert!(
            !store.begin_voiding(key2, Some("ref"), 30).await.unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn recovery_leases_idle_unsettled_attempts_one_node_at_a_time() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let mut keys = vec![];
        for t in [100, 200, 300] {
            let (s, _) = hold(&store, m, v, 1).await;
            let key = AttemptKey {
                merchant: m,
                session: s,
                attempt: 0,
            };
            store
                .journal_payment_attempt(&attempt(key, "tok_visa", t))
                .await
                .unwrap();
            keys.push(key);
        }
        // The third was ordered: never leased.
        let third = store.get_payment_attempt(keys[2]).await.unwrap().unwrap();
        complete(&store, m, keys[2].session, v, third.order_id)
            .await
            .unwrap();
        // Only attempts idle since before 250 whose lease ran out.
        let leased = store
            .lease_unsettled_payment_attempts(250, 1_000, 60_000, 10)
            .await
            .unwrap();
        let mut got: Vec<_> = leased.iter().map(|a| a.key.session).collect();
        got.sort();
        let mut want = vec![keys[0].session, keys[1].session];
        want.sort();
        assert_eq!(got, want, "{name}");
        assert!(leased.iter().all(|a| a.recovery_runs == 1));
        // Leased: another node finds nothing until the lease runs out.
        assert!(
            store
                .lease_unsettled_payment_attempts(250, 1_001, 60_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let later = store
            .lease_unsettled_payment_attempts(250, 61_001, 60_000, 1)
            .await
            .unwrap();
        assert_eq!(later.len(), 1, "{name}: bounded by the limit");
        assert_eq!(later[0].recovery_runs, 2);
    }
}
