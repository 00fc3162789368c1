//! Orders: read side (the write happens in `complete_checkout`).

use crate::{Store, StoreResult, page_limit};
use anycart_core::order::Order;
use anycart_core::{MerchantId, OrderId};
use sqlx::Row;

/// An order with the secret token of its public status page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub order: Order,
    pub access_token: String,
}

impl Store {
    /// One order of `merchant`.
    pub async fn get_order(
        &self,
        merchant: MerchantId,
        id: OrderId,
    ) -> StoreResult<Option<OrderRecord>> {
        let row =
            sqlx::query("SELECT doc, access_token FROM orders WHERE id = $1 AND merchant_id = $2")
                .bind(id.to_string())
                .bind(merchant.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| {
            Ok(OrderRecord {
                order: serde_json::from_str(&r.try_get::<String, _>("doc")?)?,
                access_token: r.try_get("access_token")?,
            })
        })
        .transpose()
    }

    /// The order behind a public status-page token.
    pub async fn get_order_by_token(&self, token: &str) -> StoreResult<Option<OrderRecord>> {
        let row = sqlx::query("SELECT doc, access_token FROM orders WHERE access_token = $1")
            .bind(token.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(OrderRecord {
                order: serde_json::from_str(&r.try_get::<String, _>("doc")?)?,
                access_token: r.try_get("access_token")?,
            })
        })
        .transpose()
    }

    /// A page of orders, newest first, before the `before` cursor.
    pub async fn list_orders(
        &self,
        merchant: MerchantId,
        before: Option<OrderId>,
        limit: i64,
    ) -> StoreResult<Vec<OrderRecord>> {
        let rows = match before {
            Some(b) => sqlx::query("SELECT doc, access_token FROM orders WHERE merchant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
                .bind(merchant.to_string())
                .bind(b.to_string())
                .bind(page_limit(limit))
                .fetch_all(&self.read)
                .await?,
            None => sqlx::query("SELECT doc, access_token FROM orders WHERE merchant_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(merchant.to_string())
                .bind(page_limit(limit))
                .fetch_all(&self.read)
                .await?,
        };
        rows.iter()
            .map(|r| {
                Ok(OrderRecord {
                    order: serde_json::from_str(&r.try_get::<String, _>("doc")?)?,
                    access_token: r.try_get("access_token")?,
                })
            })
            .collect()
    }
}
