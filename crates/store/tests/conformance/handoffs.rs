//! Hand-off codes: the first phone's claim wins, even when phones race; the same
//! phone may come back; expired and unknown codes are told apart; a session has
//! one current code, even when codes are issued concurrently.

use super::{merchant, stores};
use anycart_core::{PlacementId, SessionId};
use anycart_store::{Handoff, HandoffClaim, HandoffIssue, StoreError};

fn code(mac: &str, merchant: anycart_core::MerchantId, session: SessionId) -> Handoff {
    Handoff {
        code_mac: mac.into(),
        merchant_id: merchant,
        placement_id: PlacementId::new(),
        session_id: session,
        created_at_ms: 1_000,
        expires_at_ms: 61_000,
        claimed_by: None,
        claimed_at_ms: None,
        replaced_at_ms: None,
    }
}

#[tokio::test]
async fn the_first_phone_owns_the_code_and_others_are_turned_away() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let session = SessionId::new();
        store
            .insert_handoff(&code("mac-a", m, session))
            .await
            .unwrap();

        let HandoffClaim::Claimed(h) = store
            .claim_handoff("mac-a", "phone-1", 2_000)
            .await
            .unwrap()
        else {
            panic!("{name}: the first claim wins");
        };
        assert_eq!(h.session_id, session, "{name}");
        assert_eq!(h.claimed_by.as_deref(), Some("phone-1"), "{name}");
        assert_eq!(h.claimed_at_ms, Some(2_000), "{name}");
        assert_eq!(
            store
                .claim_handoff("mac-a", "phone-2", 2_500)
                .await
                .unwrap(),
            HandoffClaim::TakenByAnother,
            "{name}"
        );
        // The first phone reloads, even after the code would have expired.
        assert!(
            matches!(
                store
                    .claim_handoff("mac-a", "phone-1", 90_000)
                    .await
                    .unwrap(),
                HandoffClaim::Claimed(_)
            ),
            "{name}"
        );
        let latest = store.session_handoff(m, session).await.unwrap().unwrap();
        assert_eq!(latest.claimed_by.as_deref(), Some("phone-1"), "{name}");
        assert_eq!(
            store.session_handoff(m, SessionId::new()).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn expired_unknown_and_duplicate_codes_are_told_apart() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        store
            .insert_handoff(&code("mac-b", m, SessionId::new()))
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_handoff("mac-b", "phone-1", 61_000)
                .await
                .unwrap(),
            HandoffClaim::Expired,
            "{name}: a code is dead at its expiry instant"
        );
        assert_eq!(
            store
                .claim_handoff("mac-nope", "phone-1", 2_000)
                .await
                .unwrap(),
            HandoffClaim::Unknown,
            "{name}"
        );
        let again = store
            .insert_handoff(&code("mac-b", m, SessionId::new()))
            .await;
        assert!(
            matches!(again, Err(StoreError::Duplicate(_))),
            "{name}: {again:?}"
        );
        assert_eq!(store.purge_handoffs(61_001).await.unwrap(), 1, "{name}");
        assert_eq!(
            store
                .claim_handoff("mac-b", "phone-1", 2_000)
                .await
                .unwrap(),
            HandoffClaim::Unknown,
            "{name}"
        );
    }
}

#[tokio::test]
async fn phones_racing_for_one_code_get_exactly_one_winner() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        store
            .insert_handoff(&code("mac-c", m, SessionId::new()))
            .await
            .unwrap();
        let claims = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_handoff("mac-c", &format!("phone-{i}"), 3_000)
                    .await
                    .unwrap()
            })
        });
        let results = futures_util::future::join_all(claims).await;
        let winners = results
            .iter()
            .filter(|r| matches!(r.as_ref().unwrap(), HandoffClaim::Claimed(_)))
            .count();
        let refused = results
            .iter()
            .filter(|r| *r.as_ref().unwrap() == HandoffClaim::TakenByAnother)
            .count();
        assert_eq!((winners, refused), (1, 7), "{name}");
    }
}

#[tokio::test]
async fn a_new_code_replaces_the_sessions_unclaimed_one() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let session = SessionId::new();
        let first = code("mac-d1", m, session);
        assert_eq!(
            store.insert_handoff(&first).await.unwrap(),
            HandoffIssue::Issued,
            "{name}"
        );
        let second = Handoff {
            code_mac: "mac-d2".into(),
            created_at_ms: 2_000,
            expires_at_ms: 62_000,
            ..first.clone()
        };
        assert_eq!(
            store.insert_handoff(&second).await.unwrap(),
            HandoffIssue::Issued,
            "{name}"
        );
        assert_eq!(
            store
                .claim_handoff("mac-d1", "phone-1", 3_000)
                .await
                .unwrap(),
            HandoffClaim::Replaced,
            "{name}: the old code died when the new one was issued"
        );
        assert!(
            matches!(
                store
                    .claim_handoff("mac-d2", "phone-1", 3_000)
                    .await
                    .unwrap(),
                HandoffClaim::Claimed(_)
            ),
            "{name}"
        );
        // Claimed: the phone owns the session, no third code.
        let third = Handoff {
            code_mac: "mac-d3".into(),
            ..second.clone()
        };
        assert_eq!(
            store.insert_handoff(&third).await.unwrap(),
            HandoffIssue::AlreadyClaimed,
            "{name}"
        );
        assert_eq!(
            store
                .claim_handoff("mac-d3", "phone-2", 3_500)
                .await
                .unwrap(),
            HandoffClaim::Unknown,
            "{name}: nothing was stored"
        );
        // Another session is not affected.
        assert_eq!(
            store
                .insert_handoff(&code("mac-d4", m, SessionId::new()))
                .await
                .unwrap(),
            HandoffIssue::Issued,
            "{name}"
        );
    }
}

#[tokio::test]
async fn codes_issued_concurrently_leave_one_current() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let session = SessionId::new();
        let issues = (0..8).map(|i| {
            let store = store.clone();
            let h = Handoff {
                code_mac: format!("mac-e{i}"),
                ..code("unused", m, session)
            };
            tokio::spawn(async move { store.insert_handoff(&h).await })
        });
        let results = futures_util::future::join_all(issues).await;
        for r in &results {
            let r = r.as_ref().unwrap();
            assert!(
                matches!(r, Ok(HandoffIssue::Issued) | Err(StoreError::Duplicate(_))),
                "{name}: {r:?}"
            );
        }
        let mut live = 0;
        for i in 0..8 {
            if let HandoffClaim::Claimed(_) = store
                .claim_handoff(&format!("mac-e{i}"), &format!("phone-{i}"), 3_000)
                .await
                .unwrap()
            {
                live += 1;
            }
        }
        assert_eq!(live, 1, "{name}: exactly one code of the session works");
    }
}
