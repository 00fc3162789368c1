//! Inventory planning: how much of which location a checkout should hold.
//!
//! Pure functions only; the store applies the plan with conditional updates that
//! cannot take more than is available (and a CHECK constraint behind them).

use crate::{HoldId, LocationId, Quantity, SessionId, VariantId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How long a hold lives without shopper activity (10 minutes).
pub const HOLD_TTL_MS_DEFAULT: i64 = 10 * 60 * 1000;
/// Most distinct variants one checkout session may hold.
pub const SESSION_LINES_MAX: usize = 50;

/// Total units per variant across lines: repeated lines draw on the same pool.
pub fn demand_by_variant(lines: &[(VariantId, Quantity)]) -> BTreeMap<VariantId, i64> {
    let mut demand = BTreeMap::new();
    for (variant, qty) in lines {
        *demand.entry(*variant).or_insert(0) += i64::from(qty.get());
    }
    demand
}

/// Units to hold at one location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub location_id: LocationId,
    pub quantity: i64,
}

/// Not enough stock anywhere: how much there is in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    pub available: i64,
}

/// Splits `quantity` across locations, fullest first (fewest shipments), ties by id
/// for determinism. Fails with the total available when the pool is too small.
pub fn plan_allocation(
    available_by_location: &[(LocationId, i64)],
    quantity: i64,
) -> Result<Vec<Allocation>, Shortfall> {
    debug_assert!(quantity > 0);
    let total: i64 = available_by_location.iter().map(|(_, a)| (*a).max(0)).sum();
    if total < quantity {
        return Err(Shortfall { available: total });
    }
    let mut order: Vec<_> = available_by_location
        .iter()
        .filter(|(_, a)| *a > 0)
        .copied()
        .collect();
    order.sort_by(|(la, a), (lb, b)| b.cmp(a).then(la.cmp(lb)));
    let mut remaining = quantity;
    let mut plan = Vec::new();
    for (location_id, available) in order {
        if remaining == 0 {
            break;
        }
        let take = available.min(remaining);
        plan.push(Allocation {
            location_id,
            quantity: take,
        });
        remaining -= take;
    }
    debug_assert_eq!(remaining, 0);
    Ok(plan)
}

/// Most hold requests one engine batch plans and commits together.
pub const HOLD_BATCH_SIZE_MAX: usize = 512;

/// "Session `session` should now hold `quantity` units of `variant`" (0 releases).
/// Replacing rather than adding makes retries and repeated updates idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldRequest {
    pub session: SessionId,
    pub variant: VariantId,
    pub quantity: i64,
}

/// A hold already in the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExistingHold {
    pub id: HoldId,
    pub session: SessionId,
    pub variant: VariantId,
    pub location: LocationId,
    pub quantity: i64,
}

/// A hold the batch will insert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewHold {
    pub session: SessionId,
    pub variant: VariantId,
    pub location: LocationId,
    pub quantity: i64,
}

/// An existing hold whose expiry becomes that of the (session, variant)
/// request that took it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewedHold {
    pub id: HoldId,
    pub session: SessionId,
    pub variant: VariantId,
}

/// What one request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Units now held (the request's quantity, or 0 when the pool was too small).
    pub held: i64,
    /// Units the session could have had: free stock plus its own previous holds.
    pub available: i64,
}

/// Everything a batch changes, to be applied in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchPlan {
    /// One outcome per request, in request order.
    pub outcomes: Vec<BatchOutcome>,
    /// Existing holds to delete.
    pub release: Vec<HoldId>,
    /// Holds to insert.
    pub create: Vec<NewHold>,
    /// Existing holds taken again as they are (same session, variant, location
    /// and quantity, as when a checkout is refreshed before paying): only their
    /// expiry changes, one UPDATE instead of a DELETE and an INSERT. Neither in
    /// `release` nor in `create`; no change of `held`.
    pub renew: Vec<RenewedHold>,
    /// Net change of `held` per (variant, location); zero entries omitted.
    pub held_delta: BTreeMap<(VariantId, LocationId), i64>,
}

#[derive(Clone, Copy)]
enum Slot {
    Existing(HoldId, LocationId, i64),
    Planned(usize),
}

/// Plans a batch of hold requests against the current free stock
/// (`available` per variant and location) and the existing holds of the sessions
/// involved. Requests are served strictly in order, each all-or-nothing, so the
/// result equals running them one by one — only the commit is shared.
pub fn plan_batch(
    levels: &[(VariantId, LocationId, i64)],
    existing: &[ExistingHold],
    requests: &[HoldRequest],
) -> BatchPlan {
    let mut planner = Planner::new(levels, existing);
    for req in requests {
        planner.release_previous(req);
        let outcome = planner.serve(req);
        planner.plan.outcomes.push(outcome);
    }
    planner.finish()
}

/// What [`plan_batch`] tracks while it walks the requests.
struct Planner {
    /// Free units per (variant, location), as the batch has changed them so far.
    free: BTreeMap<(VariantId, LocationId), i64>,
    /// What each (session, variant) holds right now: rows already in the database
    /// or holds planned earlier in this batch.
    slots: HashMap<(SessionId, VariantId), Vec<Slot>>,
    /// The existing holds, by id (to tell which releases are taken again).
    existing: HashMap<HoldId, ExistingHold>,
    plan: BatchPlan,
}

impl Planner {
    /// Starts from the free stock as read (never below zero) and the sessions'
    /// existing holds.
    fn new(levels: &[(VariantId, LocationId, i64)], existing: &[ExistingHold]) -> Self {
        let free = levels
            .iter()
            .map(|(v, l, a)| ((*v, *l), (*a).max(0)))
            .collect();
        let mut slots: HashMap<(SessionId, VariantId), Vec<Slot>> = HashMap::new();
        for h in existing {
            slots
                .entry((h.session, h.variant))
                .or_default()
                .push(Slot::Existing(h.id, h.location, h.quantity));
        }
        Planner {
            free,
            slots,
            existing: existing.iter().map(|h| (h.id, *h)).collect(),
            plan: BatchPlan::default(),
        }
    }

    /// A request replaces what its session holds of the variant, so those units go
    /// back to the pool first: existing rows are released, holds planned earlier in
    /// the batch are superseded.
    fn release_previous(&mut self, req: &HoldRequest) {
        for slot in self
            .slots
            .remove(&(req.session, req.variant))
            .unwrap_or_default()
        {
            let (location, quantity) = match slot {
                Slot::Existing(id, location, quantity) => {
                    self.plan.release.push(id);
                    (location, quantity)
                }
                Slot::Planned(index) => {
                    let hold = &mut self.plan.create[index];
                    let q = hold.quantity;
                    hold.quantity = 0; // superseded within the batch
                    (hold.location, q)
                }
            };
            *self.free.entry((req.variant, location)).or_insert(0) += quantity;
            *self
                .plan
                .held_delta
                .entry((req.variant, location))
                .or_insert(0) -= quantity;
        }
    }

    /// Serves one request all or nothing from the variant's current pool.
    fn serve(&mut self, req: &HoldRequest) -> BatchOutcome {
        let pool: Vec<(LocationId, i64)> = self
            .free
            .range((req.variant, LocationId::MIN)..=(req.variant, LocationId::MAX))
            .map(|((_, l), a)| (*l, *a))
            .collect();
        let total: i64 = pool.iter().map(|(_, a)| *a).sum();
        if req.quantity <= 0 {
            return BatchOutcome {
                held: 0,
                available: total,
            };
        }
        match plan_allocation(&pool, req.quantity) {
            Ok(allocations) => {
                self.take(req, &allocations);
                BatchOutcome {
                    held: req.quantity,
                    available: total,
                }
            }
            Err(short) => BatchOutcome {
                held: 0,
                available: short.available,
            },
        }
    }

    /// Moves the allocated units from free to held and plans their hold rows,
    /// remembered as what the session now holds of the variant.
    fn take(&mut self, req: &HoldRequest, allocations: &[Allocation]) {
        let mut mine = Vec::with_capacity(allocations.len());
        for a in allocations {
            *self
                .free
                .get_mut(&(req.variant, a.location_id))
                .expect("planned from this pool") -= a.quantity;
            *self
                .plan
                .held_delta
                .entry((req.variant, a.location_id))
                .or_insert(0) += a.quantity;
            self.plan.create.push(NewHold {
                session: req.session,
                variant: req.variant,
                location: a.location_id,
                quantity: a.quantity,
            });
            mine.push(Slot::Planned(self.plan.create.len() - 1));
        }
        self.slots.insert((req.session, req.variant), mine);
    }

    /// The plan without superseded holds and without changes that cancel out.
    fn finish(mut self) -> BatchPlan {
        self.plan.create.retain(|h| h.quantity > 0);
        self.renew_unchanged();
        self.plan.held_delta.retain(|_, d| *d != 0);
        debug_assert!(self.free.values().all(|a| *a >= 0));
        self.plan
    }

    /// A hold released and created again in the same place and amount for
    /// the same session is kept and renewed (its `held` change nets to zero
    /// either way).
    fn renew_unchanged(&mut self) {
        let mut released: HashMap<(SessionId, VariantId, LocationId, i64), Vec<HoldId>> =
            HashMap::new();
        for id in &self.plan.release {
            let h = &self.existing[id];
            released
                .entry((h.session, h.variant, h.location, h.quantity))
                .or_default()
                .push(*id);
        }
        let mut renew = Vec::new();
        self.plan.create.retain(|n| {
            let key = (n.session, n.variant, n.location, n.quantity);
            let Some(id) = released.get_mut(&key).and_then(Vec::pop) else {
                return true;
            };
            renew.push(RenewedHold {
                id,
                session: n.session,
                variant: n.variant,
            });
            false
        });
        let renewed: HashSet<HoldId> = renew.iter().map(|r| r.id).collect();
        self.plan.release.retain(|id| !renewed.contains(id));
        self.plan.renew = renew;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repeated_lines_share_a_pool() {
        let v = VariantId::new();
        let q = |n| Quantity::parse(n).unwrap();
        let d = demand_by_variant(&[(v, q(2)), (v, q(3))]);
        assert_eq!(d[&v], 5);
    }

    /// Refreshing a checkout takes its holds again as they are: the rows are
    /// kept and renewed, not deleted and inserted; a changed amount is not.
    #[test]
    fn a_hold_taken_again_unchanged_is_renewed() {
        let (s, v, l) = (SessionId::new(), VariantId::new(), LocationId::new());
        let held = ExistingHold {
            id: HoldId::new(),
            session: s,
            variant: v,
            location: l,
            quantity: 2,
        };
        let request = |quantity| HoldRequest {
            session: s,
            variant: v,
            quantity,
        };
        let same = plan_batch(&[(v, l, 5)], &[held], &[request(2)]);
        assert_eq!(
            same.renew,
            [RenewedHold {
                id: held.id,
                session: s,
                variant: v
            }]
        );
        assert!(same.release.is_empty() && same.create.is_empty() && same.held_delta.is_empty());
        assert_eq!(same.outcomes[0].held, 2);
        let more = plan_batch(&[(v, l, 5)], &[held], &[request(3)]);
        assert!(more.renew.is_empty());
        assert_eq!(more.release, [held.id]);
        assert_eq!(more.create.len(), 1);
        assert_eq!(more.held_delta[&(v, l)], 1);
    }

    #[test]
    fn takes_from_where_stock_is_not_the_first_location() {
        let (a, b) = (LocationId::new(), LocationId::new());
        let plan = plan_allocation(&[(a, 0), (b, 5)], 3).unwrap();
        assert_eq!(
            plan,
            vec![Allocation {
                location_id: b,
                quantity: 3
            }]
        );
        let split = plan_allocation(&[(a, 2), (b, 5)], 6).unwrap();
        assert_eq!(split.iter().map(|x| x.quantity).sum::<i64>(), 6);
        assert_eq!(
            plan_allocation(&[(a, 2), (b, 1)], 4),
            Err(Shortfall { available: 3 })
        );
    }

    proptest! {
        #[test]
        fn plans_never_exceed_stock(avail in proptest::collection::vec(-3i64..50, 0..6), qty in 1i64..200) {
            let levels: Vec<_> = avail.iter().map(|a| (LocationId::new(), *a)).collect();
            let total: i64 = avail.iter().map(|a| (*a).max(0)).sum();
            match plan_allocation(&levels, qty) {
                Ok(plan) => {
                    prop_assert!(total >= qty);
                    prop_assert_eq!(plan.iter().map(|p| p.quantity).sum::<i64>(), qty);
                    for p in &plan {
                        let have = levels.iter().find(|(l, _)| *l == p.location_id).unwrap().1;
                        prop_assert!(p.quantity > 0 && p.quantity <= have);
                    }
                }
                Err(s) => { prop_assert!(total < qty); prop_assert_eq!(s.available, total); }
            }
        }
    }
}

/// Deterministic simulation of the batch planner against a one-at-a-time model.
/// proptest prints the failing seed and shrinks the case, so a failure reproduces.
#[cfg(test)]
mod simulation {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug)]
    struct World {
        variants: Vec<VariantId>,
        locations: Vec<LocationId>,
        sessions: Vec<SessionId>,
        stock: Vec<Vec<i64>>,
    }

    fn world(nv: usize, nl: usize, ns: usize, stock: Vec<i64>) -> World {
        let mut variants: Vec<_> = (0..nv).map(|_| VariantId::new()).collect();
        variants.sort();
        World {
            variants,
            locations: (0..nl).map(|_| LocationId::new()).collect(),
            sessions: (0..ns).map(|_| SessionId::new()).collect(),
            stock: (0..nv)
                .map(|v| (0..nl).map(|l| stock[(v * nl + l) % stock.len()]).collect())
                .collect(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn batches_equal_one_at_a_time_and_never_oversell(
            nv in 1usize..4, nl in 1usize..4, ns in 1usize..12,
            stock in proptest::collection::vec(0i64..20, 1..16),
            ops in proptest::collection::vec((0usize..12, 0usize..4, 0i64..12), 1..120),
            batch in 1usize..40,
        ) {
            let w = world(nv, nl, ns, stock);
            let requests: Vec<HoldRequest> = ops.iter().map(|(s, v, q)| HoldRequest { session: w.sessions[s % ns], variant: w.variants[v % nv], quantity: *q }).collect();
            // Database state, updated batch by batch exactly as the store applies a plan.
            let mut on_hand: BTreeMap<(VariantId, LocationId), i64> = BTreeMap::new();
            for (vi, v) in w.variants.iter().enumerate() {
                for (li, l) in w.locations.iter().enumerate() {
                    on_hand.insert((*v, *l), w.stock[vi][li]);
                }
            }
            let mut held: BTreeMap<(VariantId, LocationId), i64> = on_hand.keys().map(|k| (*k, 0)).collect();
            let mut holds: Vec<ExistingHold> = Vec::new();
            // The model: per variant, total units and what each session holds.
            let mut model_holds: HashMap<(SessionId, VariantId), i64> = HashMap::new();
            for chunk in requests.chunks(batch) {
                let levels: Vec<_> = on_hand.iter().map(|((v, l), oh)| (*v, *l, oh - held[&(*v, *l)])).collect();
                let plan = plan_batch(&levels, &holds, chunk);
                prop_assert_eq!(plan.outcomes.len(), chunk.len());
                for (req, out) in chunk.iter().zip(&plan.outcomes) {
                    model_holds.remove(&(req.session, req.variant));
                    let total: i64 = w.stock[w.variants.iter().position(|v| *v == req.variant).unwrap()].iter().sum();
                    let taken: i64 = model_holds.iter().filter(|((_, v), _)| *v == req.variant).map(|(_, q)| *q).sum();
                    let free = total - taken;
                    prop_assert_eq!(out.available, free, "available seen by the request");
                    let expect = if req.quantity > 0 && req.quantity <= free { req.quantity } else { 0 };
                    prop_assert_eq!(out.held, expect, "no oversell, no undersell");
                    if expect > 0 { model_holds.insert((req.session, req.variant), expect); }
                }
                // Apply the plan. A renewed hold is one the batch's sessions
                // had, neither deleted nor created again, for a pair a request named.
                for r in &plan.renew {
                    prop_assert!(holds.iter().any(|h| h.id == r.id && h.session == r.session && h.variant == r.variant), "renews an existing hold");
                    prop_assert!(!plan.release.contains(&r.id), "a renewed hold is not deleted");
                    prop_assert!(chunk.iter().any(|q| q.session == r.session && q.variant == r.variant && q.quantity > 0));
                }
                holds.retain(|h| !plan.release.contains(&h.id));
                for n in &plan.create {
                    holds.push(ExistingHold { id: HoldId::new(), session: n.session, variant: n.variant, location: n.location, quantity: n.quantity });
                }
                for (k, d) in &plan.held_delta {
                    *held.get_mut(k).unwrap() += d;
                }
                for (k, h) in &held {
                    prop_assert!(*h >= 0 && *h <= on_hand[k], "held within stock at {:?}", k);
                    let sum: i64 = holds.iter().filter(|x| (x.variant, x.location) == *k).map(|x| x.quantity).sum();
                    prop_assert_eq!(sum, *h, "hold rows add up to the held column");
                }
            }
            for ((s, v), q) in &model_holds {
                let sum: i64 = holds.iter().filter(|h| h.session == *s && h.variant == *v).map(|h| h.quantity).sum();
                prop_assert_eq!(sum, *q);
            }
        }
    }
}
