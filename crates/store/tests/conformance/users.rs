//! Dashboard users, one-time links, sessions and failed sign-ins.

use super::{merchant, stores};
use anycart_core::UserId;
use anycart_store::{DashboardUser, StoreError, UserRole};

fn user(m: anycart_core::MerchantId, email: &str) -> DashboardUser {
    DashboardUser {
        id: UserId::new(),
        merchant_id: m,
        email: email.into(),
        role: UserRole::Staff,
        password_hash: None,
        created_at_ms: 5,
    }
}

#[tokio::test]
async fn emails_are_unique_and_users_listed_per_merchant() {
    for (engine, store, _dir) in stores().await {
        let (a, b) = (merchant(&store).await, merchant(&store).await);
        let email = format!("{}@shop.example", UserId::new());
        let u = user(a, &email);
        store.create_dashboard_user(&u).await.unwrap();
        assert!(
            matches!(
                store.create_dashboard_user(&user(b, &email)).await,
                Err(StoreError::Duplicate(_))
            ),
            "{engine}"
        );
        assert_eq!(
            store.find_dashboard_user(&email).await.unwrap(),
            Some(u.clone())
        );
        assert_eq!(
            store.list_dashboard_users(a).await.unwrap(),
            vec![u.clone()]
        );
        assert!(store.list_dashboard_users(b).await.unwrap().is_empty());
        // Another merchant cannot set this user's password.
        assert!(matches!(
            store.set_dashboard_password(b, u.id, "$argon2id$x").await,
            Err(StoreError::NotFound)
        ));
        store
            .set_dashboard_password(a, u.id, "$argon2id$x")
            .await
            .unwrap();
        let found = store.find_dashboard_user(&email).await.unwrap().unwrap();
        assert_eq!(
            found.password_hash.as_deref(),
            Some("$argon2id$x"),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn links_sign_in_once_and_sessions_expire_and_revoke() {
    for (engine, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let u = user(m, &format!("{}@shop.example", UserId::new()));
        store.create_dashboard_user(&u).await.unwrap();
        let link = format!("link-{}", UserId::new());
        store.create_sign_in_link(u.id, &link, 1_000).await.unwrap();
        assert_eq!(
            store.spend_sign_in_link(&link, 1_000).await.unwrap(),
            None,
            "{engine}: expired"
        );
        let fresh = format!("link-{}", UserId::new());
        store
            .create_sign_in_link(u.id, &fresh, 2_000)
            .await
            .unwrap();
        assert_eq!(
            store.spend_sign_in_link(&fresh, 1_500).await.unwrap(),
            Some(u.clone())
        );
        assert_eq!(
            store.spend_sign_in_link(&fresh, 1_600).await.unwrap(),
            None,
            "{engine}: used"
        );

        let s = format!("session-{}", UserId::new());
        store
            .create_dashboard_session(&u, &s, 100, 500)
            .await
            .unwrap();
        let live = store
            .find_dashboard_session(&s, 499)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.user, u);
        assert_eq!(live.expires_at_ms, 500);
        assert_eq!(
            store.find_dashboard_session(&s, 500).await.unwrap(),
            None,
            "{engine}: expired"
        );
        store.revoke_dashboard_session(&s, 200).await.unwrap();
        assert_eq!(
            store.find_dashboard_session(&s, 300).await.unwrap(),
            None,
            "{engine}: revoked"
        );

        let (s1, s2) = (
            format!("s1-{}", UserId::new()),
            format!("s2-{}", UserId::new()),
        );
        store
            .create_dashboard_session(&u, &s1, 100, 900)
            .await
            .unwrap();
        store
            .create_dashboard_session(&u, &s2, 100, 900)
            .await
            .unwrap();
        let other = merchant(&store).await;
        assert_eq!(
            store.revoke_user_sessions(other, u.id, 150).await.unwrap(),
            0
        );
        assert_eq!(
            store.revoke_user_sessions(m, u.id, 150).await.unwrap(),
            2,
            "{engine}"
        );
        assert_eq!(store.find_dashboard_session(&s1, 300).await.unwrap(), None);
    }
}

#[tokio::test]
async fn failed_sign_ins_are_counted_in_a_sliding_window() {
    for (engine, store, _dir) in stores().await {
        let email = format!("hash-{}", UserId::new());
        assert_eq!(
            store.record_sign_in_failure(&email, 100, 0).await.unwrap(),
            1
        );
        assert_eq!(
            store.record_sign_in_failure(&email, 200, 0).await.unwrap(),
            2
        );
        assert_eq!(
            store.count_sign_in_failures(&email, 150).await.unwrap(),
            1,
            "{engine}"
        );
        // The window moved past the first failure: it is forgotten.
        assert_eq!(
            store
                .record_sign_in_failure(&email, 300, 150)
                .await
                .unwrap(),
            2
        );
        assert_eq!(store.count_sign_in_failures("other", 0).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn spent_sessions_links_and_failures_are_purged_a_day_later() {
    for (engine, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let u = user(m, &format!("{}@shop.example", UserId::new()));
        store.create_dashboard_user(&u).await.unwrap();
        let day = anycart_store::DASHBOARD_SECRETS_RETENTION_MS;
        let (old, live) = (
            format!("old-{}", UserId::new()),
            format!("live-{}", UserId::new()),
        );
        store
            .create_dashboard_session(&u, &old, 0, 1_000)
            .await
            .unwrap();
        store
            .create_dashboard_session(&u, &live, 0, 10 * day)
            .await
            .unwrap();
        store.create_sign_in_link(u.id, &old, 1_000).await.unwrap();
        store.record_sign_in_failure(&old, 1_000, 0).await.unwrap();
        let purged = store
            .purge_dashboard_secrets(1_000 + day + 1)
            .await
            .unwrap();
        assert!(purged >= 3, "{engine}: {purged}");
        assert!(
            store
                .find_dashboard_session(&live, day)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.count_sign_in_failures(&old, 0).await.unwrap(), 0);
    }
}
