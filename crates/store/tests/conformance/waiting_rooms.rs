//! Waiting rooms under randomized, concurrent traffic: shoppers join, ask where
//! they stand from many tasks at once (many nodes), spend admitted tickets and
//! vanish, while the clock jumps. After every round the line must be fair and
//! bounded: never more admitted than the slots, nobody admitted past someone
//! still waiting ahead, spent and lapsed places final.

use super::{merchant, stores};
use anycart_core::VariantId;
use anycart_store::{Admission, Ticket, TicketState};
use std::collections::HashMap;

/// A small deterministic generator: the same seed replays the same run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const RULE_FOR_MS: i64 = 60_000;
const LAPSE_MS: i64 = 30_000;

#[tokio::test]
async fn the_line_stays_fair_and_bounded_under_concurrent_random_traffic() {
    for (name, store, _dir) in stores().await {
        for seed in [
            0x9e37_79b9_7f4a_7c15_u64,
            0xdead_beef_cafe_f00d,
            0x0123_4567_89ab_cdef,
        ] {
            let mut rng = Rng(seed);
            let m = merchant(&store).await;
            let v = VariantId::new();
            store.set_waiting_room(m, v, true, 0).await.unwrap();
            let slots = 1 + rng.below(4) as i64;
            let rule = Admission {
                slots,
                admitted_for_ms: RULE_FOR_MS,
                waiting_lapse_ms: LAPSE_MS,
            };
            let mut now = 1_000_i64;
            let mut ids: Vec<String> = Vec::new();
            let mut last: HashMap<String, TicketState> = HashMap::new();
            // When each ticket last let the server hear from it (join or ask).
            let mut heard: HashMap<String, i64> = HashMap::new();
            for round in 0..12 {
                for _ in 0..rng.below(6) {
                    let id = format!("wrt_{seed:x}_{}", ids.len());
                    store.join_waiting_room(m, v, None, &id, now).await.unwrap();
                    heard.insert(id.clone(), now);
                    ids.push(id);
                }
                // A random crowd asks at once.
                let asking: Vec<String> =
                    ids.iter().filter(|_| rng.below(3) > 0).cloned().collect();
                let passes = asking.iter().map(|id| {
                    let store = store.clone();
                    let id = id.clone();
                    tokio::spawn(
                        async move { store.admit(m, &id, rule, now).await.unwrap().unwrap() },
                    )
                });
                for (pass, id) in futures_util::future::join_all(passes)
                    .await
                    .into_iter()
                    .zip(&asking)
                {
                    let (t, _ahead) = pass.unwrap();
                    // A waiting place silent past the lapse may be gone before its own ask
                    // lands; heard from within it, never. (An admitted one lapses by its
                    // deadline instead.)
                    let waited = last.get(id).is_none_or(|s| *s == TicketState::Waiting);
                    if waited && now - heard[id] < LAPSE_MS {
                        assert_ne!(
                            t.state,
                            TicketState::Lapsed,
                            "{name} {seed:x} r{round}: {id} asked in time, yet lapsed"
                        );
                    }
                }
                for id in &asking {
                    heard.insert(id.clone(), now);
                }
                // Some admitted shoppers start their checkout.
                for id in &ids {
                    if last.get(id) == Some(&TicketState::Admitted) && rng.below(2) == 0 {
                        store.use_waiting_room_ticket(m, v, id, now).await.unwrap();
                    }
                }
                let line = tickets(&store, m, &ids).await;
                check_line(
                    &line,
                    slots,
                    &last,
                    &format!("{name} {seed:x} round {round}"),
                );
                last = line.iter().map(|t| (t.id.clone(), t.state)).collect();
                now += rng.below(2) as i64 * rng.below(LAPSE_MS as u64 * 3 / 2) as i64;
            }
            assert!(
                last.values().any(|s| *s == TicketState::Used),
                "{name} {seed:x}: nobody ever got in"
            );
        }
    }
}

async fn tickets(
    store: &anycart_store::Store,
    m: anycart_core::MerchantId,
    ids: &[String],
) -> Vec<Ticket> {
    let mut out = Vec::new();
    for id in ids {
        out.push(store.waiting_room_ticket(m, id).await.unwrap().unwrap());
    }
    out
}

fn check_line(line: &[Ticket], slots: i64, before: &HashMap<String, TicketState>, at: &str) {
    let admitted = line
        .iter()
        .filter(|t| t.state == TicketState::Admitted)
        .count() as i64;
    assert!(
        admitted <= slots,
        "{at}: {admitted} admitted for {slots} slots"
    );
    // First come, first served: whoever got a turn joined before everyone still waiting.
    let first_waiting = line
        .iter()
        .filter(|t| t.state == TicketState::Waiting)
        .map(|t| t.seq)
        .min();
    let last_in = line
        .iter()
        .filter(|t| matches!(t.state, TicketState::Admitted | TicketState::Used))
        .map(|t| t.seq)
        .max();
    if let (Some(w), Some(a)) = (first_waiting, last_in) {
        assert!(
            a < w,
            "{at}: ticket #{a} got in while #{w} still waits ahead of it"
        );
    }
    for t in line {
        match before.get(&t.id) {
            Some(TicketState::Used | TicketState::Lapsed) => {
                assert_eq!(
                    Some(&t.state),
                    before.get(&t.id),
                    "{at}: {} left a final state",
                    t.id
                );
            }
            Some(TicketState::Admitted) => {
                assert_ne!(
                    t.state,
                    TicketState::Waiting,
                    "{at}: {} went back to waiting",
                    t.id
                );
            }
            _ => {}
        }
    }
}
