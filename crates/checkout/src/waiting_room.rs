//! A fair waiting room for hot variants (a drop): shoppers join a line, first
//! come first served, see their place, and are admitted to check out while there
//! is stock for them. A checkout of a variant behind a waiting room needs an
//! admitted ticket, spent when the checkout starts: nobody skips the line, not
//! even with a secret key.
//!
//! Admission is a pass under the room's lock (see `anycart_store::Store::admit`),
//! run whenever a shopper asks where they stand: as many shoppers are admitted as
//! the free stock serves at the variant's per-customer limit. An admitted shopper
//! has [`ADMITTED_FOR_MS`] to start the checkout; a waiting one who stops asking
//! for [`WAITING_LAPSE_MS`] has left the line.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, Resource};
use crate::throttle::{Action, ClientId};
use anycart_core::{MerchantId, VariantId};
use anycart_store::{Admission, Ticket, TicketState};

/// How long an admitted shopper has to start the checkout.
pub const ADMITTED_FOR_MS: i64 = 60_000;
/// A waiting shopper not heard from for this long has left the line.
pub const WAITING_LAPSE_MS: i64 = 30_000;
/// How often the widget asks where it stands (well inside the lapse).
pub const POLL_INTERVAL_MS: i64 = 2_000;
const _: () = assert!(POLL_INTERVAL_MS * 5 <= WAITING_LAPSE_MS);

/// A shopper's place in a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub ticket: String,
    pub variant_id: VariantId,
    /// 1 for the next in line; 0 once admitted (or done).
    pub position: i64,
    /// Admitted: start the checkout (with the ticket) before this instant.
    pub admitted_until_ms: Option<i64>,
    pub state: TicketState,
}

impl CheckoutService {
    /// Puts a variant behind a waiting room, or opens it again.
    pub async fn set_waiting_room(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        on: bool,
    ) -> CheckoutResult<()> {
        if self
            .store
            .get_variants(merchant, &[variant])
            .await?
            .is_empty()
        {
            return Err(CheckoutError::NotFound(Resource::Variant));
        }
        self.store
            .set_waiting_room(merchant, variant, on, self.now_ms())
            .await?;
        Ok(())
    }

    /// Joins the line for `variant` (a client joining twice keeps its place).
    pub async fn join_waiting_room(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        client: Option<&ClientId>,
    ) -> CheckoutResult<Place> {
        if let Some(client) = client {
            self.throttle(Action::CreateSession, client)?;
        }
        if !self.store.waiting_rooms(merchant).await?.contains(&variant) {
            return Err(CheckoutError::NoWaitingRoom);
        }
        let id = format!("wrt_{}", crate::keys::random_token());
        let ticket = self
            .store
            .join_waiting_room(
                merchant,
                variant,
                client.map(ClientId::as_str),
                &id,
                self.now_ms(),
            )
            .await?;
        self.waiting_room_place(merchant, &ticket.id).await
    }

    /// Where a ticket stands, after admitting whoever stock allows.
    pub async fn waiting_room_place(
        &self,
        merchant: MerchantId,
        ticket: &str,
    ) -> CheckoutResult<Place> {
        let not_found = || CheckoutError::NotFound(Resource::WaitingRoomTicket);
        if !ticket.starts_with("wrt_") || ticket.len() > 64 {
            return Err(not_found());
        }
        let current = self
            .store
            .waiting_room_ticket(merchant, ticket)
            .await?
            .ok_or_else(not_found)?;
        let rule = Admission {
            slots: self.admission_slots(merchant, current.variant_id).await?,
            admitted_for_ms: ADMITTED_FOR_MS,
            waiting_lapse_ms: WAITING_LAPSE_MS,
        };
        let (ticket, ahead) = self
            .store
            .admit(merchant, ticket, rule, self.now_ms())
            .await?
            .ok_or_else(not_found)?;
        Ok(place_of(ticket, ahead))
    }

    /// Shoppers the free stock serves at once, at the variant's per-customer limit.
    async fn admission_slots(
        &self,
        merchant: MerchantId,
        variant: VariantId,
    ) -> CheckoutResult<i64> {
        let free = self
            .store
            .available_by_variant(&[variant])
            .await?
            .get(&variant)
            .copied()
            .unwrap_or(0);
        let cap = self
            .store
            .get_variants(merchant, &[variant])
            .await?
            .first()
            .and_then(|v| v.max_quantity_per_order)
            .map_or(1, i64::from);
        Ok(if free <= 0 {
            0
        } else {
            (free / cap.max(1)).max(1)
        })
    }

    /// A checkout of `variants` may start: each one behind a waiting room needs
    /// the admitted `ticket`, which is spent on it.
    pub(crate) async fn pass_waiting_rooms(
        &self,
        config: &crate::merchant_config::MerchantConfig,
        merchant: MerchantId,
        variants: &[(usize, VariantId)],
        ticket: Option<&str>,
    ) -> CheckoutResult<()> {
        let rooms = config.rooms(&self.store, merchant).await?;
        for (line, variant) in variants.iter().filter(|(_, v)| rooms.contains(v)) {
            let spent = match ticket {
                Some(t) => {
                    self.store
                        .use_waiting_room_ticket(merchant, *variant, t, self.now_ms())
                        .await?
                }
                None => false,
            };
            if !spent {
                return Err(CheckoutError::WaitingRoomRequired {
                    line: *line,
                    id: *variant,
                });
            }
        }
        Ok(())
    }
}

fn place_of(ticket: Ticket, ahead: i64) -> Place {
    let waiting = ticket.state == TicketState::Waiting;
    Place {
        position: if waiting { ahead + 1 } else { 0 },
        admitted_until_ms: (ticket.state == TicketState::Admitted)
            .then_some(ticket.admitted_until_ms)
            .flatten(),
        state: ticket.state,
        variant_id: ticket.variant_id,
        ticket: ticket.id,
    }
}
