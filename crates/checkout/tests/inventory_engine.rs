//! The inventory engine under randomized concurrency with crashes, on SQLite and
//! PostgreSQL. Every run checks, from the database itself:
//! - nothing negative, `held + committed <= on_hand`, hold rows add up to `held`;
//! - conservation: initial stock = on hand + sold;
//! - every acknowledged hold is still held, or was committed or released;
//! - no undersell: once holds expire, all unsold stock can be held again.
//!
//! The operation sequence comes from a seed (printed; set `ANYCART_SIM_SEED` to replay).

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use anycart_checkout::clock::{Clock, ManualClock};
use anycart_checkout::inventory::InventoryEngine;
use anycart_core::catalogue::{Location, Product, Sku, Variant};
use anycart_core::inventory::HoldRequest;
use anycart_core::{Currency, LocationId, MerchantId, Money, ProductId, SessionId, VariantId};
use anycart_store::testing::fresh_postgres_url;
use anycart_store::{Merchant, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const TTL_MS: i64 = 60_000;

async fn stores() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("e.db").display());
    let mut out = vec![("sqlite", Store::open(&url).await.unwrap(), Some(dir))];
    if let Some(pg) = fresh_postgres_url().await {
        out.push(("postgres", Store::open(&pg).await.unwrap(), None));
    }
    out
}

async fn seed_stock(store: &Store, rng: &mut StdRng) -> (MerchantId, Vec<VariantId>, i64) {
    let m = Merchant {
        id: MerchantId::new(),
        name: "Sim".into(),
        created_at_ms: 0,
    };
    store.create_merchant(&m, &[]).await.unwrap();
    let usd = Currency::parse("usd").unwrap();
    let locations = [LocationId::new(), LocationId::new()];
    for l in &locations {
        store
            .create_location(
                m.id,
                &Location {
                    id: *l,
                    name: "L".into(),
                },
                0,
            )
            .await
            .unwrap();
    }
    let product = ProductId::new();
    let variants: Vec<VariantId> = (0..3).map(|_| VariantId::new()).collect();
    let p = Product {
        id: product,
        title: "P".into(),
        description: String::new(),
        images: vec![],
        active: true,
        variants: variants
            .iter()
            .enumerate()
            .map(|(i, v)| Variant {
                id: *v,
                product_id: product,
                sku: Sku::parse(&format!("SIM-{i}-{}", m.id)).unwrap(),
                title: "V".into(),
                options: vec![],
                price: Money::new(100, usd).unwrap(),
                max_quantity_per_order: None,
                image_url: None,
            })
            .collect(),
    };
    store.create_product(m.id, &p, 0).await.unwrap();
    let mut total = 0;
    for v in &variants {
        for l in &locations {
            let units = rng.random_range(0..12);
            total += units;
            store.set_on_hand(m.id, *v, *l, units).await.unwrap();
        }
    }
    (m.id, variants, total)
}

/// What tests know about a (session, variant) pair from acknowledged answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Held(i64),
    Gone,
    /// An unacknowledged request (crash) may have changed it either way.
    Unknown,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_holds_commits_cancels_expiry_and_crashes_keep_every_invariant() {
    let seed: u64 = std::env::var("ANYCART_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("inventory simulation seed: {seed} (replay with ANYCART_SIM_SEED={seed})");
    for (name, store, _dir) in stores().await {
        let mut rng = StdRng::seed_from_u64(seed);
        let (merchant, variants, initial) = seed_stock(&store, &mut rng).await;
        let clock = ManualClock::new();
        let sessions: Vec<SessionId> = (0..24).map(|_| SessionId::new()).collect();
        let known: Arc<Mutex<HashMap<(SessionId, VariantId), Known>>> = Arc::default();
        let mut sold = 0i64;

        for round in 0..6 {
            let engine = InventoryEngine::start(store.clone(), Arc::new(clock.clone()));
            // Crash after a random number of answers (sometimes never: 8 × 40 = 320 ops).
            let crash_after = rng.random_range(10..400usize);
            let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for t in 0..8 {
                let mut task_rng = StdRng::seed_from_u64(seed ^ (round * 100 + t));
                let (engine, sessions, variants, known, answered) = (
                    engine.clone(),
                    sessions.clone(),
                    variants.clone(),
                    known.clone(),
                    answered.clone(),
                );
                let expires = clock.now_ms() + TTL_MS;
                tasks.push(tokio::spawn(async move {
                    for _ in 0..40 {
                        // Each task owns its own sessions: requests for one (session, variant)
                        // pair are then sequential, so "the last answer" is the truth. Tasks
                        // still race each other on the same variants.
                        let per_task = sessions.len() / 8;
                        let session =
                            sessions[t as usize * per_task + task_rng.random_range(0..per_task)];
                        let variant = variants[task_rng.random_range(0..variants.len())];
                        let quantity = task_rng.random_range(0..5);
                        // Mark first: if the answer never comes, the pair is unknown.
                        known
                            .lock()
                            .unwrap()
                            .insert((session, variant), Known::Unknown);
                        let answer = engine
                            .hold(
                                merchant,
                                HoldRequest {
                                    session,
                                    variant,
                                    quantity,
                                },
                                expires,
                            )
                            .await;
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mut k = known.lock().unwrap();
                        match answer {
                            Ok(o) if o.held > 0 => {
                                k.insert((session, variant), Known::Held(o.held))
                            }
                            Ok(o) => {
                                assert!(
                                    quantity == 0 || o.available < quantity,
                                    "refused {quantity} while {} were free",
                                    o.available
                                );
                                k.insert((session, variant), Known::Gone)
                            }
                            Err(_) => k.insert((session, variant), Known::Unknown),
                        };
                    }
                }));
            }
            // Crash the engine part-way through the round.
            let crasher = {
                let (engine, answered) = (engine.clone(), answered.clone());
                tokio::spawn(async move {
                    while answered.load(std::sync::atomic::Ordering::SeqCst) < crash_after.min(320)
                    {
                        tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                    }
                    engine.abort();
                })
            };
            for t in tasks {
                t.await.unwrap();
            }
            crasher.await.unwrap();

            // Sell some sessions outright.
            for s in sessions.iter().filter(|_| rng.random_bool(0.2)) {
                let committed = store.commit_session_holds(*s).await.unwrap();
                sold += committed.values().sum::<i64>();
                let mut k = known.lock().unwrap();
                for v in &variants {
                    match k.get(&(*s, *v)).copied() {
                        Some(Known::Held(q)) => assert_eq!(
                            committed.get(v).copied().unwrap_or(0),
                            q,
                            "{name}: an acknowledged hold was committed whole"
                        ),
                        // A hold the crashed engine never acknowledged may still be
                        // committed by its database transaction after this sale (the
                        // transaction's COMMIT was on the wire when the engine died):
                        // it stays unknown and lapses with its TTL.
                        Some(Known::Unknown) => continue,
                        Some(Known::Gone) | None => {}
                    }
                    k.insert((*s, *v), Known::Gone);
                }
            }
            let snapshot = known.lock().unwrap().clone();
            let acknowledged = snapshot
                .values()
                .filter(|k| matches!(k, Known::Held(_)))
                .count();
            eprintln!(
                "{name} round {round}: crash after {crash_after} answers, {acknowledged} pairs held, sold so far {sold}"
            );
            check(name, &store, merchant, initial, sold, &snapshot).await;

            // Sometimes let everything expire (and the clock jump).
            if rng.random_bool(0.3) {
                clock.advance_ms(TTL_MS + anycart_checkout::workers::STALE_HOLD_GRACE_MS + 1);
                while store
                    .release_stale_holds(
                        clock.now_ms() - anycart_checkout::workers::STALE_HOLD_GRACE_MS,
                        100,
                    )
                    .await
                    .unwrap()
                    > 0
                {}
                known.lock().unwrap().clear();
                check(name, &store, merchant, initial, sold, &HashMap::new()).await;
            }
        }

        // No undersell: after expiry every unsold unit can be held again.
        clock.advance_ms(TTL_MS + anycart_checkout::workers::STALE_HOLD_GRACE_MS + 1);
        while store
            .release_stale_holds(
                clock.now_ms() - anycart_checkout::workers::STALE_HOLD_GRACE_MS,
                100,
            )
            .await
            .unwrap()
            > 0
        {}
        let engine = InventoryEngine::start(store.clone(), Arc::new(clock.clone()));
        let free = store.available_by_variant(&variants).await.unwrap();
        assert_eq!(
            free.values().sum::<i64>(),
            initial - sold,
            "{name}: all unsold stock is free again"
        );
        let buyer = SessionId::new();
        for v in &variants {
            let want = free.get(v).copied().unwrap_or(0);
            if want > 0 {
                let o = engine
                    .hold(
                        merchant,
                        HoldRequest {
                            session: buyer,
                            variant: *v,
                            quantity: want,
                        },
                        clock.now_ms() + TTL_MS,
                    )
                    .await
                    .unwrap();
                assert_eq!(o.held, want, "{name}: the whole free pool can be held");
            }
        }
        eprintln!("{name}: initial {initial}, sold {sold}: invariants held");
    }
}

async fn check(
    name: &str,
    store: &Store,
    merchant: MerchantId,
    initial: i64,
    sold: i64,
    known: &HashMap<(SessionId, VariantId), Known>,
) {
    let audit = store.stock_audit(merchant).await.unwrap();
    let mut on_hand_total = 0;
    for (v, l, on_hand, held, committed, hold_sum) in &audit {
        assert!(
            *on_hand >= 0 && *held >= 0 && *committed >= 0,
            "{name}: negative at {v}/{l}"
        );
        assert!(
            held + committed <= *on_hand,
            "{name}: oversold at {v}/{l}: held {held} committed {committed} on hand {on_hand}"
        );
        assert_eq!(
            held, hold_sum,
            "{name}: hold rows disagree with held at {v}/{l}"
        );
        on_hand_total += on_hand;
    }
    assert_eq!(on_hand_total + sold, initial, "{name}: stock is conserved");
    let mut by_pair: BTreeMap<(SessionId, VariantId), i64> = BTreeMap::new();
    for ((s, v), k) in known {
        if let Known::Held(_) | Known::Gone = k {
            by_pair.insert(
                (*s, *v),
                store
                    .session_hold_totals(*s)
                    .await
                    .unwrap()
                    .get(v)
                    .copied()
                    .unwrap_or(0),
            );
        }
    }
    for ((s, v), k) in known {
        match k {
            Known::Held(q) => assert_eq!(
                by_pair[&(*s, *v)],
                *q,
                "{name}: an acknowledged hold was lost"
            ),
            Known::Gone => assert_eq!(by_pair[&(*s, *v)], 0, "{name}: a released hold lingers"),
            Known::Unknown => {}
        }
    }
}

/// A basket's lines are queued together, so on SQLite (one shard) they are
/// held in one batch (one commit), not one batch per line one after the
/// other; a changed basket releases and takes in one batch too. On PostgreSQL
/// the lines' shards commit side by side; the outcomes are the same.
#[tokio::test]
async fn a_baskets_lines_are_held_in_one_batch() {
    for (name, store, _dir) in stores().await {
        let mut rng = StdRng::seed_from_u64(7);
        let (merchant, variants, _) = seed_stock(&store, &mut rng).await;
        let free = store.available_by_variant(&variants).await.unwrap();
        let engine = InventoryEngine::start(store.clone(), Arc::new(ManualClock::new()));
        let session = SessionId::new();
        let basket: BTreeMap<VariantId, i64> = variants.iter().map(|v| (*v, 1)).collect();
        let held = engine
            .replace_session_holds(merchant, session, &basket, &[], TTL_MS, true)
            .await
            .unwrap();
        for v in &variants {
            let free = free.get(v).copied().unwrap_or(0);
            assert_eq!(held[v].held, free.min(1), "{name}: all or nothing per line");
        }
        if name == "sqlite" {
            assert_eq!(
                engine.batches_committed(),
                1,
                "{name}: one batch for three lines"
            );
        }
        // Drop the first line, keep the others: one more batch on SQLite.
        let smaller: BTreeMap<VariantId, i64> = variants[1..].iter().map(|v| (*v, 1)).collect();
        let again = engine
            .replace_session_holds(merchant, session, &smaller, &variants, TTL_MS, false)
            .await
            .unwrap();
        assert_eq!(again.len(), 2, "{name}: outcomes of the lines kept only");
        if name == "sqlite" {
            assert_eq!(engine.batches_committed(), 2, "{name}");
        }
        let totals = store.session_hold_totals(session).await.unwrap();
        assert!(
            !totals.contains_key(&variants[0]),
            "{name}: the dropped line is released"
        );
        for v in &variants[1..] {
            assert_eq!(
                totals.get(v).copied().unwrap_or(0),
                free.get(v).copied().unwrap_or(0).min(1),
                "{name}"
            );
        }
    }
}
