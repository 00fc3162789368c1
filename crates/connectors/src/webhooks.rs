//! Webhook intake: verify the platform's signature over the raw body, map platform
//! ids to anycart ids, and apply the stock change through the store's
//! reconciliation hook, which records the event id in the same transaction (a
//! duplicate is a no-op; an out-of-order figure cannot roll stock back).

use crate::{
    ConnectorError, ExternalOrderLine, Platform, PlatformChange, PrivacyRequest, ProductUpdate,
    WebhookEvent, connector_for, parse_stored_id as parse,
};
use anycart_core::{LocationId, MerchantId, Money, ProductId, VariantId};
use anycart_store::{
    DataRequest, EXTERNAL_STOCK_LINES_MAX, ExternalKind, ExternalStockChange, ExternalStockLine,
    ImportCursor, StockApplied, StockFigure, Store,
};
use reqwest::header::HeaderMap;

/// What intake did with a verified webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// New event: this many stock rows changed (0 for topics that change nothing).
    Applied { rows: usize },
    /// Seen before: nothing changed.
    Duplicate,
    /// A refund made on the platform, for the checkout to carry out at the payment
    /// provider. Not recorded here: the refund is idempotent on the platform's
    /// refund id, so a redelivery after a failure simply tries again.
    Refund(crate::PlatformRefund),
    /// Saved shopper details to forget, for the checkout to carry out (it detaches
    /// saved cards at the payment provider first). Not recorded: forgetting is
    /// idempotent, so a redelivery after a failure simply tries again.
    Forget(Forget),
}

/// What a redact webhook asks to forget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forget {
    /// One shopper, by the email the platform names (`customers/redact`).
    Shopper { email: String },
    /// Every shopper saved for the merchant (`shop/redact`).
    EveryShopper,
}

/// Why intake refused a webhook.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The merchant has no connection to this platform.
    #[error("no {0} connection for this merchant")]
    NotConnected(&'static str),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// Verifies and applies one webhook from `platform` for `merchant`.
pub async fn ingest(
    store: &Store,
    platform: Platform,
    merchant: MerchantId,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<IngestOutcome, IngestError> {
    // A disabled connection (app uninstalled) still verifies deliveries: Shopify
    // sends its compliance webhooks after the uninstall.
    let (connection, disabled_at_ms) = store
        .get_connection_any_state(merchant)
        .await
        .map_err(ConnectorError::from)?
        .filter(|(c, _)| c.platform() == platform.as_str())
        .ok_or(IngestError::NotConnected(platform.as_str()))?;
    let connector = connector_for(Some(&connection))?;
    let event = connector.verify_webhook(headers, body)?;
    let intake = Intake {
        store,
        platform: platform.as_str(),
        merchant,
        event: &event,
        now_ms,
    };
    match &event.change {
        PlatformChange::Privacy(request) => {
            return intake.privacy(connection.shop_domain(), request).await;
        }
        _ if disabled_at_ms.is_some() => return Err(IngestError::NotConnected(platform.as_str())),
        PlatformChange::Refund(refund) => return Ok(IngestOutcome::Refund(refund.clone())),
        _ => {}
    }
    // Product changes are applied first (idempotently) and the event recorded
    // after, so a crash in between is repaired by the platform's retry.
    let product_rows = match &event.change {
        PlatformChange::Product(update) => intake.apply_product_update(update).await?,
        _ => 0,
    };
    let lines = intake.stock_lines().await?;
    let outcome = intake.record(lines).await?;
    Ok(match outcome {
        StockApplied::Applied(rows) => {
            let rows = rows.len() + product_rows;
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, rows, "platform webhook applied");
            IngestOutcome::Applied { rows }
        }
        StockApplied::Replayed => {
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, "duplicate platform webhook ignored");
            IngestOutcome::Duplicate
        }
    })
}

/// One verified webhook on its way into the store.
#[derive(Clone, Copy)]
struct Intake<'a> {
    store: &'a Store,
    /// The platform's name, under which its ids are linked.
    platform: &'a str,
    merchant: MerchantId,
    event: &'a WebhookEvent,
    now_ms: i64,
}

/// The import-cursor resource under which the platform time of the last applied
/// update of a product is kept (its "position" in that product's update stream).
fn product_update_resource(platform_product_id: &str) -> String {
    format!("product_update:{platform_product_id}")
}

impl Intake<'_> {
    /// Acts on a compliance or uninstall webhook. Data requests are logged with the
    /// shop and the ids the request names (no personal data) and recorded like
    /// any event; the uninstall disables the connection.
    async fn privacy(
        &self,
        shop: &str,
        request: &PrivacyRequest,
    ) -> Result<IngestOutcome, IngestError> {
        let (merchant, event_id) = (self.merchant, &self.event.event_id);
        match request {
            PrivacyRequest::ForgetCustomer { customer_id, email } => {
                tracing::info!(merchant_id = %merchant, shop, customer_id, %event_id, "platform asked to forget a customer");
                let Some(email) = email.clone().filter(|e| !e.trim().is_empty()) else {
                    // Saved details are keyed by email: without one nothing is saved.
                    return Ok(IngestOutcome::Applied { rows: 0 });
                };
                // The email kept with the customer's data requests goes too.
                self.store
                    .redact_data_requests(merchant, &email)
                    .await
                    .map_err(ConnectorError::from)?;
                return Ok(IngestOutcome::Forget(Forget::Shopper { email }));
            }
            PrivacyRequest::ForgetShop => {
                tracing::info!(merchant_id = %merchant, shop, %event_id, "platform asked to forget every shopper of the shop");
                self.store
                    .delete_shop_data_requests(merchant, shop)
                    .await
                    .map_err(ConnectorError::from)?;
                return Ok(IngestOutcome::Forget(Forget::EveryShopper));
            }
            PrivacyRequest::DataRequest {
                customer_id,
                email,
                data_request_id,
            } => {
                // Listed in the admin API (`GET /v1/data_requests`) for the merchant
                // to answer; recorded before the event, so a crash in between is
                // repaired by the platform's retry (the row is kept once per id).
                self.store
                    .record_data_request(
                        merchant,
                        &DataRequest {
                            platform: self.platform.to_string(),
                            event_id: event_id.clone(),
                            shop_domain: shop.to_string(),
                            customer_id: customer_id.clone(),
                            customer_email: email.clone(),
                            data_request_id: data_request_id.clone(),
                            received_at_ms: self.now_ms,
                        },
                    )
                    .await
                    .map_err(ConnectorError::from)?;
                tracing::warn!(merchant_id = %merchant, shop, customer_id, data_request_id, %event_id, "customer data request from the platform: answer it with this customer's orders and saved checkout details (GET /v1/data_requests)");
            }
            PrivacyRequest::Uninstalled => {
                let disabled = self
                    .store
                    .disable_connection(merchant, self.now_ms)
                    .await
                    .map_err(ConnectorError::from)?;
                tracing::warn!(merchant_id = %merchant, shop, disabled, %event_id, "platform app uninstalled: connection disabled");
            }
        }
        Ok(match self.record(vec![]).await? {
            StockApplied::Applied(_) => IngestOutcome::Applied { rows: 0 },
            StockApplied::Replayed => IngestOutcome::Duplicate,
        })
    }

    /// The anycart id linked to a platform id of `kind`, if any.
    async fn lookup(
        &self,
        kind: ExternalKind,
        external_id: &str,
    ) -> Result<Option<String>, ConnectorError> {
        Ok(self
            .store
            .external_to_internal(self.merchant, self.platform, kind, external_id)
            .await?)
    }

    /// Applies the stock lines and records the event id in one transaction.
    async fn record(&self, lines: Vec<ExternalStockLine>) -> Result<StockApplied, ConnectorError> {
        let change = ExternalStockChange {
            merchant: self.merchant,
            platform: self.platform.into(),
            event_id: self.event.event_id.clone(),
            platform_time_ms: self.event.platform_time_ms,
            lines,
            received_at_ms: self.now_ms,
        };
        Ok(self.store.apply_external_stock_change(&change).await?)
    }

    /// Maps the platform change to anycart stock lines; unknown platform ids are
    /// logged and skipped (the event is still recorded, so a replay stays a no-op).
    async fn stock_lines(&self) -> Result<Vec<ExternalStockLine>, ConnectorError> {
        match &self.event.change {
            PlatformChange::InventoryLevel {
                inventory_item_id,
                location_id,
                available,
            } => {
                self.inventory_level_lines(inventory_item_id, location_id, *available)
                    .await
            }
            PlatformChange::ExternalOrder { lines } => self.external_order_lines(lines).await,
            PlatformChange::OwnOrder { anycart_order_id } => {
                tracing::debug!(
                    anycart_order_id,
                    "platform echoed an anycart order; already counted"
                );
                Ok(vec![])
            }
            PlatformChange::Ignored { .. }
            | PlatformChange::Product(_)
            | PlatformChange::OwnRefund { .. }
            | PlatformChange::Privacy(_)
            | PlatformChange::Refund(_) => Ok(vec![]),
        }
    }

    /// A location's new available figure for one linked item.
    async fn inventory_level_lines(
        &self,
        inventory_item_id: &str,
        location_id: &str,
        available: i64,
    ) -> Result<Vec<ExternalStockLine>, ConnectorError> {
        let variant = self
            .lookup(ExternalKind::InventoryItem, inventory_item_id)
            .await?;
        let location = self.lookup(ExternalKind::Location, location_id).await?;
        let (Some(variant), Some(location)) = (variant, location) else {
            tracing::warn!(merchant_id = %self.merchant, inventory_item_id, location_id, event_id = %self.event.event_id, "stock webhook for an item or location anycart does not know; skipped");
            return Ok(vec![]);
        };
        Ok(vec![ExternalStockLine {
            variant: parse::<VariantId>(&variant)?,
            location: Some(parse::<LocationId>(&location)?),
            figure: StockFigure::Available(available),
        }])
    }

    /// Units sold elsewhere, per linked variant (at most
    /// [`EXTERNAL_STOCK_LINES_MAX`] lines; custom lines carry no stock).
    async fn external_order_lines(
        &self,
        lines: &[ExternalOrderLine],
    ) -> Result<Vec<ExternalStockLine>, ConnectorError> {
        if lines.len() > EXTERNAL_STOCK_LINES_MAX {
            return Err(ConnectorError::Malformed(format!(
                "order with {} lines (at most {EXTERNAL_STOCK_LINES_MAX})",
                lines.len()
            )));
        }
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            let Some(platform_variant) = &line.variant_id else {
                continue; // custom line (gift card, tip): no stock
            };
            match self.lookup(ExternalKind::Variant, platform_variant).await? {
                Some(v) => out.push(ExternalStockLine {
                    variant: parse::<VariantId>(&v)?,
                    location: None,
                    figure: StockFigure::Sold(line.quantity),
                }),
                None => {
                    tracing::warn!(merchant_id = %self.merchant, platform_variant, event_id = %self.event.event_id, "order line for a variant anycart does not sell; skipped")
                }
            }
        }
        Ok(out)
    }

    /// Applies a platform product update: title, on sale or not, and the price of
    /// every linked variant. An update older than the last one applied to the same
    /// product (webhooks arrive out of order) changes nothing. Returns the number of
    /// rows changed. Unknown products and variants are logged and skipped.
    async fn apply_product_update(&self, update: &ProductUpdate) -> Result<usize, ConnectorError> {
        let (merchant, event) = (self.merchant, self.event);
        let Some(product) = self
            .lookup(ExternalKind::Product, &update.product_id)
            .await?
        else {
            tracing::warn!(merchant_id = %merchant, product = %update.product_id, event_id = %event.event_id, "update for a product anycart has not imported; skipped");
            return Ok(0);
        };
        let resource = product_update_resource(&update.product_id);
        if self.older_than_applied(&resource).await? {
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, "product update older than the one applied; ignored");
            return Ok(0);
        }
        // Resolve and check every price before changing anything: a malformed
        // update is refused whole.
        let prices = self.changed_prices(update).await?;
        let product: ProductId = parse(&product)?;
        self.store
            .set_product_basics(merchant, product, &update.title, update.active)
            .await?;
        for (variant, price) in &prices {
            self.store
                .set_variant_price(merchant, *variant, *price)
                .await?;
        }
        let cursor = ImportCursor {
            cursor: Some(event.platform_time_ms.to_string()),
            done: true,
        };
        self.store
            .save_import_cursor(merchant, self.platform, &resource, &cursor, self.now_ms)
            .await?;
        Ok(1 + prices.len())
    }

    /// Whether a later update of the product (kept under `resource`) was applied.
    async fn older_than_applied(&self, resource: &str) -> Result<bool, ConnectorError> {
        let last = self
            .store
            .import_cursor(self.merchant, self.platform, resource)
            .await?;
        let last_ms = last.cursor.as_deref().and_then(|c| c.parse::<i64>().ok());
        Ok(last_ms.is_some_and(|last| self.event.platform_time_ms < last))
    }

    /// The update's prices that differ from the linked variants' current ones, in
    /// each variant's own currency; an unreadable price refuses the update.
    async fn changed_prices(
        &self,
        update: &ProductUpdate,
    ) -> Result<Vec<(VariantId, Money)>, ConnectorError> {
        let mut prices = Vec::with_capacity(update.variant_prices.len());
        for (platform_variant, price) in &update.variant_prices {
            let Some(variant) = self.lookup(ExternalKind::Variant, platform_variant).await? else {
                tracing::warn!(merchant_id = %self.merchant, platform_variant, event_id = %self.event.event_id, "price for a variant anycart has not imported; skipped");
                continue;
            };
            let variant: VariantId = parse(&variant)?;
            let Some(current) = self
                .store
                .get_variants(self.merchant, &[variant])
                .await?
                .pop()
            else {
                continue;
            };
            let currency = current.price.currency;
            let minor = crate::minor_units(price, currency.exponent())?;
            let price = Money::new(minor, currency)
                .map_err(|e| ConnectorError::Malformed(format!("price `{price}`: {e}")))?;
            if price != current.price {
                prices.push((variant, price));
            }
        }
        Ok(prices)
    }
}
