//! Agent platforms' product feeds: pushing changed products to a platform's
//! ACP feed endpoint (`PATCH {feed_url}/products`, the agent-hosted Feed API),
//! and the rendering the JSONL export shares. `wire` is ACP's shape, `convert`
//! builds it from the catalogue.
//!
//! A push carries product ids only; the body is rendered when delivered, from
//! the catalogue and live stock as they are then, so a late retry never sends
//! stale availability over a newer push.

pub mod convert;
pub mod wire;

use crate::agent_webhooks::{live_platform, refusal};
use crate::{Confirmation, ConnectorError, PushedOrder, http_client, transport_error};
use anycart_core::catalogue::Product;
use anycart_core::{MerchantId, VariantId};
use anycart_store::{OutboxItem, Store, StoreResult};
use std::collections::BTreeMap;

/// The ACP version feed requests are made in.
pub const ACP_API_VERSION: &str = "2026-04-17";

/// Free units of every variant of `products` (summed over locations).
pub async fn available_units(
    store: &Store,
    merchant: MerchantId,
    products: &[Product],
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let ids: Vec<VariantId> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    let mut out = BTreeMap::new();
    for level in store.stock_levels(merchant, &ids).await? {
        *out.entry(level.variant_id).or_insert(0) += level.available();
    }
    Ok(out)
}

/// PATCHes the products of one `agent.feed` outbox item to the platform's feed.
pub async fn deliver(store: &Store, item: &OutboxItem) -> Result<PushedOrder, ConnectorError> {
    let notice = item.agent_feed()?;
    let platform = live_platform(store, item, notice.platform_id).await?;
    let feed_url = platform.feed_url.clone().ok_or_else(|| {
        ConnectorError::Permanent("the agent platform has no feed endpoint any more".into())
    })?;
    let seller = store
        .get_merchant(item.merchant_id)
        .await?
        .map(|m| m.name)
        .unwrap_or_default();
    let mut products = Vec::with_capacity(notice.product_ids.len());
    for id in &notice.product_ids {
        if let Some(p) = store.get_product(item.merchant_id, *id).await? {
            products.push(p);
        }
    }
    let available = available_units(store, item.merchant_id, &products).await?;
    let body = wire::UpsertProductsWire {
        products: products
            .iter()
            .map(|p| convert::product(p, &available, &seller))
            .collect(),
    };
    let mut request = http_client()?
        .patch(format!("{feed_url}/products"))
        .header("API-Version", ACP_API_VERSION)
        .header("Idempotency-Key", item.id.clone())
        .json(&body);
    if let Some(token) = &platform.secrets.feed_token {
        request = request.bearer_auth(token.expose());
    }
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(PushedOrder {
            platform_order_id: format!("http_{}", status.as_u16()),
            confirmation: Confirmation::FeedUpdated,
        });
    }
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Err(refusal(status, &text))
}
