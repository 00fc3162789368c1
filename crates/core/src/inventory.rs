//! Inventory planning: how much of which location a checkout should hold.
//!
//! Pure functions only; the store applies the plan with conditional updates that
//! cannot take more than is available (and a CHECK constraint behind them).

use crate::{LocationId, Quantity, VariantId};
use std::collections::BTreeMap;

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
