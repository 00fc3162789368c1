//! A checkout session's life: create, update, get, complete, cancel, expire.
//!
//! Every change goes through [`rebuild`](rebuild::rebuild) (re-read the catalogue,
//! re-take the holds, re-price, store, all consistent) or through a status event
//! of `anycart_core::session` written with [`CheckoutService::write`]. Payment calls
//! happen between transactions and are made idempotent by a provider key derived
//! from the session (`{session}-{attempt}`), see [`complete`].

mod complete;
mod rebuild;

pub(crate) use complete::Authorized;
pub use complete::PaymentInput;

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, Resource};
use anycart_core::attribution::Attribution;
use anycart_core::session::{Buyer, CheckoutSession, Event, Fulfillment, Requirements};
use anycart_core::{Currency, MerchantId, Quantity, SessionId, ShippingRateId, VariantId};
use anycart_store::{HoldChange, SessionWrite};

/// A requested line: which variant, how many.
pub type LineRequest = (VariantId, Quantity);

/// What the shopper or agent wants to change. Absent fields are unchanged; a set
/// `buyer` or `fulfillment` is merged field by field into what the session has.
#[derive(Clone, Debug, Default)]
pub struct SessionInput {
    /// The whole basket, when it changes.
    pub lines: Option<Vec<LineRequest>>,
    pub buyer: Option<Buyer>,
    pub fulfillment: Option<Fulfillment>,
    pub selected_shipping: Option<ShippingRateId>,
    /// Discount codes and whether they came in the deprecated `coupons` field.
    pub codes: Option<(Vec<String>, bool)>,
    pub locale: Option<String>,
    pub client_interventions: Option<Vec<String>>,
    /// Where the sale comes from; taken at creation only (an update cannot
    /// re-attribute a sale).
    pub attribution: Option<Attribution>,
    /// Who is asking (see [`crate::throttle::ClientId`]); taken at creation only.
    pub client: Option<crate::throttle::ClientId>,
    /// An admitted waiting-room ticket (`wrt_…`), spent on the lines of a variant
    /// behind a waiting room.
    pub waiting_room_ticket: Option<String>,
    /// `fulfillment` replaces the session's details instead of being merged into
    /// them (a door whose protocol sends the whole fulfillment every time, and may
    /// take an address away).
    pub replace_fulfillment: bool,
    /// What must be known before payment besides the lines (the door's rule; set
    /// when the session is created).
    pub requirements: Option<Requirements>,
    /// The door's own state, stored with the session (see
    /// [`CheckoutSession::door_state`]).
    pub door_state: Option<serde_json::Value>,
}

impl CheckoutService {
    /// Creates a session for `lines`, holding their stock.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id))]
    pub async fn create(
        &self,
        merchant: MerchantId,
        currency: Currency,
        lines: Vec<LineRequest>,
        input: SessionInput,
    ) -> CheckoutResult<CheckoutSession> {
        if let Some(client) = &input.client {
            self.throttle(crate::throttle::Action::CreateSession, client)?;
        }
        let asked: Vec<(usize, VariantId)> = lines
            .iter()
            .enumerate()
            .map(|(i, (v, _))| (i, *v))
            .collect();
        let config = self.merchant_config(merchant).await?;
        self.pass_waiting_rooms(
            &config,
            merchant,
            &asked,
            input.waiting_room_ticket.as_deref(),
        )
        .await?;
        let mut session = CheckoutSession::new(merchant, currency, self.now_ms());
        session.attribution = input.attribution.clone();
        session.client = input.client.as_ref().map(|c| c.as_str().to_string());
        tracing::Span::current().record("session_id", tracing::field::display(session.id));
        Ok(self
            .rebuild(&config, session, None, lines, input, None)
            .await?
            .0)
    }

    /// Applies an update and re-prices and re-holds. A changed session needs a
    /// fresh payment, so a pending one is dropped.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub async fn update(
        &self,
        merchant: MerchantId,
        id: SessionId,
        input: SessionInput,
    ) -> CheckoutResult<CheckoutSession> {
        let (mut session, version) = self.load_live(merchant, id).await?;
        if session.status.is_terminal() {
            return Err(CheckoutError::SessionEnded(session.status));
        }
        let lines = input
            .lines
            .clone()
            .unwrap_or_else(|| current_lines(&session));
        // A variant behind a waiting room cannot be added later without its ticket.
        let added: Vec<(usize, VariantId)> = lines
            .iter()
            .enumerate()
            .filter(|(_, (v, _))| !session.lines.iter().any(|l| l.variant_id == *v))
            .map(|(i, (v, _))| (i, *v))
            .collect();
        let config = self.merchant_config(merchant).await?;
        if !added.is_empty() {
            self.pass_waiting_rooms(
                &config,
                merchant,
                &added,
                input.waiting_room_ticket.as_deref(),
            )
            .await?;
        }
        session.pending_payment = None;
        session.payment_attempt += 1;
        Ok(self
            .rebuild(&config, session, Some(version), lines, input, None)
            .await?
            .0)
    }

    /// Marks a live session as handed off to the shopper's phone and renews its
    /// holds for the full session TTL (see [`CheckoutSession::handed_off`]): the
    /// TV's short anonymous hold must not run out while the shopper picks up
    /// their phone. Re-held and re-priced like any update, so what is held and
    /// what will be charged still agree.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub(crate) async fn hand_off(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> CheckoutResult<CheckoutSession> {
        let (mut session, version) = self.load_live(merchant, id).await?;
        if session.status.is_terminal() {
            return Err(CheckoutError::SessionEnded(session.status));
        }
        session.handed_off = true;
        session.pending_payment = None;
        session.payment_attempt += 1;
        let lines = current_lines(&session);
        let config = self.merchant_config(merchant).await?;
        Ok(self
            .rebuild(
                &config,
                session,
                Some(version),
                lines,
                SessionInput::default(),
                None,
            )
            .await?
            .0)
    }

    /// Reads a session, expiring it first if its time has passed.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub async fn get(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> CheckoutResult<CheckoutSession> {
        Ok(self.load_live(merchant, id).await?.0)
    }

    /// Cancels a session and gives its stock back.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub async fn cancel(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> CheckoutResult<CheckoutSession> {
        let (mut session, version) = self.load_live(merchant, id).await?;
        if session.status.is_terminal() {
            return Err(CheckoutError::NotCancelable(session.status));
        }
        apply(&mut session, Event::Cancel)?;
        session.updated_at_ms = self.now_ms();
        self.void_pending(&session).await;
        session.pending_payment = None;
        self.write(session, version, HoldChange::ReleaseAll).await
    }

    /// Expires one session whose time has passed (used by reads and by the sweeper).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %id))]
    pub async fn expire(&self, merchant: MerchantId, id: SessionId) -> CheckoutResult<()> {
        let Some((mut session, version)) = self.store.get_session(merchant, id).await? else {
            return Ok(());
        };
        if session.status.is_terminal() || session.expires_at_ms > self.now_ms() {
            return Ok(());
        }
        apply(&mut session, Event::Expire)?;
        self.void_pending(&session).await;
        session.pending_payment = None;
        match self.write(session, version, HoldChange::ReleaseAll).await {
            // Someone else moved it first (completed, updated, expired): nothing to do.
            Ok(_) | Err(CheckoutError::ConcurrentUpdate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Voids the session's pending (3-D Secure) authorisation, if any. A failure is
    /// logged, not returned: the provider expires authorisations on its own.
    async fn void_pending(&self, session: &CheckoutSession) {
        let Some(p) = &session.pending_payment else {
            return;
        };
        let name = crate::payment_providers::provider_of_handler(&p.handler_id);
        let provider = match self.provider_named(session.merchant_id, name).await {
            Ok(live) => live,
            Err(e) => {
                tracing::warn!(session_id = %session.id, error = %e, "could not void a pending payment");
                return;
            }
        };
        if let Err(e) = provider.provider.void(&p.provider_reference).await {
            tracing::warn!(session_id = %session.id, error = %e, "could not void a pending payment");
        }
    }

    /// Loads a session of `merchant`, expiring it first when its time is up.
    async fn load_live(
        &self,
        merchant: MerchantId,
        id: SessionId,
    ) -> CheckoutResult<(CheckoutSession, i64)> {
        let not_found = || CheckoutError::NotFound(Resource::CheckoutSession);
        let (session, version) = self
            .store
            .get_session(merchant, id)
            .await?
            .ok_or_else(not_found)?;
        if session.status.is_terminal() || session.expires_at_ms > self.now_ms() {
            return Ok((session, version));
        }
        self.expire(merchant, id).await?;
        self.store
            .get_session(merchant, id)
            .await?
            .ok_or_else(not_found)
    }

    /// Stores `session` as it is, if nobody changed it since `version`.
    async fn write(
        &self,
        session: CheckoutSession,
        version: i64,
        holds: HoldChange,
    ) -> CheckoutResult<CheckoutSession> {
        let write = SessionWrite {
            merchant: session.merchant_id,
            session: session.id,
            expected_version: Some(version),
            holds,
        };
        let (stored, _) = self
            .store
            .write_session(write, self.now_ms(), |_| Ok::<_, CheckoutError>(session))
            .await??;
        Ok(stored)
    }
}

/// Moves `session` through the status machine or says why it cannot move.
fn apply(session: &mut CheckoutSession, event: Event) -> CheckoutResult<()> {
    session
        .apply(event)
        .map_err(|_| CheckoutError::SessionEnded(session.status))
}

/// The session's basket as requested lines.
fn current_lines(session: &CheckoutSession) -> Vec<LineRequest> {
    session
        .lines
        .iter()
        .map(|l| (l.variant_id, l.quantity))
        .collect()
}
