//! Orders: read side (the write happens in `complete_checkout`).

use crate::{Store, StoreError, StoreResult, page_limit};
use anycart_core::order::Order;
use anycart_core::{MerchantId, OrderId};

/// An order with the secret token of its public status page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub order: Order,
    pub access_token: String,
}

/// What every order read selects.
#[derive(sqlx::FromRow)]
struct OrderRow {
    doc: String,
    access_token: String,
}

impl TryFrom<OrderRow> for OrderRecord {
    type Error = StoreError;

    fn try_from(row: OrderRow) -> StoreResult<Self> {
        Ok(OrderRecord {
            order: serde_json::from_str(&row.doc)?,
            access_token: row.access_token,
        })
    }
}

const SELECT_ORDER_BY_ID: &str = r"
SELECT doc, access_token
  FROM orders
 WHERE id = $1 AND merchant_id = $2";

const SELECT_ORDER_BY_TOKEN: &str = r"
SELECT doc, access_token
  FROM orders
 WHERE access_token = $1";

const SELECT_ORDERS_PAGE: &str = r"
SELECT doc, access_token
  FROM orders
 WHERE merchant_id = $1
 ORDER BY id DESC
 LIMIT $2";

const SELECT_ORDERS_PAGE_BEFORE: &str = r"
SELECT doc, access_token
  FROM orders
 WHERE merchant_id = $1 AND id < $2
 ORDER BY id DESC
 LIMIT $3";

impl Store {
    /// One order of `merchant`.
    pub async fn get_order(
        &self,
        merchant: MerchantId,
        id: OrderId,
    ) -> StoreResult<Option<OrderRecord>> {
        sqlx::query_as::<_, OrderRow>(SELECT_ORDER_BY_ID)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(OrderRecord::try_from)
            .transpose()
    }

    /// The order behind a public status-page token.
    pub async fn get_order_by_token(&self, token: &str) -> StoreResult<Option<OrderRecord>> {
        sqlx::query_as::<_, OrderRow>(SELECT_ORDER_BY_TOKEN)
            .bind(token.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(OrderRecord::try_from)
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
            Some(b) => {
                sqlx::query_as::<_, OrderRow>(SELECT_ORDERS_PAGE_BEFORE)
                    .bind(merchant.to_string())
                    .bind(b.to_string())
                    .bind(page_limit(limit))
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query_as::<_, OrderRow>(SELECT_ORDERS_PAGE)
                    .bind(merchant.to_string())
                    .bind(page_limit(limit))
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.into_iter().map(OrderRecord::try_from).collect()
    }
}
