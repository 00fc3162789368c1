//! Waiting rooms (see `migrations/0015_waiting_rooms.sql`): a line per hot
//! variant, first come first served, admitting shoppers as free stock allows.
//!
//! Admission is one transaction under the room's row lock ([`Store::admit`]):
//! lapse what timed out, count who is admitted, admit the next in line while
//! there is room. So however many nodes poll at once, never more shoppers are
//! admitted than there is stock for.

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::{MerchantId, VariantId};
use sqlx::AnyConnection;

/// One place in a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// `wrt_…`
    pub id: String,
    pub merchant_id: MerchantId,
    pub variant_id: VariantId,
    pub state: TicketState,
    /// Place in the order of arrival.
    pub seq: i64,
    pub joined_at_ms: i64,
    /// While admitted: until when the checkout may be started with it.
    pub admitted_until_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketState {
    Waiting,
    Admitted,
    Used,
    Lapsed,
}

impl TicketState {
    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "waiting" => Self::Waiting,
            "admitted" => Self::Admitted,
            "used" => Self::Used,
            "lapsed" => Self::Lapsed,
            other => return Err(StoreError::Corrupt(format!("ticket state {other}"))),
        })
    }
}

/// How admission works for one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Shoppers who may be admitted at once (free units ÷ the per-order cap).
    pub slots: i64,
    /// How long an admitted shopper has to start the checkout.
    pub admitted_for_ms: i64,
    /// A waiting shopper not heard from for this long has left the line.
    pub waiting_lapse_ms: i64,
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: String,
    merchant_id: String,
    variant_id: String,
    state: String,
    seq: i64,
    joined_at_ms: i64,
    admitted_until_ms: Option<i64>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> StoreResult<Self> {
        Ok(Ticket {
            id: r.id,
            merchant_id: parse_id(&r.merchant_id)?,
            variant_id: parse_id(&r.variant_id)?,
            state: TicketState::parse(&r.state)?,
            seq: r.seq,
            joined_at_ms: r.joined_at_ms,
            admitted_until_ms: r.admitted_until_ms,
        })
    }
}

const UPSERT_ROOM: &str = r"
INSERT INTO waiting_rooms (merchant_id, variant_id, created_at_ms)
VALUES ($1, $2, $3)
    ON CONFLICT (merchant_id, variant_id) DO NOTHING";

const DELETE_ROOM_TICKETS: &str = r"
DELETE FROM waiting_room_tickets
 WHERE merchant_id = $1 AND variant_id = $2";

const DELETE_ROOM: &str = r"
DELETE FROM waiting_rooms
 WHERE merchant_id = $1 AND variant_id = $2";

const SELECT_ROOMS_OF: &str = r"
SELECT variant_id
  FROM waiting_rooms
 WHERE merchant_id = $1";

const TICKET_COLUMNS: &str =
    "id, merchant_id, variant_id, state, seq, joined_at_ms, admitted_until_ms";

const SELECT_TICKET: &str = r"
SELECT id, merchant_id, variant_id, state, seq, joined_at_ms, admitted_until_ms
  FROM waiting_room_tickets
 WHERE id = $1 AND merchant_id = $2";

const SELECT_CLIENT_TICKET: &str = r"
SELECT id, merchant_id, variant_id, state, seq, joined_at_ms, admitted_until_ms
  FROM waiting_room_tickets
 WHERE merchant_id = $1 AND variant_id = $2 AND client = $3
   AND state IN ('waiting', 'admitted')";

/// The next place in line (the room's row lock orders concurrent joins).
const NEXT_SEQ: &str = r"
UPDATE waiting_rooms
   SET next_seq = next_seq + 1
 WHERE merchant_id = $1 AND variant_id = $2
RETURNING next_seq";

const INSERT_TICKET: &str = r"
INSERT INTO waiting_room_tickets (id, merchant_id, variant_id, client, state, seq,
                                  joined_at_ms, seen_at_ms)
VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $6)";

const TOUCH_TICKET: &str = r"
UPDATE waiting_room_tickets
   SET seen_at_ms = $1
 WHERE id = $2 AND merchant_id = $3 AND state = 'waiting'";

/// The room's row, written first in an admission pass: the row lock the update
/// takes on PostgreSQL makes passes of one room take turns until they commit
/// (SQLite has one writer anyway).
const LOCK_ROOM: &str = r"
UPDATE waiting_rooms
   SET admissions = admissions + 1
 WHERE merchant_id = $1 AND variant_id = $2";

const LAPSE_TICKETS: &str = r"
UPDATE waiting_room_tickets
   SET state = 'lapsed'
 WHERE merchant_id = $1 AND variant_id = $2
   AND ((state = 'admitted' AND admitted_until_ms <= $3)
        OR (state = 'waiting' AND seen_at_ms <= $4))";

const COUNT_ADMITTED: &str = r"
SELECT COUNT(*)
  FROM waiting_room_tickets
 WHERE merchant_id = $1 AND variant_id = $2 AND state = 'admitted'";

const ADMIT_NEXT: &str = r"
UPDATE waiting_room_tickets
   SET state = 'admitted', admitted_until_ms = $1
 WHERE id IN (
       SELECT id
         FROM waiting_room_tickets
        WHERE merchant_id = $2 AND variant_id = $3 AND state = 'waiting'
        ORDER BY seq
        LIMIT $4)";

const COUNT_AHEAD: &str = r"
SELECT COUNT(*)
  FROM waiting_room_tickets
 WHERE merchant_id = $1 AND variant_id = $2 AND state = 'waiting' AND seq < $3";

const USE_TICKET: &str = r"
UPDATE waiting_room_tickets
   SET state = 'used'
 WHERE id = $1 AND merchant_id = $2 AND variant_id = $3
   AND state = 'admitted' AND admitted_until_ms > $4";

impl Store {
    /// Puts `variant` behind a waiting room, or (with `on` false) opens it again;
    /// closing a room drops its line.
    pub async fn set_waiting_room(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        on: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        if on {
            sqlx::query(UPSERT_ROOM)
                .bind(merchant.to_string())
                .bind(variant.to_string())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        } else {
            for sql in [DELETE_ROOM_TICKETS, DELETE_ROOM] {
                sqlx::query(sql)
                    .bind(merchant.to_string())
                    .bind(variant.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The variants of `merchant` behind a waiting room.
    pub async fn waiting_rooms(&self, merchant: MerchantId) -> StoreResult<Vec<VariantId>> {
        let rows: Vec<String> = sqlx::query_scalar(SELECT_ROOMS_OF)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|v| parse_id(v)).collect()
    }

    /// Joins the line for `variant` (or finds the client's place in it).
    pub async fn join_waiting_room(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        client: Option<&str>,
        id: &str,
        now_ms: i64,
    ) -> StoreResult<Ticket> {
        let mut tx = self.write.begin().await?;
        if let Some(client) = client
            && let Some(existing) = sqlx::query_as::<_, TicketRow>(SELECT_CLIENT_TICKET)
                .bind(merchant.to_string())
                .bind(variant.to_string())
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?
        {
            tx.commit().await?;
            return existing.try_into();
        }
        let seq: i64 = sqlx::query_scalar(NEXT_SEQ)
            .bind(merchant.to_string())
            .bind(variant.to_string())
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(INSERT_TICKET)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .bind(variant.to_string())
            .bind(client.map(String::from))
            .bind(seq)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let ticket = ticket_in(&mut tx, merchant, id).await?;
        tx.commit().await?;
        ticket.ok_or(StoreError::NotFound)
    }

    /// One admission pass for the ticket's room, then the ticket as it stands and
    /// how many wait ahead of it.
    pub async fn admit(
        &self,
        merchant: MerchantId,
        ticket: &str,
        rule: Admission,
        now_ms: i64,
    ) -> StoreResult<Option<(Ticket, i64)>> {
        let mut tx = self.write.begin().await?;
        let Some(t) = ticket_in(&mut tx, merchant, ticket).await? else {
            return Ok(None);
        };
        let (m, v) = (merchant.to_string(), t.variant_id.to_string());
        // The room first: every pass locks in the same order (room, then tickets),
        // so concurrent passes queue instead of deadlocking.
        sqlx::query(LOCK_ROOM)
            .bind(m.clone())
            .bind(v.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(TOUCH_TICKET)
            .bind(now_ms)
            .bind(ticket.to_string())
            .bind(m.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(LAPSE_TICKETS)
            .bind(m.clone())
            .bind(v.clone())
            .bind(now_ms)
            .bind(now_ms - rule.waiting_lapse_ms)
            .execute(&mut *tx)
            .await?;
        let admitted: i64 = sqlx::query_scalar(COUNT_ADMITTED)
            .bind(m.clone())
            .bind(v.clone())
            .fetch_one(&mut *tx)
            .await?;
        let room = rule.slots - admitted;
        if room > 0 {
            sqlx::query(ADMIT_NEXT)
                .bind(now_ms + rule.admitted_for_ms)
                .bind(m.clone())
                .bind(v.clone())
                .bind(room)
                .execute(&mut *tx)
                .await?;
        }
        let Some(t) = ticket_in(&mut tx, merchant, ticket).await? else {
            return Ok(None);
        };
        let ahead: i64 = sqlx::query_scalar(COUNT_AHEAD)
            .bind(m)
            .bind(v)
            .bind(t.seq)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((t, ahead)))
    }

    /// One ticket of `merchant`, as it stands.
    pub async fn waiting_room_ticket(
        &self,
        merchant: MerchantId,
        id: &str,
    ) -> StoreResult<Option<Ticket>> {
        let mut conn = self.read.acquire().await?;
        ticket_in(&mut conn, merchant, id).await
    }

    /// Spends an admitted ticket on a checkout of `variant`. False when it is not
    /// admitted (any more), or for another variant.
    pub async fn use_waiting_room_ticket(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        ticket: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(USE_TICKET)
            .bind(ticket.to_string())
            .bind(merchant.to_string())
            .bind(variant.to_string())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn ticket_in(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    id: &str,
) -> StoreResult<Option<Ticket>> {
    debug_assert!(SELECT_TICKET.contains(TICKET_COLUMNS));
    sqlx::query_as::<_, TicketRow>(SELECT_TICKET)
        .bind(id.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(Ticket::try_from)
        .transpose()
}
