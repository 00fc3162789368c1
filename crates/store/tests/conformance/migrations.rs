//! Databases migrated before the two per-engine migration folders were merged still
//! open: the merged migrator keeps every released version, description and checksum.

use anycart_core::MerchantId;
use anycart_store::testing::fresh_postgres_url;
use anycart_store::{Store, StoreError};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyConnection, Connection};

/// The migrations existing databases were migrated with (frozen copies).
static RELEASED: Migrator = sqlx::migrate!("./tests/fixtures/released_migrations");

/// An empty database per engine: `(engine, url, keep-alive for SQLite's file)`.
async fn empty_databases() -> Vec<(&'static str, String, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut out = vec![("sqlite", url, Some(dir))];
    if let Some(pg) = fresh_postgres_url().await {
        out.push(("postgres", pg, None));
    }
    out
}

/// Migrates `url` as a release before the merge did, with one merchant in it.
async fn migrate_as_released(url: &str) -> (AnyConnection, MerchantId) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    RELEASED.run(&mut conn).await.unwrap();
    let merchant = MerchantId::new();
    sqlx::query("INSERT INTO merchants (id, name, created_at_ms) VALUES ($1, 'Old shop', 1)")
        .bind(merchant.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
    (conn, merchant)
}

/// What the database recorded: `(version, description, checksum)` in order.
async fn recorded(conn: &mut AnyConnection) -> Vec<(i64, String, Vec<u8>)> {
    sqlx::query_as("SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_database_migrated_before_the_merge_opens_with_its_data() {
    for (name, url, _dir) in empty_databases().await {
        let (mut conn, merchant) = migrate_as_released(&url).await;
        let before = recorded(&mut conn).await;
        let released: Vec<_> = RELEASED
            .iter()
            .map(|m| (m.version, m.description.to_string(), m.checksum.to_vec()))
            .collect();
        assert_eq!(before, released, "{name}");
        conn.close().await.unwrap();

        let store = Store::open(&url).await.unwrap_or_else(|e| {
            panic!("{name}: a database migrated before the merge must open: {e}")
        });
        let got = store.get_merchant(merchant).await.unwrap().unwrap();
        assert_eq!(got.name, "Old shop", "{name}");
        store.close().await;

        let mut conn = AnyConnection::connect(&url).await.unwrap();
        let after = recorded(&mut conn).await;
        assert_eq!(
            after[..released.len()],
            released[..],
            "{name}: released rows untouched"
        );
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_database_whose_recorded_checksum_differs_is_refused() {
    // The proof above only means something if the store checks checksums at all.
    for (name, url, _dir) in empty_databases().await {
        let (mut conn, _) = migrate_as_released(&url).await;
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
            .bind(vec![0u8; 48])
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let opened = Store::open(&url).await;
        assert!(
            matches!(
                opened,
                Err(StoreError::Migrate(MigrateError::VersionMismatch(1)))
            ),
            "{name}: {opened:?}"
        );
    }
}

#[tokio::test]
async fn placements_made_before_attribution_get_their_key_linked_on_open() {
    for (name, url, _dir) in empty_databases().await {
        let (mut conn, merchant) = migrate_as_released(&url).await;
        // A placement and its own publishable key as a release before 0010 wrote
        // them: the key does not name its placement.
        let product = anycart_core::ProductId::new();
        let placement = anycart_core::PlacementId::new();
        let key = "pk_0123456789abcdef0123456789abcdef";
        let hash: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        sqlx::query("INSERT INTO products (id, merchant_id, title, description, images, active, created_at_ms) VALUES ($1, $2, 'Tee', '', '[]', 1, 1)")
            .bind(product.to_string())
            .bind(merchant.to_string())
            .execute(&mut conn)
            .await
            .unwrap();
        let doc = serde_json::json!({"name": "Ad", "variant_id": null, "quantity": 1,
            "channel": "publisher", "campaign": {"name": "spring", "source": null, "medium": null, "content": null},
            "allowed_origins": [], "theme": {}, "publishable_key": key});
        sqlx::query("INSERT INTO placements (id, merchant_id, product_id, enabled, doc, created_at_ms) VALUES ($1, $2, $3, 1, $4, 1)")
            .bind(placement.to_string())
            .bind(merchant.to_string())
            .bind(product.to_string())
            .bind(doc.to_string())
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO api_keys (id, merchant_id, kind, key_hash, hint, created_at_ms) VALUES ($1, $2, 'publishable', $3, 'pk_…cdef', 1)")
            .bind(anycart_core::ApiKeyId::new().to_string())
            .bind(merchant.to_string())
            .bind(hash.clone())
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();

        let store = Store::open(&url).await.unwrap();
        let found = store.find_api_key(&hash).await.unwrap().unwrap();
        assert_eq!(found.placement_id, Some(placement), "{name}");
        store.close().await;
        // Opening again changes nothing.
        let store = Store::open(&url).await.unwrap();
        assert_eq!(
            store
                .find_api_key(&hash)
                .await
                .unwrap()
                .unwrap()
                .placement_id,
            Some(placement)
        );
        store.close().await;
    }
}

/// Migration 0025 moves each code's redemption limit out of its document into
/// the column the order's transaction checks: a code created before it keeps
/// its limit (and one without a limit stays unlimited).
#[tokio::test]
async fn discounts_made_before_0025_keep_their_redemption_limit() {
    for (name, url, _dir) in empty_databases().await {
        let (mut conn, merchant) = migrate_as_released(&url).await;
        let mut ids = Vec::new();
        for (code, limit) in [("ONCE", Some(1)), ("ALWAYS", None)] {
            let id = anycart_core::DiscountId::new();
            let doc = serde_json::json!({"id": id, "code": code, "name": code,
                "kind": {"type": "percentage", "rate_bps": 500}, "min_subtotal_minor": null,
                "starts_at_ms": null, "ends_at_ms": null, "max_redemptions": limit,
                "times_redeemed": 0, "active": true, "combinable": true});
            sqlx::query("INSERT INTO discounts (id, merchant_id, code, doc, times_redeemed, created_at_ms) VALUES ($1, $2, $3, $4, 0, 1)")
                .bind(id.to_string())
                .bind(merchant.to_string())
                .bind(code)
                .bind(doc.to_string())
                .execute(&mut conn)
                .await
                .unwrap();
            ids.push((id, limit));
        }
        conn.close().await.unwrap();

        let store = Store::open(&url).await.unwrap();
        store.close().await;
        let mut conn = AnyConnection::connect(&url).await.unwrap();
        for (id, limit) in ids {
            let column: Option<i64> =
                sqlx::query_scalar("SELECT max_redemptions FROM discounts WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(column, limit, "{name}");
        }
        conn.close().await.unwrap();
    }
}
