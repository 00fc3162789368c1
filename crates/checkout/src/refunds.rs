//! Refunds and captures of orders' payments, through the provider that took them.
//!
//! A refund is reserved in the store first (so refunds can never add up to more
//! than was captured, whoever races), then asked of the provider with the
//! refund's own id as idempotency key, then settled: stock given back when asked
//! (native catalogues; a platform restocks on its side), and the refund recorded
//! on the platform order through the outbox. A provider that does not answer
//! leaves the refund `requested`: the caller's retry (same `Idempotency-Key`) or
//! the refund worker asks again, and the provider answers with the first refund.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, Resource};
use anycart_core::order::Order;
use anycart_core::{Money, OrderId, RefundId};
use anycart_payments::PaymentError;
use anycart_store::{
    OrderPayment, OrderPaymentStatus, Refund, RefundLine, RefundSource, RefundStart, RefundState,
};
use std::collections::BTreeMap;

/// Longest refund reason kept.
pub const REFUND_REASON_CHARS_MAX: usize = 500;
/// How long a refund waits unanswered before the worker asks the provider again.
pub const REFUND_RETRY_AFTER_MS: i64 = 30_000;
/// Refunds the worker retries per run.
pub const REFUND_RETRY_BATCH: i64 = 20;

/// What to refund of an order.
#[derive(Clone, Debug, Default)]
pub struct RefundInput {
    /// `(line item id, quantity)`; empty for an amount-only or whole-order refund.
    pub lines: Vec<(String, i64)>,
    /// Minor units; `None` = the lines' share of the total (tax included), or
    /// everything left when no lines are named either.
    pub amount_minor: Option<i64>,
    /// Give the lines' units back to stock.
    pub restock: bool,
    pub reason: Option<String>,
    /// The caller's `Idempotency-Key`: the same key never refunds twice.
    pub idempotency_key: String,
    /// A hash of the request body, to refuse a key reused for another refund.
    pub request_hash: String,
    /// Set for a refund made in the platform's admin (its refund id): anycart
    /// only moves the money back.
    pub platform_reference: Option<String>,
}

/// What became of a refund made on the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformRefundOutcome {
    /// The money went back through the provider (or is on its way).
    Refunded(RefundId),
    /// Nothing to do, and why (not an anycart order, no money in it, already
    /// refunded through anycart).
    Ignored(&'static str),
}

/// An order's refund with where it stands.
#[derive(Clone, Debug)]
pub struct RefundOutcome {
    pub refund: Refund,
    pub payment: OrderPayment,
}

/// What `lines` of `order` cost, their share of the order's discount taken off
/// and their share of its tax added (shipping is refunded only with the whole
/// order). Never more than the order's total less shipping; the lines' amounts
/// refunded one by one never add up to more than refunding them together.
pub fn lines_amount(order: &Order, lines: &[(anycart_core::LineItemId, i64)]) -> i64 {
    let t = order.totals;
    let base: i128 = lines
        .iter()
        .filter_map(|(id, qty)| {
            let line = order.lines.iter().find(|l| l.id == *id)?;
            Some(i128::from(line.unit_price.amount_minor) * i128::from(*qty))
        })
        .sum();
    let items = i128::from(t.items_base_minor.max(1));
    // The discount share rounds up and the tax share down, so refunding lines one
    // by one never adds up to more than refunding them together.
    let discount = (i128::from(t.discount_minor.max(0)) * base + items - 1) / items;
    let net = base - discount;
    let subtotal = i128::from(t.subtotal_minor.max(1));
    let tax = i128::from(t.tax_minor) * net / subtotal;
    let cap = i128::from(t.total_minor - t.fulfillment_minor).max(0);
    i64::try_from((net + tax).clamp(0, cap)).unwrap_or(0)
}

/// `(line, quantity)` pairs, as [`lines_amount`] prices them.
type PricedLines = Vec<(anycart_core::LineItemId, i64)>;

/// The refund lines a request names, checked against the order and what is left
/// of each line; with the pairs to price them by.
fn asked_lines(
    order: &Order,
    asked: &[(String, i64)],
    refunded: &BTreeMap<String, i64>,
) -> CheckoutResult<(Vec<RefundLine>, PricedLines)> {
    let mut lines: Vec<RefundLine> = Vec::new();
    let mut priced = Vec::new();
    for (i, (line_id, quantity)) in asked.iter().enumerate() {
        let param = format!("$.line_items[{i}]");
        let Some(line) = order.lines.iter().find(|l| l.id.to_string() == *line_id) else {
            return Err(CheckoutError::invalid(
                format!("{param}.id"),
                "no such line item in this order",
            ));
        };
        let left = i64::from(line.quantity.get()) - refunded.get(line_id).copied().unwrap_or(0);
        if *quantity < 1 || *quantity > left {
            return Err(CheckoutError::invalid(
                format!("{param}.quantity"),
                format!("must be 1 to {left} (what is left to refund of this line)"),
            ));
        }
        if lines.iter().any(|l| l.line_item_id == *line_id) {
            return Err(CheckoutError::invalid(
                format!("{param}.id"),
                "this line item is named twice",
            ));
        }
        lines.push(RefundLine {
            line_item_id: line_id.clone(),
            variant_id: line.variant_id,
            quantity: *quantity,
        });
        priced.push((line.id, *quantity));
    }
    Ok((lines, priced))
}

/// Every unit of the order not refunded yet (a whole-order refund gives them back).
fn units_left(order: &Order, refunded: &BTreeMap<String, i64>) -> Vec<RefundLine> {
    order
        .lines
        .iter()
        .filter_map(|line| {
            let left = i64::from(line.quantity.get())
                - refunded.get(&line.id.to_string()).copied().unwrap_or(0);
            (left > 0).then(|| RefundLine {
                line_item_id: line.id.to_string(),
                variant_id: line.variant_id,
                quantity: left,
            })
        })
        .collect()
}

/// The sum of a platform refund's decimal amounts, in minor units.
fn platform_amount(amounts: &[String], exponent: u32) -> CheckoutResult<i64> {
    let mut total = 0_i64;
    for a in amounts {
        let minor = anycart_connectors::minor_units(a, exponent)
            .map_err(|e| CheckoutError::invalid("$.transactions", e.to_string()))?;
        total = total.saturating_add(minor);
    }
    Ok(total)
}

impl CheckoutService {
    /// Refunds (part of) an order through the provider that was paid.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %order_id))]
    pub async fn refund_order(
        &self,
        merchant: anycart_core::MerchantId,
        order_id: OrderId,
        input: RefundInput,
    ) -> CheckoutResult<RefundOutcome> {
        let order = self
            .store
            .get_order(merchant, order_id)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::Order))?
            .order;
        let payment = self.store.order_payment(&order).await?;
        let wanted = self.refund_of(&order, &payment, &input).await?;
        let refund = match self.store.start_refund(&wanted).await? {
            RefundStart::Started(refund) => refund,
            RefundStart::Existing(existing) => {
                if existing.request_hash.as_deref() != Some(input.request_hash.as_str()) {
                    return Err(CheckoutError::IdempotencyKeyReused);
                }
                if existing.state != RefundState::Requested {
                    let payment = self.store.order_payment(&order).await?;
                    return Ok(RefundOutcome {
                        refund: existing,
                        payment,
                    });
                }
                existing // not answered yet: ask again, with the same key
            }
        };
        let refund = self.ask_provider(&order, &payment, refund).await?;
        let payment = self.store.order_payment(&order).await?;
        Ok(RefundOutcome { refund, payment })
    }

    /// The refund `input` asks for, checked against the order and what was
    /// refunded of it before.
    async fn refund_of(
        &self,
        order: &Order,
        payment: &OrderPayment,
        input: &RefundInput,
    ) -> CheckoutResult<Refund> {
        if payment.status != OrderPaymentStatus::Captured {
            return Err(CheckoutError::PaymentState(
                "be refunded before it is captured",
            ));
        }
        let refunded = self.refunded_units(order).await?;
        let (mut lines, priced) = asked_lines(order, &input.lines, &refunded)?;
        let whole = input.lines.is_empty() && input.amount_minor.is_none();
        if whole {
            lines = units_left(order, &refunded);
        }
        let amount_minor = match input.amount_minor {
            Some(a) => a,
            None if whole => payment.refundable_minor(),
            None => lines_amount(order, &priced).min(payment.refundable_minor()),
        };
        if amount_minor < 1 {
            return Err(if payment.refundable_minor() == 0 {
                CheckoutError::RefundTooLarge { left_minor: 0 }
            } else {
                CheckoutError::invalid("$.amount", "must be at least 1 (minor units)")
            });
        }
        let now = self.now_ms();
        Ok(Refund {
            id: RefundId::new(),
            merchant_id: order.merchant_id,
            order_id: order.id,
            source: if input.platform_reference.is_some() {
                RefundSource::Platform
            } else {
                RefundSource::Anycart
            },
            idempotency_key: Some(input.idempotency_key.clone()),
            request_hash: Some(input.request_hash.clone()),
            amount_minor,
            currency: payment.currency.clone(),
            lines,
            restock: input.restock,
            reason: input
                .reason
                .as_ref()
                .map(|r| r.chars().take(REFUND_REASON_CHARS_MAX).collect()),
            state: RefundState::Requested,
            provider_reference: None,
            platform_reference: input.platform_reference.clone(),
            failure: None,
            created_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// Units of each line item refunded so far (failed refunds do not count).
    async fn refunded_units(&self, order: &Order) -> CheckoutResult<BTreeMap<String, i64>> {
        let earlier = self
            .store
            .order_refunds(order.merchant_id, order.id)
            .await?;
        let mut refunded: BTreeMap<String, i64> = BTreeMap::new();
        for r in earlier.iter().filter(|r| r.state != RefundState::Failed) {
            for l in &r.lines {
                *refunded.entry(l.line_item_id.clone()).or_default() += l.quantity;
            }
        }
        Ok(refunded)
    }

    /// Asks the provider for a reserved refund and settles it with the answer.
    async fn ask_provider(
        &self,
        order: &Order,
        payment: &OrderPayment,
        refund: Refund,
    ) -> CheckoutResult<Refund> {
        let provider = self
            .provider_named(order.merchant_id, &payment.provider)
            .await?;
        let amount = Money::new(refund.amount_minor, order.currency)
            .map_err(|e| CheckoutError::AmountOutOfRange(e.to_string()))?;
        let key = format!("refund-{}", refund.id);
        let now = self.now_ms();
        match provider
            .provider
            .refund(&payment.provider_reference, amount, &key)
            .await
        {
            Ok(done) => {
                let state = if done.pending {
                    RefundState::Pending
                } else {
                    RefundState::Succeeded
                };
                self.accept_refund(order, &refund, state, &done.reference)
                    .await?;
                metrics::counter!("anycart_refunds_total", "provider" => provider.name())
                    .increment(1);
                tracing::info!(refund_id = %refund.id, amount_minor = refund.amount_minor, "refund accepted by the provider");
                self.reload_refund(&refund).await
            }
            Err(PaymentError::Unavailable(detail)) => {
                self.store.touch_refund(&refund, now).await?;
                Err(CheckoutError::PaymentUnavailable(detail))
            }
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(refund_id = %refund.id, error = %why, "the provider refused a refund");
                self.store.fail_refund(&refund, &why, now).await?;
                Err(CheckoutError::PaymentRefused(why))
            }
        }
    }

    /// Records the provider's acceptance of `refund` (from its answer or its
    /// webhook, whichever comes first): the first time, its units go back to
    /// stock (native catalogues; a platform restocks on its side) and the
    /// platform is told. False when it was settled already.
    pub(crate) async fn accept_refund(
        &self,
        order: &Order,
        refund: &Refund,
        state: RefundState,
        provider_reference: &str,
    ) -> CheckoutResult<bool> {
        let restock = if refund.restock && !self.stock_is_the_platforms(order).await? {
            refund.lines.clone()
        } else {
            Vec::new()
        };
        Ok(self
            .store
            .settle_refund(
                refund,
                state,
                Some(provider_reference),
                &restock,
                self.now_ms(),
            )
            .await?)
    }

    async fn reload_refund(&self, refund: &Refund) -> CheckoutResult<Refund> {
        self.store
            .get_refund(refund.merchant_id, refund.id)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::Order))
    }

    /// True when the merchant's stock lives on an outside platform (which
    /// restocks on its side and reports the new figures back).
    async fn stock_is_the_platforms(&self, order: &Order) -> CheckoutResult<bool> {
        Ok(self
            .store
            .get_connection(order.merchant_id)
            .await?
            .is_some_and(|c| c.platform() != "native"))
    }

    /// Asks the provider again for refunds it never answered (after a crash or
    /// an outage). Returns how many were settled.
    pub async fn retry_refunds_once(&self) -> CheckoutResult<usize> {
        let before = self.now_ms() - REFUND_RETRY_AFTER_MS;
        let mut settled = 0;
        for refund in self
            .store
            .unsettled_refunds(before, REFUND_RETRY_BATCH)
            .await?
        {
            let Some(order) = self
                .store
                .get_order(refund.merchant_id, refund.order_id)
                .await?
            else {
                continue;
            };
            let payment = self.store.order_payment(&order.order).await?;
            match self.ask_provider(&order.order, &payment, refund).await {
                Ok(_) | Err(CheckoutError::PaymentRefused(_)) => settled += 1,
                Err(e) => tracing::warn!(error = %e, "refund retry failed; trying later"),
            }
        }
        Ok(settled)
    }

    /// Carries out a refund made in the platform's admin (Shopify `refunds/create`)
    /// at the payment provider, once per platform refund id.
    pub async fn refund_from_platform(
        &self,
        merchant: anycart_core::MerchantId,
        platform: &str,
        refund: &anycart_connectors::PlatformRefund,
    ) -> CheckoutResult<PlatformRefundOutcome> {
        let Some(order_id) = self
            .store
            .order_by_platform_id(merchant, &refund.platform_order_id)
            .await?
        else {
            return Ok(PlatformRefundOutcome::Ignored("not an anycart order"));
        };
        let Some(record) = self.store.get_order(merchant, order_id).await? else {
            return Ok(PlatformRefundOutcome::Ignored("not an anycart order"));
        };
        let order = record.order;
        if refund
            .currency
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(&order.currency.code_lower()))
        {
            return Ok(PlatformRefundOutcome::Ignored("refund in another currency"));
        }
        let amount_minor = platform_amount(&refund.amounts, order.currency.exponent())?;
        if amount_minor <= 0 {
            return Ok(PlatformRefundOutcome::Ignored("no money refunded"));
        }
        let lines = self.platform_lines(&order, platform, refund).await?;
        let key = format!("{platform}:{}", refund.platform_refund_id);
        let input = RefundInput {
            lines,
            amount_minor: Some(amount_minor),
            restock: false,
            reason: refund.note.clone(),
            idempotency_key: key.clone(),
            request_hash: key,
            platform_reference: Some(refund.platform_refund_id.clone()),
        };
        let done = match self.refund_order(merchant, order_id, input.clone()).await {
            Err(CheckoutError::Invalid { param, message }) => {
                // Lines refunded through anycart already, say: the money still goes.
                tracing::warn!(order_id = %order_id, %param, %message, "platform refund lines do not fit the anycart order; refunding the amount only");
                let amount_only = RefundInput {
                    lines: Vec::new(),
                    ..input
                };
                self.refund_order(merchant, order_id, amount_only).await
            }
            other => other,
        };
        match done {
            Ok(done) => Ok(PlatformRefundOutcome::Refunded(done.refund.id)),
            Err(CheckoutError::RefundTooLarge { .. }) => {
                tracing::warn!(order_id = %order_id, platform_refund_id = %refund.platform_refund_id, "platform refund larger than what is left to refund at the provider; not carried out");
                Ok(PlatformRefundOutcome::Ignored("nothing left to refund"))
            }
            Err(e) => Err(e),
        }
    }

    /// The order's lines a platform refund names (by the platform's variant ids),
    /// each capped at what the line holds; lines anycart cannot map are left out.
    async fn platform_lines(
        &self,
        order: &Order,
        platform: &str,
        refund: &anycart_connectors::PlatformRefund,
    ) -> CheckoutResult<Vec<(String, i64)>> {
        let mut lines = Vec::new();
        for l in &refund.lines {
            let Some(gid) = &l.variant_id else { continue };
            let Some(variant) = self
                .store
                .external_to_internal(
                    order.merchant_id,
                    platform,
                    anycart_store::ExternalKind::Variant,
                    gid,
                )
                .await?
            else {
                continue;
            };
            if let Some(line) = order
                .lines
                .iter()
                .find(|o| o.variant_id.to_string() == variant)
            {
                lines.push((
                    line.id.to_string(),
                    l.quantity.min(i64::from(line.quantity.get())),
                ));
            }
        }
        Ok(lines)
    }

    /// Captures an order authorised at completion (capture on fulfilment).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, order_id = %order_id))]
    pub async fn capture_order(
        &self,
        merchant: anycart_core::MerchantId,
        order_id: OrderId,
    ) -> CheckoutResult<OrderPayment> {
        let order = self
            .store
            .get_order(merchant, order_id)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::Order))?
            .order;
        let payment = self.store.order_payment(&order).await?;
        match payment.status {
            OrderPaymentStatus::Captured => return Ok(payment),
            OrderPaymentStatus::Authorized => {}
            OrderPaymentStatus::Failed | OrderPaymentStatus::Canceled => {
                return Err(CheckoutError::PaymentState("be captured"));
            }
        }
        let provider = self.provider_named(merchant, &payment.provider).await?;
        let amount = Money::new(payment.amount_minor, order.currency)
            .map_err(|e| CheckoutError::AmountOutOfRange(e.to_string()))?;
        provider
            .provider
            .capture(&payment.provider_reference, amount)
            .await
            .map_err(crate::payment_journal::provider_error)?;
        self.store
            .record_capture(merchant, order_id, payment.amount_minor, self.now_ms())
            .await?;
        tracing::info!(amount_minor = payment.amount_minor, "payment captured");
        Ok(self.store.order_payment(&order).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::order::{OrderStatus, PaymentRecord};
    use anycart_core::pricing::Totals;
    use anycart_core::session::{Fulfillment, SessionLine};
    use anycart_core::values::Quantity;
    use anycart_core::{Currency, LineItemId, MerchantId, ProductId, SessionId, VariantId};
    use proptest::prelude::*;

    /// An order of `(unit price, quantity)` lines priced as the quote prices them:
    /// a percentage off the items, tax in basis points on the subtotal, shipping.
    fn sample_order(lines: &[(i64, i64)], discount_pct: i64, tax_bp: i64, shipping: i64) -> Order {
        let usd = Currency::parse("usd").unwrap();
        let items: i64 = lines.iter().map(|(p, q)| p * q).sum();
        let discount = items * discount_pct / 100;
        let subtotal = items - discount;
        let tax = subtotal * tax_bp / 10_000;
        let total = subtotal + tax + shipping;
        Order {
            id: OrderId::new(),
            merchant_id: MerchantId::new(),
            session_id: SessionId::new(),
            number: 1001,
            status: OrderStatus::Confirmed,
            currency: usd,
            lines: lines
                .iter()
                .map(|(price, qty)| SessionLine {
                    id: LineItemId::new(),
                    variant_id: VariantId::new(),
                    product_id: ProductId::new(),
                    quantity: Quantity::parse(*qty).unwrap(),
                    title: "Tee".into(),
                    sku: "TEE".into(),
                    unit_price: Money::new(*price, usd).unwrap(),
                    image_url: None,
                    options: vec![],
                    max_quantity_per_order: None,
                    available: 0,
                })
                .collect(),
            totals: Totals {
                items_base_minor: items,
                discount_minor: discount,
                subtotal_minor: subtotal,
                fulfillment_minor: shipping,
                tax_minor: tax,
                total_minor: total,
            },
            email: None,
            fulfillment: Fulfillment::default(),
            shipping_title: None,
            payment: PaymentRecord {
                provider: "sandbox".into(),
                provider_reference: "sbx_1".into(),
                amount_minor: total,
                card_last4: None,
                captured: true,
            },
            attribution: None,
            created_at_ms: 0,
        }
    }

    proptest! {
        /// Refunding lines one by one never adds up to more than the order's
        /// total less shipping, whatever the prices, discount and tax.
        #[test]
        fn line_refunds_never_exceed_what_was_paid_for_goods(
            prices in proptest::collection::vec((1i64..100_000, 1i64..5), 1..6),
            discount_pct in 0i64..100,
            tax_bp in 0i64..3_000,
            shipping in 0i64..5_000,
        ) {
            let order = sample_order(&prices, discount_pct, tax_bp, shipping);
            let each: i64 = order
                .lines
                .iter()
                .map(|l| lines_amount(&order, &[(l.id, i64::from(l.quantity.get()))]))
                .sum();
            let all: Vec<_> = order.lines.iter().map(|l| (l.id, i64::from(l.quantity.get()))).collect();
            let together = lines_amount(&order, &all);
            let goods = order.totals.total_minor - order.totals.fulfillment_minor;
            prop_assert!(each <= goods, "{each} > {goods}");
            prop_assert!(together <= goods);
            prop_assert!(each <= together, "floors only lose: {each} > {together}");
        }
    }
}
