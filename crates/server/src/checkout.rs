//! The checkout service: the one place that orchestrates a session's life.
//!
//! Handlers parse and authorise, then call one function here. Each function loads
//! what it needs, lets `anycart_core` decide (quote, status transition), and hands
//! the result to the store to apply in one transaction together with the stock
//! holds. Payment calls happen between transactions and are made idempotent by a
//! provider key derived from the session (`{session}-{attempt}`).

use crate::acp::parse::LineRequest;
use crate::auth::random_token;
use crate::error::ApiError;
use crate::state::{AppState, HoldMode};
use anycart_core::catalogue::Variant;
use anycart_core::inventory::demand_by_variant;
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::quote::{QuoteInput, evaluate};
use anycart_core::session::SESSION_LIFETIME_MS_MAX;
use anycart_core::session::{
    Buyer, CheckoutSession, CheckoutStatus, ErrorCode, Event, Fulfillment, Message, PendingPayment,
    SessionLine, WarningCode,
};
use anycart_core::{
    Currency, LineItemId, MerchantId, OrderId, SessionId, ShippingRateId, VariantId,
};
use anycart_payments::{AuthorizeOutcome, AuthorizeRequest, PaymentError};
use anycart_store::{HoldChange, SessionWrite, StoreError};
use axum::http::StatusCode;
use std::collections::{BTreeMap, HashMap};

/// What the shopper or agent wants the session to look like (the parsed request).
#[derive(Clone, Debug, Default)]
pub struct SessionInput {
    pub lines: Option<Vec<LineRequest>>,
    pub buyer: Option<Buyer>,
    pub fulfillment: Option<Fulfillment>,
    pub selected_shipping: Option<ShippingRateId>,
    pub codes: Option<(Vec<String>, bool)>,
    pub locale: Option<String>,
    pub client_interventions: Option<Vec<String>>,
}

/// How a complete request wants to pay.
#[derive(Clone, Debug)]
pub struct PaymentInput {
    pub handler_id: String,
    pub token: String,
    pub buyer: Option<Buyer>,
    /// `Some(true)` when the agent reports a successful 3-D Secure outcome.
    pub authenticated: Option<bool>,
}

fn session_not_found() -> ApiError {
    ApiError::not_found("checkout session")
}

fn terminal_error(status: CheckoutStatus) -> ApiError {
    ApiError::conflict(
        "invalid_state",
        format!(
            "This checkout session is {} and can no longer change.",
            status.as_str().replace('_', " ")
        ),
    )
}

/// How far back a buyer's orders count against per-buyer limits.
pub use anycart_core::quote::BUYER_LIMIT_WINDOW_MS;

/// Creates a session, holding its stock.
pub async fn create(
    state: &AppState,
    merchant: MerchantId,
    currency: Currency,
    input: SessionInput,
) -> Result<CheckoutSession, ApiError> {
    let now = state.now_ms();
    let session = CheckoutSession {
        id: SessionId::new(),
        merchant_id: merchant,
        status: CheckoutStatus::NotReadyForPayment,
        currency,
        lines: vec![],
        buyer: Buyer::default(),
        fulfillment: Fulfillment::default(),
        selected_shipping: None,
        discount_codes: vec![],
        codes_from_coupons: false,
        quote: empty_quote(),
        pending_payment: None,
        payment_attempt: 0,
        client_interventions: vec![],
        payment_message: None,
        order_id: None,
        locale: None,
        created_at_ms: now,
        updated_at_ms: now,
        expires_at_ms: now,
    };
    let lines = input.lines.clone().ok_or_else(|| {
        ApiError::bad_request("missing", "line_items is required.").with_param("$.line_items")
    })?;
    Ok(rebuild(state, session, None, lines, input).await?.0)
}

/// Applies an update (absent fields unchanged) and re-prices and re-holds.
pub async fn update(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
    input: SessionInput,
) -> Result<CheckoutSession, ApiError> {
    update_with(state, merchant, id, |_| Ok(input)).await
}

/// Like [`update`], with the input built from the session as loaded for this very
/// write (partial buyer/address patches merge into what they patch, one read).
pub async fn update_with(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
    input: impl FnOnce(&CheckoutSession) -> Result<SessionInput, ApiError>,
) -> Result<CheckoutSession, ApiError> {
    let (session, version) = load_live(state, merchant, id).await?;
    if session.status.is_terminal() {
        return Err(terminal_error(session.status));
    }
    let input = input(&session)?;
    let lines = input.lines.clone().unwrap_or_else(|| {
        session
            .lines
            .iter()
            .map(|l| (l.variant_id, l.quantity))
            .collect()
    });
    let mut session = session;
    session.pending_payment = None; // a changed basket needs a fresh payment
    session.payment_attempt += 1;
    Ok(rebuild(state, session, Some(version), lines, input)
        .await?
        .0)
}

/// Reads a session, expiring it first if its time has passed.
pub async fn get(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
) -> Result<CheckoutSession, ApiError> {
    Ok(load_live(state, merchant, id).await?.0)
}

/// Cancels a session and gives its stock back. 405 when it already ended (ACP).
pub async fn cancel(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
) -> Result<CheckoutSession, ApiError> {
    let (mut session, version) = load_live(state, merchant, id).await?;
    if session.status.is_terminal() {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "not_cancelable",
            format!(
                "This checkout session is already {}.",
                session.status.as_str()
            ),
        ));
    }
    session
        .apply(Event::Cancel)
        .map_err(|_| terminal_error(session.status))?;
    session.updated_at_ms = state.now_ms();
    void_pending(state, &session).await;
    session.pending_payment = None;
    write(state, session, version, HoldChange::ReleaseAll).await
}

/// Expires one session whose time has passed (used by reads and by the sweeper).
pub async fn expire(state: &AppState, merchant: MerchantId, id: SessionId) -> Result<(), ApiError> {
    let Some((mut session, version)) = state.store.get_session(merchant, id).await? else {
        return Ok(());
    };
    if session.status.is_terminal() || session.expires_at_ms > state.now_ms() {
        return Ok(());
    }
    session
        .apply(Event::Expire)
        .map_err(|_| terminal_error(session.status))?;
    void_pending(state, &session).await;
    session.pending_payment = None;
    match write(state, session, version, HoldChange::ReleaseAll).await {
        Ok(_) => Ok(()),
        // Someone else moved it first (completed, updated, expired): nothing to do.
        Err(e) if e.code == "concurrent_update" => Ok(()),
        Err(e) => Err(e),
    }
}

async fn void_pending(state: &AppState, session: &CheckoutSession) {
    if let Some(p) = &session.pending_payment
        && let Err(e) = state.payments.void(&p.provider_reference).await
    {
        tracing::warn!(session_id = %session.id, error = %e, "could not void a pending payment");
    }
}

/// Pays for a ready session and writes the order; or reports why it could not.
/// `payment` is built from the session as loaded for this request (one read).
pub async fn complete(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
    payment: impl FnOnce(&CheckoutSession) -> Result<PaymentInput, ApiError>,
) -> Result<CheckoutSession, ApiError> {
    let (session, version) = load_live(state, merchant, id).await?;
    let payment = payment(&session)?;
    match session.status {
        CheckoutStatus::Completed => return Ok(session), // already paid: never charge again
        s if s.is_terminal() => return Err(terminal_error(s)),
        _ => {}
    }
    if payment.handler_id != anycart_payments::sandbox::SANDBOX_HANDLER_ID {
        return Err(ApiError::bad_request(
            "invalid_payment_handler",
            format!(
                "Unknown payment handler; use `{}`.",
                anycart_payments::sandbox::SANDBOX_HANDLER_ID
            ),
        )
        .with_param("$.payment_data.handler_id"));
    }

    let (session, version) = if session.status == CheckoutStatus::AuthenticationRequired {
        if payment.authenticated.is_none() {
            return Err(ApiError::bad_request("requires_3ds", "This checkout session requires issuer authentication. The request must include 'authentication_result' as provided by the issuer authentication flow.").with_param("$.authentication_result"));
        }
        (session, version)
    } else {
        // Refresh holds and prices; refuse to charge if anything the shopper agreed to moved.
        let agreed_total = session.quote.totals.total_minor;
        let lines = session
            .lines
            .iter()
            .map(|l| (l.variant_id, l.quantity))
            .collect();
        let input = SessionInput {
            buyer: payment.buyer.clone(),
            ..Default::default()
        };
        let (refreshed, version) = rebuild(state, session, Some(version), lines, input).await?;
        if refreshed.status != CheckoutStatus::ReadyForPayment {
            return Ok(refreshed);
        }
        if refreshed.quote.totals.total_minor != agreed_total && agreed_total != 0 {
            let mut s = refreshed;
            s.payment_message = Some(Message::warning(
                WarningCode::PriceChange,
                Some("$.totals".into()),
                "The total changed since you last saw it. Please review and pay again.",
            ));
            return write(state, s, version, HoldChange::Keep).await;
        }
        (refreshed, version)
    };

    let capture = state.config.auto_capture;
    // The provider token this request charges (none when confirming 3-D Secure).
    let mut charged_token = None;
    let provider_result = match (&session.pending_payment, payment.authenticated) {
        (Some(pending), Some(authenticated)) => {
            state
                .payments
                .confirm_authentication(&pending.provider_reference, authenticated, capture)
                .await
        }
        _ => {
            let amount =
                anycart_core::Money::new(session.quote.totals.total_minor, session.currency)
                    .map_err(|_| ApiError::internal())?;
            // A returning shopper's token stands for their saved card.
            let token = crate::shoppers::payment_token(state, &session, &payment.token).await?;
            charged_token = Some(token.clone());
            let request = AuthorizeRequest {
                amount,
                token,
                idempotency_key: format!("{}-{}", session.id, session.payment_attempt),
                capture,
            };
            state.payments.authorize(&request).await
        }
    };
    let outcome = provider_result.map_err(|e| match e {
        PaymentError::InvalidToken => {
            ApiError::bad_request("invalid_payment_token", "The payment token is not valid.")
                .with_param("$.payment_data.instrument.credential.token")
        }
        PaymentError::UnknownReference => ApiError::conflict(
            "payment_not_found",
            "The pending payment is unknown to the provider; start again.",
        ),
        PaymentError::Unavailable(detail) => {
            tracing::error!(%detail, "payment provider unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payment_unavailable",
                "The payment provider is unavailable; retry shortly.",
            )
            .retry_after(2)
        }
    })?;
    metrics::counter!("anycart_payment_outcomes_total", "outcome" => outcome_label(&outcome))
        .increment(1);
    match outcome {
        AuthorizeOutcome::Authorized {
            reference,
            card_last4,
            captured,
        } => {
            let last4 = card_last4.clone();
            let done =
                finish_order(state, session, version, reference, card_last4, captured).await?;
            if let Some(token) = &charged_token {
                crate::shoppers::remember_paid(state, &done, token, last4.as_deref()).await;
            }
            Ok(done)
        }
        AuthorizeOutcome::Declined { reason, .. } => {
            let mut s = session;
            s.apply(Event::PaymentDeclined)
                .map_err(|_| terminal_error(s.status))?;
            s.pending_payment = None;
            s.payment_attempt += 1;
            s.payment_message = Some(Message::error(
                ErrorCode::PaymentDeclined,
                Some("$.payment_data".into()),
                reason.explain(),
            ));
            s.updated_at_ms = state.now_ms();
            // The shopper may try another card: the next complete re-takes the stock.
            write(state, s, version, HoldChange::ReleaseAll).await
        }
        AuthorizeOutcome::RequiresAuthentication { reference } => {
            let mut s = session;
            s.apply(Event::AuthenticationRequested)
                .map_err(|_| terminal_error(s.status))?;
            s.pending_payment = Some(PendingPayment {
                provider_reference: reference,
                handler_id: payment.handler_id,
                amount_minor: s.quote.totals.total_minor,
            });
            s.payment_message = Some(Message::error(
                ErrorCode::Requires3ds,
                Some("$.authentication_result".into()),
                "Your bank needs to confirm this payment (3-D Secure).",
            ));
            s.updated_at_ms = state.now_ms();
            write(state, s, version, HoldChange::Keep).await
        }
    }
}

fn outcome_label(o: &AuthorizeOutcome) -> &'static str {
    match o {
        AuthorizeOutcome::Authorized { .. } => "authorized",
        AuthorizeOutcome::Declined { .. } => "declined",
        AuthorizeOutcome::RequiresAuthentication { .. } => "requires_authentication",
    }
}

async fn finish_order(
    state: &AppState,
    mut session: CheckoutSession,
    version: i64,
    reference: String,
    card_last4: Option<String>,
    captured: bool,
) -> Result<CheckoutSession, ApiError> {
    let now = state.now_ms();
    let order_id = OrderId::new();
    session
        .apply(Event::PaymentSucceeded)
        .map_err(|_| terminal_error(session.status))?;
    session.order_id = Some(order_id);
    session.pending_payment = None;
    session.payment_message = None;
    session.updated_at_ms = now;
    let shipping_title = session
        .selected_shipping
        .and_then(|id| {
            session
                .quote
                .fulfillment_options
                .iter()
                .find(|o| o.rate.id == id)
        })
        .map(|o| o.rate.title.clone());
    let order = Order {
        id: order_id,
        merchant_id: session.merchant_id,
        session_id: session.id,
        number: 0,
        status: OrderStatus::Confirmed,
        currency: session.currency,
        lines: session.lines.clone(),
        totals: session.quote.totals,
        email: session.contact_email().cloned(),
        fulfillment: session.fulfillment.clone(),
        shipping_title,
        payment: PaymentRecord {
            provider: state.payments.name().to_string(),
            provider_reference: reference.clone(),
            amount_minor: session.quote.totals.total_minor,
            card_last4,
            captured,
        },
        created_at_ms: now,
    };
    let demand = demand_by_variant(
        &session
            .lines
            .iter()
            .map(|l| (l.variant_id, l.quantity))
            .collect::<Vec<_>>(),
    );
    let redeemed: Vec<_> = session
        .quote
        .applied_discounts
        .iter()
        .map(|d| d.discount_id)
        .collect();
    match state
        .store
        .complete_checkout(
            &session,
            version,
            &demand,
            order,
            &random_token(),
            &redeemed,
        )
        .await
    {
        Ok(order) => {
            metrics::counter!("anycart_orders_total").increment(1);
            tracing::info!(session_id = %session.id, order_id = %order.id, number = order.number, total_minor = order.totals.total_minor, "order placed");
            Ok(session)
        }
        Err(e) => {
            // Nothing was written: give the money back before reporting.
            tracing::warn!(session_id = %session.id, error = %e, "order write failed after payment; voiding");
            if let Err(void_error) = state.payments.void(&reference).await {
                tracing::error!(session_id = %session.id, error = %void_error, "VOID FAILED after an unwritten order; reconcile by hand");
            }
            Err(match e {
                StoreError::VersionConflict => ApiError::conflict(
                    "concurrent_update",
                    "The checkout changed while paying; nothing was charged. Please retry.",
                )
                .retry_after(1),
                StoreError::Constraint(_) => ApiError::conflict(
                    "stock_changed",
                    "The stock for this order is no longer held; nothing was charged. Please retry.",
                ),
                other => other.into(),
            })
        }
    }
}

/// Loads a session of `merchant`, expiring it first when its time is up.
async fn load_live(
    state: &AppState,
    merchant: MerchantId,
    id: SessionId,
) -> Result<(CheckoutSession, i64), ApiError> {
    let (session, version) = state
        .store
        .get_session(merchant, id)
        .await?
        .ok_or_else(session_not_found)?;
    if !session.status.is_terminal() && session.expires_at_ms <= state.now_ms() {
        expire(state, merchant, id).await?;
        return state
            .store
            .get_session(merchant, id)
            .await?
            .ok_or_else(session_not_found);
    }
    Ok((session, version))
}

async fn write(
    state: &AppState,
    session: CheckoutSession,
    version: i64,
    holds: HoldChange,
) -> Result<CheckoutSession, ApiError> {
    let write = SessionWrite {
        merchant: session.merchant_id,
        session: session.id,
        expected_version: Some(version),
        holds,
    };
    let (stored, _) = state
        .store
        .write_session(write, state.now_ms(), |_| Ok::<_, ApiError>(session))
        .await??;
    Ok(stored)
}

/// Re-reads the catalogue for `lines`, merges `input`, re-takes the holds and
/// re-prices, all in one store transaction. `version` is `None` for a new session.
async fn rebuild(
    state: &AppState,
    mut session: CheckoutSession,
    version: Option<i64>,
    lines: Vec<LineRequest>,
    input: SessionInput,
) -> Result<(CheckoutSession, i64), ApiError> {
    let merchant = session.merchant_id;
    let now = state.now_ms();
    let variants = load_variants(state, merchant, session.currency, &lines).await?;
    let previously: Vec<VariantId> = session.lines.iter().map(|l| l.variant_id).collect();
    let previous_prices: HashMap<VariantId, i64> = session
        .lines
        .iter()
        .map(|l| (l.variant_id, l.unit_price.amount_minor))
        .collect();
    let previous_ids: HashMap<VariantId, LineItemId> =
        session.lines.iter().map(|l| (l.variant_id, l.id)).collect();
    session.lines = lines
        .iter()
        .map(|(variant_id, quantity)| {
            let v = &variants[variant_id];
            SessionLine {
                id: previous_ids.get(variant_id).copied().unwrap_or_default(),
                variant_id: *variant_id,
                product_id: v.product_id,
                quantity: *quantity,
                title: v.title.clone(),
                sku: v.sku.as_ref().to_string(),
                unit_price: v.price,
                image_url: v.image_url.clone(),
                options: v.options.clone(),
                max_quantity_per_order: v.max_quantity_per_order,
                available: 0,
            }
        })
        .collect();
    // Repeated variants would share one line id; give duplicates their own.
    let mut seen = std::collections::HashSet::new();
    for line in &mut session.lines {
        if !seen.insert(line.id) {
            line.id = LineItemId::new();
        }
    }
    let price_changed = session.lines.iter().any(|l| {
        previous_prices
            .get(&l.variant_id)
            .is_some_and(|p| *p != l.unit_price.amount_minor)
    });
    if let Some(b) = input.buyer {
        session.buyer = b;
    }
    if let Some(f) = input.fulfillment {
        session.fulfillment = f;
    }
    if input.selected_shipping.is_some() {
        session.selected_shipping = input.selected_shipping;
    }
    if let Some((codes, from_coupons)) = input.codes {
        session.discount_codes = codes;
        session.codes_from_coupons = from_coupons;
    }
    if input.locale.is_some() {
        session.locale = input.locale;
    }
    if let Some(c) = input.client_interventions {
        session.client_interventions = c;
    }
    session.payment_message = None;
    session.updated_at_ms = now;
    session.expires_at_ms =
        (now + state.config.session_ttl_ms).min(session.created_at_ms + SESSION_LIFETIME_MS_MAX);

    let zones = state.store.list_shipping_zones(merchant).await?;
    let tax_rates = state.store.list_tax_rates(merchant).await?;
    let discounts = state.store.list_discounts(merchant).await?;
    // Per-buyer limits: what this buyer has elsewhere counts against each
    // variant's `max_quantity_per_order`, and an over-limit variant is not held.
    // The lock is held until the session (and its holds) are written.
    let limited_buyer = session
        .contact_email()
        .filter(|_| {
            session
                .lines
                .iter()
                .any(|l| l.max_quantity_per_order.is_some())
        })
        .map(|email| email.buyer_key());
    let _buyer_guard = match &limited_buyer {
        Some(key) => Some(state.buyer_lock(merchant, key).await),
        None => None,
    };
    let buyer_units = match &limited_buyer {
        Some(key) => {
            state
                .store
                .buyer_units(merchant, key, session.id, now - BUYER_LIMIT_WINDOW_MS)
                .await?
        }
        None => BTreeMap::new(),
    };
    let over_limit = anycart_core::quote::over_limit(&session.lines, &buyer_units);
    let mut demand = demand_by_variant(&lines);
    demand.retain(|variant, _| !over_limit.contains(variant));
    let (holds, engine_pool) = match &state.holds {
        HoldMode::Engine(engine) => {
            let outcomes = engine
                .replace_session_holds(
                    merchant,
                    session.id,
                    &demand,
                    &previously,
                    session.expires_at_ms,
                )
                .await
                .map_err(engine_error)?;
            let pool: BTreeMap<VariantId, i64> = outcomes
                .into_iter()
                .map(|(v, o)| (v, o.available))
                .collect();
            (HoldChange::Keep, Some(pool))
        }
        HoldMode::PerRequest => (
            HoldChange::Replace {
                demand: demand.clone(),
                expires_at_ms: session.expires_at_ms,
            },
            None,
        ),
    };
    let session_id = session.id;
    let write = SessionWrite {
        merchant,
        session: session.id,
        expected_version: version,
        holds,
    };

    let written = state
        .store
        .write_session(write, now, move |store_outcomes| {
            let pool = engine_pool.unwrap_or_else(|| {
                store_outcomes
                    .iter()
                    .map(|(v, o)| (*v, o.available))
                    .collect()
            });
            let mut taken: BTreeMap<VariantId, i64> = BTreeMap::new();
            for line in &mut session.lines {
                let pool = pool.get(&line.variant_id).copied().unwrap_or(0);
                let before = taken.entry(line.variant_id).or_insert(0);
                line.available = (pool - *before).max(0);
                *before += i64::from(line.quantity.get());
            }
            let evaluation = evaluate(&QuoteInput {
                currency: session.currency,
                lines: &session.lines,
                buyer: &session.buyer,
                fulfillment: &session.fulfillment,
                selected_shipping: session.selected_shipping,
                codes: &session.discount_codes,
                codes_from_coupons: session.codes_from_coupons,
                zones: &zones,
                tax_rates: &tax_rates,
                discounts: &discounts,
                now_ms: now,
                buyer_units: &buyer_units,
            })
            .map_err(|e| ApiError::bad_request("amount_out_of_range", e.to_string()))?;
            let ready = evaluation.quote.is_ready();
            session.quote = evaluation.quote;
            session.selected_shipping = evaluation.selected_shipping;
            if price_changed {
                session.quote.messages.push(Message::warning(
                    WarningCode::PriceChange,
                    Some("$.line_items".into()),
                    "A price changed since this checkout started.",
                ));
            }
            session
                .apply(Event::Evaluated { ready })
                .map_err(|_| terminal_error(session.status))?;
            Ok::<_, ApiError>(session)
        })
        .await;
    let (stored, version) = match written {
        Ok(Ok(done)) => done,
        Ok(Err(failed)) => {
            return Err(release_unsaved(
                state, version, merchant, session_id, &demand, now, failed,
            )
            .await);
        }
        Err(failed) => {
            return Err(release_unsaved(
                state,
                version,
                merchant,
                session_id,
                &demand,
                now,
                failed.into(),
            )
            .await);
        }
    };
    metrics::counter!("anycart_checkout_writes_total", "status" => stored.status.as_str())
        .increment(1);
    Ok((stored, version))
}

/// The merchant's variants for `lines`, checked: known, active, right currency.
async fn load_variants(
    state: &AppState,
    merchant: MerchantId,
    currency: Currency,
    lines: &[LineRequest],
) -> Result<HashMap<VariantId, Variant>, ApiError> {
    let ids: Vec<VariantId> = {
        let mut ids: Vec<_> = lines.iter().map(|(v, _)| *v).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let found: HashMap<VariantId, (Variant, bool)> = state
        .store
        .variants_for_sale(merchant, &ids)
        .await?
        .into_iter()
        .map(|(v, active)| (v.id, (v, active)))
        .collect();
    for (i, (id, _)) in lines.iter().enumerate() {
        let param = format!("$.line_items[{i}].id");
        let Some((v, active)) = found.get(id) else {
            return Err(ApiError::bad_request(
                "invalid_item_id",
                format!("The item ID '{id}' does not exist."),
            )
            .with_param(param));
        };
        if v.price.currency != currency {
            return Err(ApiError::bad_request(
                "unsupported_currency",
                format!(
                    "This item is sold in {}, not {}.",
                    v.price.currency, currency
                ),
            )
            .with_param("$.currency"));
        }
        if !active {
            return Err(ApiError::bad_request(
                "item_unavailable",
                format!("The item ID '{id}' is no longer for sale."),
            )
            .with_param(param));
        }
    }
    let found = found.into_iter().map(|(id, (v, _))| (id, v)).collect();
    Ok(found)
}

/// A new session that could not be stored must not keep the holds the engine took
/// for it (updates keep theirs: the session exists and its next write settles them).
async fn release_unsaved(
    state: &AppState,
    version: Option<i64>,
    merchant: MerchantId,
    session: SessionId,
    demand: &BTreeMap<VariantId, i64>,
    now_ms: i64,
    error: ApiError,
) -> ApiError {
    if let (None, HoldMode::Engine(engine)) = (version, &state.holds) {
        let held: Vec<VariantId> = demand.keys().copied().collect();
        if let Err(e) = engine
            .replace_session_holds(merchant, session, &BTreeMap::new(), &held, now_ms)
            .await
        {
            tracing::warn!(session_id = %session, error = %e, "could not release holds of an unsaved session; expiry will");
        }
    }
    error
}

fn engine_error(e: crate::inventory::EngineError) -> ApiError {
    tracing::error!(error = %e, "inventory engine failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "inventory_unavailable",
        "Stock could not be checked right now; retry shortly.",
    )
    .retry_after(1)
}

fn empty_quote() -> anycart_core::session::Quote {
    anycart_core::session::Quote {
        lines: vec![],
        fulfillment_options: vec![],
        applied_discounts: vec![],
        rejected_discounts: vec![],
        totals: anycart_core::pricing::Totals {
            items_base_minor: 0,
            discount_minor: 0,
            subtotal_minor: 0,
            fulfillment_minor: 0,
            tax_minor: 0,
            total_minor: 0,
        },
        messages: vec![],
    }
}
