//! The conformance mode's address book: the official suite expects a known
//! buyer's saved addresses offered as destinations by email, a new address
//! without an id saved, and one matching a saved address given its id. Only in
//! that mode: an open door must never show a stranger's addresses to whoever
//! types an email.

use super::state::Destination;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_core::MerchantId;
use anycart_store::UcpTestAddress;

/// A buyer's saved addresses (their ids are the book's).
pub async fn saved_destinations(
    state: &AppState,
    merchant: MerchantId,
    email: &str,
) -> Result<Vec<Destination>, ApiError> {
    let saved = state.store.ucp_test_addresses(merchant, email).await?;
    Ok(saved
        .into_iter()
        .filter_map(|a| {
            let mut d: Destination = serde_json::from_str(&a.doc).ok()?;
            d.id = Some(a.id);
            Some(d)
        })
        .collect())
}

/// Gives an id-less destination of a known buyer its id: the saved address it
/// matches, else a new one it is saved under.
pub async fn remember(
    state: &AppState,
    merchant: MerchantId,
    email: &str,
    destination: &mut Destination,
) -> Result<(), ApiError> {
    if destination.id.is_some() {
        return Ok(());
    }
    let saved = saved_destinations(state, merchant, email).await?;
    if let Some(same) = saved.iter().find(|s| s.same_place(destination)) {
        destination.id = same.id.clone();
        return Ok(());
    }
    let id = format!("addr_{}", uuid::Uuid::now_v7().simple());
    destination.id = Some(id.clone());
    let doc = serde_json::to_string(&Destination {
        id: None,
        ..destination.clone()
    })
    .unwrap_or_default();
    state
        .store
        .put_ucp_test_address(
            merchant,
            &UcpTestAddress {
                id,
                email: email.to_string(),
                doc,
            },
            state.now_ms(),
        )
        .await?;
    Ok(())
}
