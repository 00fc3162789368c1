//! The platform guest each order is placed as: the first one recorded wins, its
//! refresh token is sealed at rest and can be replaced.

use super::{complete_order, stocked, stores};
use anycart_core::{MerchantId, OrderId};
use anycart_store::{CredentialsKey, PlatformGuest, StoreError};
use secrecy::{ExposeSecret, SecretString};

fn guest(m: MerchantId, order: OrderId, customer: &str, refresh: &str) -> PlatformGuest {
    PlatformGuest {
        merchant_id: m,
        order_id: order,
        platform: "salesforce".into(),
        customer_id: customer.into(),
        usid: Some(format!("usid-of-{customer}")),
        refresh_token: SecretString::from(refresh.to_string()),
        refresh_expires_at_ms: 2_592_000_000,
        created_at_ms: 1,
        updated_at_ms: 1,
    }
}

#[tokio::test]
async fn the_first_guest_of_an_order_wins_and_its_refresh_token_is_sealed() {
    for (name, store, _dir) in stores().await {
        let key = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let sealed = store.clone().with_credentials_key(key);
        let (m, v, _) = stocked(&sealed, 5, 0).await;
        let order = complete_order(&sealed, m, v, 1).await;
        assert!(
            sealed
                .platform_guest(m, order, "salesforce")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );

        let first = sealed
            .record_platform_guest(&guest(m, order, "abc1", "refresh-1"))
            .await
            .unwrap();
        assert_eq!(first.customer_id, "abc1", "{name}");
        // A second attempt's guest changes nothing: it is told the first one.
        let second = sealed
            .record_platform_guest(&guest(m, order, "abc2", "refresh-2"))
            .await
            .unwrap();
        assert_eq!(second.customer_id, "abc1", "{name}");
        assert_eq!(second.refresh_token.expose_secret(), "refresh-1", "{name}");
        assert_eq!(second.usid.as_deref(), Some("usid-of-abc1"), "{name}");
        // Another platform or another order is another guest.
        assert!(
            sealed
                .platform_guest(m, order, "other")
                .await
                .unwrap()
                .is_none()
        );

        // Sealed: unreadable without the key.
        let err = store
            .platform_guest(m, order, "salesforce")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no credentials key"),
            "{name}: {err}"
        );

        sealed
            .replace_platform_guest_refresh_token(
                m,
                order,
                "salesforce",
                &SecretString::from("refresh-3".to_string()),
                9,
                5,
            )
            .await
            .unwrap();
        let read = sealed
            .platform_guest(m, order, "salesforce")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.refresh_token.expose_secret(), "refresh-3", "{name}");
        assert_eq!((read.refresh_expires_at_ms, read.updated_at_ms), (9, 5));
        assert_eq!((read.customer_id.as_str(), read.created_at_ms), ("abc1", 1));
        let unknown = sealed
            .replace_platform_guest_refresh_token(
                m,
                OrderId::new(),
                "salesforce",
                &SecretString::from("x".to_string()),
                9,
                5,
            )
            .await;
        assert!(matches!(unknown, Err(StoreError::NotFound)), "{name}");
    }
}
