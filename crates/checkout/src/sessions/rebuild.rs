//! Rebuilding a session: re-read the catalogue for its lines, merge the input,
//! apply per-buyer limits, take the holds and re-price, then store it — so what the
//! shopper sees, what is held and what will be charged always agree.

use super::{LineRequest, SessionInput};
use crate::error::{CheckoutError, CheckoutResult};
use crate::merchant_config::MerchantConfig;
use crate::{CheckoutService, HoldMode};
use anycart_core::catalogue::Variant;
use anycart_core::inventory::demand_by_variant;
use anycart_core::pricing::{Discount, ShippingZone, TaxRate};
use anycart_core::quote::{BUYER_LIMIT_WINDOW_MS, QuoteInput, evaluate, over_limit};
use anycart_core::session::{
    CheckoutSession, CheckoutStatus, Event, Message, SESSION_LIFETIME_MS_MAX, SessionLine,
    WarningCode,
};
use anycart_core::{Currency, LineItemId, MerchantId, SessionId, VariantId};
use anycart_store::{HoldChange, HoldOutcome, SessionWrite};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Units per variant.
type Units = BTreeMap<VariantId, i64>;

/// A buyer's units elsewhere, counted under their lock (held while this lives).
struct BuyerLimits<'a> {
    _guard: Option<tokio::sync::MutexGuard<'a, ()>>,
    units: Units,
}

/// The merchant's pricing rules, read once per rebuild (shared with the
/// merchant's cached configuration).
struct PricingRules {
    zones: Arc<Vec<ShippingZone>>,
    tax_rates: Arc<Vec<TaxRate>>,
    discounts: Arc<Vec<Discount>>,
}

impl CheckoutService {
    /// Re-reads the catalogue for `lines`, merges `input`, re-takes the holds and
    /// re-prices, and stores the result. `version` is `None` for a new session;
    /// `config` is the merchant's configuration for this request. With `stored`
    /// (the session as stored at `version`, about to be paid), a rebuild that
    /// changes nothing but its clocks is not written when the session has time
    /// left (see [`unchanged_enough`]), and when its holds last through the
    /// payment they are not taken again either.
    pub(super) async fn rebuild(
        &self,
        config: &MerchantConfig,
        mut session: CheckoutSession,
        version: Option<i64>,
        lines: Vec<LineRequest>,
        input: SessionInput,
        stored: Option<&CheckoutSession>,
    ) -> CheckoutResult<(CheckoutSession, i64)> {
        let merchant = session.merchant_id;
        let now = self.now_ms();
        let variants = self
            .load_variants(config, merchant, session.currency, &lines)
            .await?;
        let previously: Vec<VariantId> = session.lines.iter().map(|l| l.variant_id).collect();
        let price_changed = set_lines(&mut session, &lines, &variants);
        apply_input(&mut session, input);
        session.payment_message = None;
        session.updated_at_ms = now;
        // An anonymous shopper's holds last a short while; an email, or a TV
        // handing the session to the shopper's phone, buys the full TTL.
        let ttl_ms = if session.is_anonymous() && session.client.is_some() && !session.handed_off {
            self.config.anonymous_ttl_ms.min(self.config.session_ttl_ms)
        } else {
            self.config.session_ttl_ms
        };
        session.expires_at_ms = (now + ttl_ms).min(session.created_at_ms + SESSION_LIFETIME_MS_MAX);
        let rules = self.pricing_rules(config, merchant).await?;

        // Per-buyer limits: what this buyer has elsewhere counts against each
        // variant's `max_quantity_per_order`, and an over-limit variant is not
        // held. The buyer's lock is kept until the session (and its holds) are written.
        let limits = self.buyer_limits(&session, now).await?;
        let mut demand = demand_by_variant(&lines);
        let over = over_limit(&session.lines, &limits.units);
        demand.retain(|variant, _| !over.contains(variant));
        let buyer_units = limits.units.clone();
        // Whether, priced against `pool`, the session is `stored` but for its clocks.
        let unchanged_against = |pool: &Units, stored: &CheckoutSession| {
            let pricing = Pricing {
                pool,
                rules: &rules,
                buyer_units: &buyer_units,
                now_ms: now,
                price_changed,
            };
            let priced = price(session.clone(), &pricing)?;
            CheckoutResult::Ok(unchanged_enough(&priced, stored, now, ttl_ms))
        };
        if let (Some(version), Some(stored)) = (version, stored)
            && self.holds_last_through_payment(stored, now)
            // Paying next, from holds that are still there and outlive the
            // payment: priced as before against the stock the session last saw,
            // it is not written and its holds are not taken again.
            && unchanged_against(&stored_availability(stored), stored)?
        {
            metrics::counter!("anycart_checkout_writes_skipped_total").increment(1);
            metrics::counter!("anycart_checkout_hold_refreshes_skipped_total").increment(1);
            return Ok((stored.clone(), version));
        }
        let (holds, engine_pool) = self
            .take_holds(&session, &demand, &previously, version.is_none())
            .await?;
        if let (Some(version), Some(pool), Some(stored)) = (version, &engine_pool, stored)
            && unchanged_against(pool, stored)?
        {
            metrics::counter!("anycart_checkout_writes_skipped_total").increment(1);
            return Ok((stored.clone(), version));
        }
        let session_id = session.id;
        let write = SessionWrite {
            merchant,
            session: session.id,
            expected_version: version,
            holds,
        };
        let written = self
            .store
            .write_session(write, now, move |store_outcomes| {
                let pool = engine_pool.unwrap_or_else(|| available_of(store_outcomes));
                price(
                    session,
                    &Pricing {
                        pool: &pool,
                        rules: &rules,
                        buyer_units: &buyer_units,
                        now_ms: now,
                        price_changed,
                    },
                )
            })
            .await
            .map_err(CheckoutError::from)
            .and_then(|inner| inner);
        match written {
            Ok((stored, version)) => {
                metrics::counter!("anycart_checkout_writes_total", "status" => stored.status.as_str())
                    .increment(1);
                Ok((stored, version))
            }
            Err(failed) => {
                if version.is_none() {
                    self.release_unsaved(merchant, session_id, &demand, now)
                        .await;
                }
                Err(failed)
            }
        }
    }

    /// What the session's buyer holds elsewhere and ordered lately, per variant,
    /// under the buyer's lock, when any line has a per-customer limit.
    async fn buyer_limits(
        &self,
        session: &CheckoutSession,
        now_ms: i64,
    ) -> CheckoutResult<BuyerLimits<'_>> {
        let Some(key) = limited_buyer_key(session) else {
            return Ok(BuyerLimits {
                _guard: None,
                units: Units::new(),
            });
        };
        let guard = self.buyer_lock(session.merchant_id, &key).await;
        let mut units = self
            .store
            .buyer_units(
                session.merchant_id,
                &key,
                session.id,
                now_ms - BUYER_LIMIT_WINDOW_MS,
            )
            .await?;
        if session.is_anonymous() {
            share_anonymous_allowance(&mut units, session);
        }
        Ok(BuyerLimits {
            _guard: Some(guard),
            units,
        })
    }

    /// The merchant's variants for `lines`, checked: known, on sale, right currency.
    async fn load_variants(
        &self,
        config: &MerchantConfig,
        merchant: MerchantId,
        currency: Currency,
        lines: &[LineRequest],
    ) -> CheckoutResult<HashMap<VariantId, Variant>> {
        let mut ids: Vec<VariantId> = lines.iter().map(|(v, _)| *v).collect();
        ids.sort();
        ids.dedup();
        let found = config.variants(&self.store, merchant, &ids).await?;
        for (line, (id, _)) in lines.iter().enumerate() {
            let Some((v, active)) = found.get(id) else {
                return Err(CheckoutError::UnknownItem { line, id: *id });
            };
            if v.price.currency != currency {
                return Err(CheckoutError::WrongCurrency {
                    sold_in: v.price.currency,
                    requested: currency,
                });
            }
            if !active {
                return Err(CheckoutError::ItemUnavailable { line, id: *id });
            }
        }
        Ok(found.into_iter().map(|(id, (v, _))| (id, v)).collect())
    }

    async fn pricing_rules(
        &self,
        config: &MerchantConfig,
        merchant: MerchantId,
    ) -> CheckoutResult<PricingRules> {
        Ok(PricingRules {
            zones: config.zones(&self.store, merchant).await?,
            tax_rates: config.tax_rates(&self.store, merchant).await?,
            discounts: config.discounts(&self.store, merchant).await?,
        })
    }

    /// True when `stored` (a session about to be paid) still has the engine's
    /// holds on all its lines and they outlive a payment: it is ready (every
    /// line held in full), no decline gave its stock back since, and it has at
    /// least [`PAYMENT_WINDOW_MS`] to run (its holds expire no earlier than it
    /// does). Taking them again would only move their expiry. Should they be gone
    /// all the same, the order's transaction finds that out and the payment is
    /// given back. (Today the decline is also caught further on: its message,
    /// which every rebuild clears, makes the session differ from the stored one.
    /// The explicit check keeps that from resting on how messages are handled.)
    fn holds_last_through_payment(&self, stored: &CheckoutSession, now_ms: i64) -> bool {
        matches!(self.holds, HoldMode::Engine(_))
            && stored.status == CheckoutStatus::ReadyForPayment
            && !stored.holds_released_by_decline()
            && stored.expires_at_ms - now_ms >= PAYMENT_WINDOW_MS
    }

    /// Makes the session hold `demand`: through the engine now (the session write
    /// then keeps the holds), or as part of the session's own write. Returns the
    /// write's hold change and, from the engine, the free stock per variant.
    /// `new_session`: this request creates the session (it holds nothing yet).
    async fn take_holds(
        &self,
        session: &CheckoutSession,
        demand: &Units,
        previously: &[VariantId],
        new_session: bool,
    ) -> CheckoutResult<(HoldChange, Option<Units>)> {
        match &self.holds {
            HoldMode::Engine(engine) => {
                let outcomes = engine
                    .replace_session_holds(
                        session.merchant_id,
                        session.id,
                        demand,
                        previously,
                        session.expires_at_ms,
                        new_session,
                    )
                    .await?;
                let pool = outcomes
                    .into_iter()
                    .map(|(v, o)| (v, o.available))
                    .collect();
                Ok((HoldChange::Keep, Some(pool)))
            }
            HoldMode::PerRequest => Ok((
                HoldChange::Replace {
                    demand: demand.clone(),
                    expires_at_ms: session.expires_at_ms,
                },
                None,
            )),
        }
    }

    /// A new session that could not be stored must not keep the holds the engine
    /// took for it (updates keep theirs: the session exists and its next write
    /// settles them). A failure is logged: expiry releases them anyway.
    async fn release_unsaved(
        &self,
        merchant: MerchantId,
        session: SessionId,
        demand: &Units,
        now_ms: i64,
    ) {
        let HoldMode::Engine(engine) = &self.holds else {
            return;
        };
        let held: Vec<VariantId> = demand.keys().copied().collect();
        if let Err(e) = engine
            .replace_session_holds(merchant, session, &Units::new(), &held, now_ms, false)
            .await
        {
            tracing::warn!(session_id = %session, error = %e, "could not release holds of an unsaved session; expiry will");
        }
    }
}

/// Replaces the session's lines with `lines` as the catalogue describes them now,
/// keeping line ids of variants it already had. True when a price moved.
fn set_lines(
    session: &mut CheckoutSession,
    lines: &[LineRequest],
    variants: &HashMap<VariantId, Variant>,
) -> bool {
    let previous: HashMap<VariantId, (LineItemId, i64)> = session
        .lines
        .iter()
        .map(|l| (l.variant_id, (l.id, l.unit_price.amount_minor)))
        .collect();
    session.lines = lines
        .iter()
        .filter_map(|(variant_id, quantity)| {
            let v = variants.get(variant_id)?;
            Some(SessionLine {
                id: previous
                    .get(variant_id)
                    .map_or_else(LineItemId::new, |(id, _)| *id),
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
            })
        })
        .collect();
    // Repeated variants would share one line id; give duplicates their own.
    let mut seen = HashSet::new();
    for line in &mut session.lines {
        if !seen.insert(line.id) {
            line.id = LineItemId::new();
        }
    }
    session.lines.iter().any(|l| {
        previous
            .get(&l.variant_id)
            .is_some_and(|(_, price)| *price != l.unit_price.amount_minor)
    })
}

/// True when `rebuilt` is `stored` but for its clocks and `stored` still has at
/// least half a lifetime (`ttl_ms`) to run: writing it would only move its
/// expiry, which the next write (the order, a decline) does anyway. Its holds
/// outlive it: re-taken by the engine with the later expiry, or left as they
/// were (they expire no earlier than the stored session).
fn unchanged_enough(
    rebuilt: &CheckoutSession,
    stored: &CheckoutSession,
    now_ms: i64,
    ttl_ms: i64,
) -> bool {
    if stored.expires_at_ms - now_ms < ttl_ms / 2 {
        return false;
    }
    let mut same_clocks = rebuilt.clone();
    same_clocks.updated_at_ms = stored.updated_at_ms;
    same_clocks.expires_at_ms = stored.expires_at_ms;
    same_clocks == *stored
}

/// Merges the shopper's or agent's changes into the session.
fn apply_input(session: &mut CheckoutSession, input: SessionInput) {
    if let Some(b) = input.buyer {
        session.buyer = std::mem::take(&mut session.buyer).merged(b);
    }
    if let Some(f) = input.fulfillment {
        session.fulfillment = if input.replace_fulfillment {
            f
        } else {
            std::mem::take(&mut session.fulfillment).merged(f)
        };
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
    if let Some(r) = input.requirements {
        session.requirements = r;
    }
    if input.door_state.is_some() {
        session.door_state = input.door_state;
    }
}

/// The buyer whose per-customer limits apply to this session, if any line has
/// one: the shopper's email, or until they give one, the client that opened it.
fn limited_buyer_key(session: &CheckoutSession) -> Option<String> {
    let limited = session
        .lines
        .iter()
        .any(|l| l.max_quantity_per_order.is_some());
    session.buyer_key().filter(|_| limited)
}

/// How many shoppers may share one anonymous client (an office or a mobile
/// carrier behind one address, on the same placement): together they may hold
/// this many times a variant's per-customer limit before giving an email.
pub const ANONYMOUS_CLIENT_SHARE: i64 = 3;

/// Lets an anonymous client hold up to [`ANONYMOUS_CLIENT_SHARE`] × the limit
/// across its checkouts: what it holds elsewhere counts only past the shared part.
fn share_anonymous_allowance(units: &mut Units, session: &CheckoutSession) {
    for line in &session.lines {
        if let (Some(cap), Some(elsewhere)) =
            (line.max_quantity_per_order, units.get_mut(&line.variant_id))
        {
            let shared = i64::from(cap) * (ANONYMOUS_CLIENT_SHARE - 1);
            *elsewhere = (*elsewhere - shared).max(0);
        }
    }
}

/// How long a session's holds must still run for a complete to pay from them
/// without taking them again: a provider call with its retries (Stripe's
/// request timeout is 10 s) and the order's write, with room to spare.
pub const PAYMENT_WINDOW_MS: i64 = 60_000;

/// Free stock per variant as `session` was last priced against: the
/// availability of each variant's first line (later lines of the same variant
/// were given what the earlier ones left, see [`price`]).
fn stored_availability(session: &CheckoutSession) -> Units {
    let mut pool = Units::new();
    for line in &session.lines {
        pool.entry(line.variant_id).or_insert(line.available);
    }
    pool
}

/// Free stock per variant as the session's own write reported it.
fn available_of(outcomes: &BTreeMap<VariantId, HoldOutcome>) -> Units {
    outcomes.iter().map(|(v, o)| (*v, o.available)).collect()
}

/// What a session is priced against.
struct Pricing<'a> {
    /// Free stock per variant, the session's own holds included.
    pool: &'a Units,
    rules: &'a PricingRules,
    /// What the buyer has elsewhere, per variant (for per-customer limits).
    buyer_units: &'a Units,
    now_ms: i64,
    /// A unit price moved since the session last saw it.
    price_changed: bool,
}

/// Prices the session against the stock it could hold: lines learn what is
/// available to them, the quote is evaluated and the status follows from it.
fn price(mut session: CheckoutSession, p: &Pricing<'_>) -> CheckoutResult<CheckoutSession> {
    let Pricing {
        pool,
        rules,
        buyer_units,
        now_ms,
        price_changed,
    } = *p;
    // Repeated lines of one variant share its pool, in basket order.
    let mut taken = Units::new();
    for line in &mut session.lines {
        let free = pool.get(&line.variant_id).copied().unwrap_or(0);
        let before = taken.entry(line.variant_id).or_insert(0);
        line.available = (free - *before).max(0);
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
        zones: &rules.zones,
        tax_rates: &rules.tax_rates,
        discounts: &rules.discounts,
        now_ms,
        buyer_units,
        requirements: session.requirements,
    })
    .map_err(|e| CheckoutError::AmountOutOfRange(e.to_string()))?;
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
    super::apply(&mut session, Event::Evaluated { ready })?;
    Ok(session)
}
