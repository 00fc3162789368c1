//! The outbox worker: claims due items in bounded batches, pushes each order to the
//! merchant's platform, and records the outcome (platform order id and
//! confirmation status, or a back-off, or the dead-letter state).
//!
//! Exactly one platform order per anycart order rests on two things: a claim is a
//! lease only one worker holds at a time (store), and every connector
//! de-duplicates on the anycart order id before creating (Shopify: a tag search;
//! Salesforce: the orders and baskets of the SLAS guest recorded for the order),
//! so a retry after a timeout or a crash finds the first order.

use crate::{Connector, ConnectorError, OrderPush, RefundPush, connector_with_store};
use anycart_store::{
    ExternalKind, OUTBOX_KIND_AGENT_FEED, OUTBOX_KIND_AGENT_WEBHOOK, OUTBOX_KIND_ORDER_CREATED,
    OUTBOX_KIND_REFUND_CREATED, OutboxItem, Store, StoreError,
};
use rand::Rng;
use std::collections::BTreeMap;
use tracing::Instrument;

/// Attempts before an item is dead-lettered (about 2 days of back-off in total).
pub const OUTBOX_ATTEMPTS_MAX: i64 = 12;
/// Items claimed per batch.
pub const OUTBOX_BATCH_MAX: i64 = 20;
/// How long a claim lasts; must exceed the worst case of one delivery (two
/// platform requests at `PLATFORM_REQUEST_TIMEOUT_MS` plus a throttle wait).
pub const OUTBOX_LEASE_MS: i64 = 60_000;
/// First retry delay. Not shorter: Shopify's order search is eventually consistent
/// and a retry must be able to find the order a timed-out attempt created.
pub const OUTBOX_BACKOFF_BASE_MS: i64 = 5_000;
/// Longest delay between two attempts.
pub const OUTBOX_BACKOFF_MAX_MS: i64 = 6 * 3_600_000;

// Compile-time constants, far below i64::MAX: the cast cannot wrap.
#[allow(clippy::cast_possible_wrap)]
const _: () = assert!(
    OUTBOX_LEASE_MS > 3 * crate::PLATFORM_REQUEST_TIMEOUT_MS as i64,
    "a lease must outlive a delivery"
);

/// What one batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// Delay before attempt `attempts + 1`: exponential from
/// [`OUTBOX_BACKOFF_BASE_MS`], capped, with "equal jitter" (half fixed, half
/// random) so a platform outage does not end in a thundering herd.
pub fn backoff_ms(attempts: i64, rng: &mut impl Rng) -> i64 {
    let exp = attempts.clamp(1, 30) - 1;
    let full = OUTBOX_BACKOFF_BASE_MS
        .saturating_mul(1_i64 << exp)
        .min(OUTBOX_BACKOFF_MAX_MS);
    let half = full / 2;
    half + rng.random_range(0..=half)
}

/// Claims and delivers one batch of due items. Errors of one item never stop the
/// others; only a store failure (the database is down) ends the batch early.
pub async fn deliver_due(store: &Store, now_ms: i64) -> Result<DeliveryReport, StoreError> {
    let items = store
        .claim_outbox(now_ms, OUTBOX_LEASE_MS, OUTBOX_BATCH_MAX)
        .await?;
    let mut report = DeliveryReport::default();
    for item in items {
        let span = tracing::info_span!("outbox", outbox_id = %item.id, merchant_id = %item.merchant_id, order_id = %item.external_reference, attempt = item.attempts);
        match settle(store, &item, now_ms).instrument(span).await? {
            Settled::Delivered => report.delivered += 1,
            Settled::Retrying => report.retrying += 1,
            Settled::Dead => report.dead += 1,
        }
    }
    metrics::counter!("anycart_outbox_delivered_total").increment(report.delivered as u64);
    metrics::counter!("anycart_outbox_dead_total").increment(report.dead as u64);
    Ok(report)
}

enum Settled {
    Delivered,
    Retrying,
    Dead,
}

/// Delivers one claimed item and records the outcome.
async fn settle(store: &Store, item: &OutboxItem, now_ms: i64) -> Result<Settled, StoreError> {
    match deliver(store, item, now_ms).await {
        Ok(pushed) => {
            if item.kind == OUTBOX_KIND_ORDER_CREATED {
                // The platform has it: the order moves to `processing` with it.
                store
                    .order_reached_platform(
                        &item.id,
                        &item.order()?,
                        &pushed.platform_order_id,
                        pushed.confirmation.as_str(),
                        now_ms,
                    )
                    .await?;
            } else {
                store
                    .outbox_delivered(
                        &item.id,
                        &pushed.platform_order_id,
                        pushed.confirmation.as_str(),
                        now_ms,
                    )
                    .await?;
            }
            tracing::info!(kind = %item.kind, platform_id = %pushed.platform_order_id, confirmation = pushed.confirmation.as_str(), "delivered to platform");
            Ok(Settled::Delivered)
        }
        Err(ConnectorError::Store(e)) => Err(e),
        Err(e) => {
            let permanent = !matches!(e, ConnectorError::Transient(_));
            let dead = permanent || item.attempts >= OUTBOX_ATTEMPTS_MAX;
            let next = now_ms + backoff_ms(item.attempts, &mut rand::rng());
            store
                .outbox_failed(&item.id, &e.to_string(), next, dead, now_ms)
                .await?;
            if dead {
                tracing::error!(error = %e, "outbox item dead-lettered");
                Ok(Settled::Dead)
            } else {
                tracing::warn!(error = %e, next_attempt_at_ms = next, "platform delivery failed; will retry");
                Ok(Settled::Retrying)
            }
        }
    }
}

async fn deliver(
    store: &Store,
    item: &OutboxItem,
    now_ms: i64,
) -> Result<crate::PushedOrder, ConnectorError> {
    // Agent platforms are reached without the merchant's platform connection.
    match item.kind.as_str() {
        OUTBOX_KIND_AGENT_WEBHOOK => {
            return crate::agent_webhooks::deliver(store, item, now_ms).await;
        }
        OUTBOX_KIND_AGENT_FEED => return crate::agent_feed::deliver(store, item).await,
        _ => {}
    }
    let connection = store.get_connection(item.merchant_id).await?;
    if connection.is_none() && shop_uninstalled(store, item.merchant_id).await? {
        // Not native: the order belongs in the shop, once it installs the app again.
        return Err(ConnectorError::Transient(
            "the platform's app was uninstalled: the order waits until the shop is connected again"
                .into(),
        ));
    }
    let connector: Box<dyn Connector> = connector_with_store(connection.as_ref(), store)?;
    match item.kind.as_str() {
        OUTBOX_KIND_ORDER_CREATED => {
            let order = item.order()?;
            let platform_variants =
                platform_variants(store, &*connector, &order, order.lines.iter()).await?;
            connector
                .push_order(&OrderPush {
                    affiliate: store
                        .affiliate_claims(order.merchant_id, order.session_id)
                        .await?,
                    order,
                    platform_variants,
                })
                .await
        }
        OUTBOX_KIND_REFUND_CREATED => {
            let notice = item.refund()?;
            // The order must be on the platform before its refund can be.
            let delivered = store
                .order_delivery(item.merchant_id, notice.order.id)
                .await?
                .and_then(|d| d.platform_order_id);
            let Some(platform_order_id) = delivered else {
                return Err(ConnectorError::Transient(
                    "the order is not on the platform yet".into(),
                ));
            };
            let refunded = notice
                .order
                .lines
                .iter()
                .filter(|l| notice.lines.iter().any(|r| r.variant_id == l.variant_id));
            let platform_variants =
                platform_variants(store, &*connector, &notice.order, refunded).await?;
            connector
                .push_refund(&RefundPush {
                    notice,
                    platform_order_id,
                    platform_variants,
                })
                .await
        }
        other => Err(ConnectorError::Permanent(format!(
            "unknown outbox kind `{other}`"
        ))),
    }
}

/// Whether the merchant's platform connection is there but disabled (Shopify's
/// `app/uninstalled`), as opposed to a merchant with none (native).
async fn shop_uninstalled(
    store: &Store,
    merchant: anycart_core::MerchantId,
) -> Result<bool, ConnectorError> {
    let state = store.get_connection_any_state(merchant).await?;
    Ok(state.is_some_and(|(_, disabled_at_ms)| disabled_at_ms.is_some()))
}

/// The platform's variant ids of `lines` (those linked by import).
async fn platform_variants<'a>(
    store: &Store,
    connector: &dyn Connector,
    order: &anycart_core::order::Order,
    lines: impl Iterator<Item = &'a anycart_core::session::SessionLine>,
) -> Result<BTreeMap<anycart_core::VariantId, String>, ConnectorError> {
    let platform = connector.platform().as_str();
    let mut out = BTreeMap::new();
    for line in lines {
        if let Some(external) = store
            .internal_to_external(
                order.merchant_id,
                platform,
                ExternalKind::Variant,
                &line.variant_id.to_string(),
            )
            .await?
        {
            out.insert(line.variant_id, external);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempts in 1..=40 {
            let full = (OUTBOX_BACKOFF_BASE_MS << (attempts.min(30) - 1).min(40))
                .min(OUTBOX_BACKOFF_MAX_MS);
            for _ in 0..50 {
                let d = backoff_ms(attempts, &mut rng);
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d}");
            }
        }
        assert!(backoff_ms(1, &mut rng) >= OUTBOX_BACKOFF_BASE_MS / 2);
    }
}
