//! Group-committed hold batches, live availability, committing holds directly and
//! what a buyer already has (per-buyer limits).

use super::{hold, merchant, session, stocked, stores, usd};
use anycart_core::inventory::{BatchOutcome, HoldRequest};
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::session::{CheckoutStatus, Fulfillment, SessionLine};
use anycart_core::{Email, LineItemId, Money, OrderId, ProductId, Quantity, SessionId};
use anycart_store::{BatchItem, HoldChange, SessionWrite};
use std::collections::BTreeMap;
use std::convert::Infallible;

#[tokio::test]
async fn hold_batches_serve_requests_in_order_and_replace_earlier_holds() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 2).await;
        let other = merchant(&store).await;
        let (s1, s2, s3, s4) = (
            SessionId::new(),
            SessionId::new(),
            SessionId::new(),
            SessionId::new(),
        );
        let item = |merchant, session, quantity| BatchItem {
            merchant,
            request: HoldRequest {
                session,
                variant: v,
                quantity,
            },
            expires_at_ms: 1_000,
            new_session: false,
        };
        let first = store
            .apply_hold_batch(&[item(m, s1, 4), item(m, s2, 2), item(m, s3, 1)], 10)
            .await
            .unwrap();
        let outcome = |held, available| BatchOutcome { held, available };
        assert_eq!(
            first.outcomes,
            vec![outcome(4, 5), outcome(0, 1), outcome(1, 1)],
            "{name}: in order, all or nothing"
        );
        assert_eq!(first.available_after, BTreeMap::from([(v, 0)]), "{name}");
        assert_eq!(
            store.available_by_variant(&[v]).await.unwrap(),
            BTreeMap::from([(v, 0)])
        );
        assert_eq!(store.session_hold_totals(s1).await.unwrap()[&v], 4);

        // Another merchant naming the variant sees no stock at all (in a batch
        // shared with the owner's requests too: see the next test).
        let foreign = store
            .apply_hold_batch(&[item(other, s4, 1)], 10)
            .await
            .unwrap();
        assert_eq!(foreign.outcomes, vec![outcome(0, 0)], "{name}");
        assert!(
            foreign.available_after.is_empty(),
            "{name}: and learns nothing"
        );
        assert!(foreign.owners.is_empty(), "{name}");
        // A second request of a session replaces its holds.
        let second = store.apply_hold_batch(&[item(m, s1, 1)], 20).await.unwrap();
        assert_eq!(second.outcomes, vec![outcome(1, 4)], "{name}");
        assert_eq!(second.available_after, BTreeMap::from([(v, 3)]));
        assert_eq!(store.session_hold_totals(s1).await.unwrap()[&v], 1);
        for (_, _, on_hand, held, committed, hold_sum) in store.stock_audit(m).await.unwrap() {
            assert_eq!(held, hold_sum, "{name}: held matches the hold rows");
            assert!(held + committed <= on_hand);
        }
        // Batch holds expire like any other.
        assert_eq!(store.release_stale_holds(1_001, 100).await.unwrap(), 2);
        assert_eq!(
            store.available_by_variant(&[v]).await.unwrap()[&v],
            5,
            "{name}"
        );
    }
}

/// A checkout refreshed before paying takes its holds again as they are: the
/// rows stay (renewed with the new expiry, each with its own in one statement),
/// no units move, and they expire at the new time, not the old one.
#[tokio::test]
async fn holds_taken_again_unchanged_are_kept_with_their_new_expiry() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 2).await;
        let (s1, s2) = (SessionId::new(), SessionId::new());
        let item = |session, quantity, expires_at_ms| BatchItem {
            merchant: m,
            request: HoldRequest {
                session,
                variant: v,
                quantity,
            },
            expires_at_ms,
            new_session: false,
        };
        // s1's four units span both locations (two rows); s2 holds the last one.
        let first = store
            .apply_hold_batch(&[item(s1, 4, 1_000), item(s2, 1, 1_000)], 10)
            .await
            .unwrap();
        assert_eq!(
            first.outcomes.iter().map(|o| o.held).collect::<Vec<_>>(),
            [4, 1]
        );
        let again = store
            .apply_hold_batch(&[item(s1, 4, 3_000), item(s2, 1, 2_000)], 20)
            .await
            .unwrap();
        assert_eq!(
            again.outcomes,
            vec![
                BatchOutcome {
                    held: 4,
                    available: 4
                },
                BatchOutcome {
                    held: 1,
                    available: 1
                }
            ],
            "{name}"
        );
        assert_eq!(again.available_after, BTreeMap::from([(v, 0)]), "{name}");
        for (_, _, on_hand, held, committed, hold_sum) in store.stock_audit(m).await.unwrap() {
            assert_eq!(held, hold_sum, "{name}: held matches the hold rows");
            assert!(held + committed <= on_hand);
        }
        assert_eq!(
            store.release_stale_holds(1_001, 100).await.unwrap(),
            0,
            "{name}: the old expiry is gone"
        );
        assert_eq!(
            store.release_stale_holds(2_001, 100).await.unwrap(),
            1,
            "{name}: s2's"
        );
        assert_eq!(
            store.session_hold_totals(s1).await.unwrap()[&v],
            4,
            "{name}"
        );
        assert_eq!(
            store.release_stale_holds(3_001, 100).await.unwrap(),
            2,
            "{name}: s1's two rows"
        );
        assert_eq!(
            store.available_by_variant(&[v]).await.unwrap()[&v],
            5,
            "{name}"
        );
    }
}

/// A request naming a variant its merchant does not own holds nothing, sees no stock
/// and leaves the owner's requests and holds alone, wherever it sits in the batch.
#[tokio::test]
async fn hold_batches_ignore_requests_for_variants_their_merchant_does_not_own() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 2).await;
        let (other, w, _) = stocked(&store, 2, 0).await;
        let (s1, s2, s3, s4) = (
            SessionId::new(),
            SessionId::new(),
            SessionId::new(),
            SessionId::new(),
        );
        let item = |merchant, session, variant, quantity| BatchItem {
            merchant,
            request: HoldRequest {
                session,
                variant,
                quantity,
            },
            expires_at_ms: 1_000,
            new_session: false,
        };
        let outcome = |held, available| BatchOutcome { held, available };

        // The foreign request comes last (it used to decide the variant's owner).
        let first = store
            .apply_hold_batch(
                &[
                    item(m, s1, v, 4),
                    item(other, s2, w, 2),
                    item(other, s2, v, 1),
                ],
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            first.outcomes,
            vec![outcome(4, 5), outcome(2, 2), outcome(0, 0)],
            "{name}: the owner's request is served, the foreign one sees nothing"
        );
        assert_eq!(
            first.available_after,
            BTreeMap::from([(v, 1), (w, 0)]),
            "{name}"
        );
        assert_eq!(
            first.owners,
            BTreeMap::from([(v, m), (w, other)]),
            "{name}: availability belongs to the owner, not to the last item"
        );
        assert_eq!(
            store.session_hold_totals(s1).await.unwrap()[&v],
            4,
            "{name}"
        );
        assert_eq!(
            store.session_hold_totals(s2).await.unwrap(),
            BTreeMap::from([(w, 2)]),
            "{name}: no hold on a variant of another merchant"
        );

        // A foreign request naming the owner's session, first in the batch: it must
        // not release that session's holds, nor the owner's next request.
        let second = store
            .apply_hold_batch(
                &[
                    item(other, s1, v, 0),
                    item(m, s3, v, 1),
                    item(other, s4, v, 1),
                ],
                20,
            )
            .await
            .unwrap();
        assert_eq!(
            second.outcomes,
            vec![outcome(0, 0), outcome(1, 1), outcome(0, 0)],
            "{name}"
        );
        assert_eq!(second.available_after, BTreeMap::from([(v, 0)]), "{name}");
        assert_eq!(second.owners, BTreeMap::from([(v, m)]), "{name}");
        assert_eq!(
            store.session_hold_totals(s1).await.unwrap()[&v],
            4,
            "{name}: the owner's holds stay"
        );
        assert_eq!(
            store.session_hold_totals(s3).await.unwrap()[&v],
            1,
            "{name}"
        );
        assert!(store.session_hold_totals(s4).await.unwrap().is_empty());
        for owner in [m, other] {
            for (_, _, on_hand, held, committed, hold_sum) in
                store.stock_audit(owner).await.unwrap()
            {
                assert_eq!(held, hold_sum, "{name}: held matches the hold rows");
                assert!(held + committed <= on_hand);
            }
        }
    }
}

#[tokio::test]
async fn large_batches_are_written_in_bounded_statements() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 300, 300).await;
        let sessions: Vec<SessionId> = (0..520).map(|_| SessionId::new()).collect();
        let items = |quantity| -> Vec<BatchItem> {
            sessions
                .iter()
                .map(|s| BatchItem {
                    merchant: m,
                    request: HoldRequest {
                        session: *s,
                        variant: v,
                        quantity,
                    },
                    expires_at_ms: 1_000,
                    new_session: false,
                })
                .collect()
        };
        for store in [store.clone(), store.without_group_commit()] {
            let taken = store.apply_hold_batch(&items(1), 1).await.unwrap();
            assert!(taken.outcomes.iter().all(|o| o.held == 1), "{name}");
            assert_eq!(taken.available_after[&v], 80, "{name}");
            let released = store.apply_hold_batch(&items(0), 2).await.unwrap();
            assert!(released.outcomes.iter().all(|o| o.held == 0));
            assert_eq!(released.available_after[&v], 600, "{name}");
        }
        assert!(
            store
                .apply_hold_batch(&[], 3)
                .await
                .unwrap()
                .outcomes
                .is_empty()
        );
    }
}

#[tokio::test]
async fn committing_session_holds_directly_sells_the_units() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 2, 3).await;
        let (s, _) = hold(&store, m, v, 4).await;
        assert_eq!(
            store.commit_session_holds(s).await.unwrap(),
            BTreeMap::from([(v, 4)]),
            "{name}"
        );
        let levels = store.stock_levels(m, &[v]).await.unwrap();
        assert_eq!(levels.iter().map(|l| l.on_hand).sum::<i64>(), 1, "{name}");
        assert_eq!(levels.iter().map(|l| l.held).sum::<i64>(), 0);
        assert!(store.session_hold_totals(s).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn buyer_units_count_other_checkouts_and_recent_orders() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 10, 0).await;
        let email = Email::parse("Fan+1@example.com").unwrap();
        let key = email.buyer_key();
        // A checkout of the buyer holding 2.
        let held = SessionId::new();
        let write = SessionWrite {
            merchant: m,
            session: held,
            expected_version: None,
            holds: HoldChange::Replace {
                demand: BTreeMap::from([(v, 2)]),
                expires_at_ms: 1_000,
            },
        };
        let buyer = email.clone();
        store
            .write_session(write, 0, move |_| {
                let mut s = session(m, held);
                s.buyer.email = Some(buyer);
                Ok::<_, Infallible>(s)
            })
            .await
            .unwrap()
            .unwrap();
        // An order of the buyer for 3, completed from another session.
        let (paid, _) = hold(&store, m, v, 3).await;
        let (mut sess, version) = store.get_session(m, paid).await.unwrap().unwrap();
        let order_id = OrderId::new();
        sess.status = CheckoutStatus::Completed;
        sess.order_id = Some(order_id);
        let order = Order {
            id: order_id,
            merchant_id: m,
            session_id: paid,
            number: 0,
            status: OrderStatus::Confirmed,
            currency: usd(),
            lines: vec![SessionLine {
                id: LineItemId::new(),
                variant_id: v,
                product_id: ProductId::new(),
                quantity: Quantity::parse(3).unwrap(),
                title: "Tee".into(),
                sku: "TEE".into(),
                unit_price: Money::new(100, usd()).unwrap(),
                image_url: None,
                options: vec![],
                max_quantity_per_order: None,
                available: 10,
            }],
            totals: sess.quote.totals,
            email: Some(email.clone()),
            fulfillment: Fulfillment::default(),
            shipping_title: None,
            payment: PaymentRecord {
                provider: "sandbox".into(),
                provider_reference: "x".into(),
                amount_minor: 0,
                card_last4: None,
                captured: false,
            },
            attribution: None,
            created_at_ms: 500,
        };
        let demand = BTreeMap::from([(v, 3)]);
        store
            .complete_checkout(&sess, version, &demand, order, "tok-buyer", &[])
            .await
            .unwrap();

        let other_checkout = SessionId::new();
        assert_eq!(
            store.buyer_units(m, &key, other_checkout, 0).await.unwrap(),
            BTreeMap::from([(v, 5)]),
            "{name}: held elsewhere plus ordered"
        );
        assert_eq!(
            store.buyer_units(m, &key, held, 0).await.unwrap(),
            BTreeMap::from([(v, 3)]),
            "{name}: the session's own holds are not counted"
        );
        assert_eq!(
            store
                .buyer_units(m, &key, other_checkout, 501)
                .await
                .unwrap(),
            BTreeMap::from([(v, 2)]),
            "{name}: orders before the window are not counted"
        );
        let other = merchant(&store).await;
        assert!(
            store
                .buyer_units(other, &key, other_checkout, 0)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// New sessions in a batch are planned without reading their holds (they have
/// none), beside sessions whose earlier holds are replaced as usual.
#[tokio::test]
async fn new_sessions_share_a_batch_with_sessions_replacing_their_holds() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let (old, fresh) = (SessionId::new(), SessionId::new());
        let item = |session, quantity, new_session| BatchItem {
            merchant: m,
            request: HoldRequest {
                session,
                variant: v,
                quantity,
            },
            expires_at_ms: 1_000,
            new_session,
        };
        store
            .apply_hold_batch(&[item(old, 4, false)], 10)
            .await
            .unwrap();
        // `old` gives back three of its four (it could have had all five);
        // `fresh` (new) then takes the four that are free.
        let batch = store
            .apply_hold_batch(&[item(old, 1, false), item(fresh, 4, true)], 10)
            .await
            .unwrap();
        assert_eq!(
            batch.outcomes,
            vec![
                BatchOutcome {
                    held: 1,
                    available: 5
                },
                BatchOutcome {
                    held: 4,
                    available: 4
                }
            ],
            "{name}"
        );
        assert_eq!(store.session_hold_totals(old).await.unwrap()[&v], 1);
        assert_eq!(store.session_hold_totals(fresh).await.unwrap()[&v], 4);
        assert_eq!(
            store.available_by_variant(&[v]).await.unwrap(),
            BTreeMap::from([(v, 0)]),
            "{name}"
        );
    }
}
