//! Placements: the merchant's embeds of the checkout widget (an ad slot, an article,
//! a social post…). The widget's iframe page looks one up by id alone (the shopper
//! has no key), so [`Store::find_placement`] is deliberately not merchant-scoped;
//! every admin call is.

use crate::merchants::{ApiKeyRecord, INSERT_API_KEY};
use crate::{Store, StoreError, StoreResult, flag, page_limit, parse_id};
use anycart_core::{MerchantId, PlacementId, ProductId, VariantId};
use serde::{Deserialize, Serialize};

pub use anycart_core::attribution::{Campaign, Channel};

/// Per-placement look overrides; `None` keeps the widget's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    /// `#rgb` or `#rrggbb`, buttons and focus rings.
    pub primary_color: Option<String>,
    /// Page background.
    pub background_color: Option<String>,
    /// Body text.
    pub text_color: Option<String>,
    /// A CSS font-family list (letters, digits, spaces, commas, quotes, hyphens).
    pub font_family: Option<String>,
    /// Corner radius in CSS pixels.
    pub radius_px: Option<u32>,
    /// Brand logo shown in the widget header.
    pub logo_url: Option<String>,
    /// Dark colour scheme.
    pub dark: Option<bool>,
}

impl Theme {
    /// This theme's fields where set, else `defaults`' (placement over merchant).
    pub fn over(&self, defaults: &Theme) -> Theme {
        Theme {
            primary_color: self
                .primary_color
                .clone()
                .or_else(|| defaults.primary_color.clone()),
            background_color: self
                .background_color
                .clone()
                .or_else(|| defaults.background_color.clone()),
            text_color: self
                .text_color
                .clone()
                .or_else(|| defaults.text_color.clone()),
            font_family: self
                .font_family
                .clone()
                .or_else(|| defaults.font_family.clone()),
            radius_px: self.radius_px.or(defaults.radius_px),
            logo_url: self.logo_url.clone().or_else(|| defaults.logo_url.clone()),
            dark: self.dark.or(defaults.dark),
        }
    }
}

/// Everything about a placement except its identity, stored as one JSON document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementSettings {
    /// A name for the merchant's own lists.
    pub name: String,
    /// Preselected variant (must belong to the product).
    pub variant_id: Option<VariantId>,
    /// Preselected quantity.
    pub quantity: u32,
    pub channel: Channel,
    pub campaign: Campaign,
    /// Host page origins (`scheme://host[:port]`) allowed to frame the widget.
    pub allowed_origins: Vec<String>,
    /// Ad server origins trusted to place the checkout on any publisher: in an ad
    /// chain (publisher page → ad server frame → creative → checkout) that passes
    /// through one of these, the origins outside it need not be listed. Absent in
    /// documents stored before ads through ad servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ad_servers: Vec<String>,
    pub theme: Theme,
    /// The placement's own publishable key. Kept in clear on purpose: publishable
    /// keys are public (they ship inside every embed) and the iframe page must hand
    /// it to the checkout app; a dedicated key per placement can be revoked alone.
    pub publishable_key: String,
}

/// A stored placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub id: PlacementId,
    pub merchant_id: MerchantId,
    /// The product the widget sells.
    pub product_id: ProductId,
    /// Disabled placements are refused by the iframe page (nothing is shown or held).
    pub enabled: bool,
    pub settings: PlacementSettings,
    pub created_at_ms: i64,
}

/// A `placements` row.
#[derive(sqlx::FromRow)]
struct PlacementRow {
    id: String,
    merchant_id: String,
    product_id: String,
    enabled: i64,
    doc: String,
    created_at_ms: i64,
}

impl TryFrom<PlacementRow> for Placement {
    type Error = StoreError;

    fn try_from(row: PlacementRow) -> StoreResult<Self> {
        Ok(Placement {
            id: parse_id(&row.id)?,
            merchant_id: parse_id(&row.merchant_id)?,
            product_id: parse_id(&row.product_id)?,
            enabled: row.enabled == 1,
            settings: serde_json::from_str(&row.doc)?,
            created_at_ms: row.created_at_ms,
        })
    }
}

const INSERT_PLACEMENT: &str = r"
INSERT INTO placements (id, merchant_id, product_id, enabled, doc, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_PLACEMENT_BY_ID: &str = r"
SELECT id, merchant_id, product_id, enabled, doc, created_at_ms
  FROM placements
 WHERE id = $1 AND merchant_id = $2";

/// Not merchant-scoped on purpose: the public iframe page has only the id.
const SELECT_ANY_PLACEMENT_BY_ID: &str = r"
SELECT id, merchant_id, product_id, enabled, doc, created_at_ms
  FROM placements
 WHERE id = $1";

const SELECT_PLACEMENTS_PAGE: &str = r"
SELECT id, merchant_id, product_id, enabled, doc, created_at_ms
  FROM placements
 WHERE merchant_id = $1 AND id > $2
 ORDER BY id
 LIMIT $3";

const UPDATE_PLACEMENT: &str = r"
UPDATE placements
   SET product_id = $1, enabled = $2, doc = $3
 WHERE id = $4 AND merchant_id = $5";

const SELECT_WIDGET_THEME: &str = r"
SELECT doc
  FROM widget_themes
 WHERE merchant_id = $1";

const UPSERT_WIDGET_THEME: &str = r"
INSERT INTO widget_themes (merchant_id, doc, updated_at_ms)
VALUES ($1, $2, $3)
    ON CONFLICT (merchant_id) DO UPDATE
   SET doc = excluded.doc,
       updated_at_ms = excluded.updated_at_ms";

const UPDATE_PLACEMENT_ENABLED: &str = r"
UPDATE placements
   SET enabled = $1
 WHERE id = $2 AND merchant_id = $3";

/// Every enabled placement's settings (for the allowed origins), a page at a time.
const SELECT_ENABLED_PLACEMENT_DOCS: &str = r"
SELECT id, doc
  FROM placements
 WHERE enabled = 1 AND id > $1
 ORDER BY id
 LIMIT $2";

/// Placements whose publishable key does not name them yet (made before
/// migration 0010).
const SELECT_UNLINKED_PLACEMENTS: &str = r"
SELECT p.id, p.merchant_id, p.doc
  FROM placements p
 WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.placement_id = p.id)";

const LINK_PLACEMENT_KEY: &str = r"
UPDATE api_keys
   SET placement_id = $1
 WHERE key_hash = $2 AND merchant_id = $3 AND placement_id IS NULL";

/// Hex SHA-256, as keys are stored (the same digest as the checkout's `hash_key`).
fn key_hash(key: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// The host origins any enabled placement allows (what browsers may call the
    /// checkout API from, CORS).
    pub async fn placement_origins(&self) -> StoreResult<std::collections::BTreeSet<String>> {
        let mut origins = std::collections::BTreeSet::new();
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(SELECT_ENABLED_PLACEMENT_DOCS)
                .bind(after.clone())
                .bind(crate::PAGE_SIZE_MAX)
                .fetch_all(&self.read)
                .await?;
            let Some((last, _)) = rows.last() else {
                return Ok(origins);
            };
            after = last.clone();
            for (_, doc) in &rows {
                let settings: PlacementSettings = serde_json::from_str(doc)?;
                origins.extend(settings.allowed_origins);
            }
        }
    }

    /// Links every placement's publishable key to its placement, for placements
    /// made before keys knew theirs. Idempotent; run by [`Store::open`].
    pub(crate) async fn link_placement_keys(&self) -> StoreResult<usize> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(SELECT_UNLINKED_PLACEMENTS)
            .fetch_all(&self.write)
            .await?;
        let mut linked = 0;
        for (id, merchant, doc) in rows {
            let settings: PlacementSettings = serde_json::from_str(&doc)?;
            let done = sqlx::query(LINK_PLACEMENT_KEY)
                .bind(id)
                .bind(key_hash(&settings.publishable_key))
                .bind(merchant)
                .execute(&self.write)
                .await?;
            linked += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        Ok(linked)
    }

    /// Creates a placement together with its publishable key, atomically (a
    /// placement without its key could never be shown).
    pub async fn create_placement(&self, p: &Placement, key: &ApiKeyRecord) -> StoreResult<()> {
        assert_eq!(
            key.merchant_id, p.merchant_id,
            "a placement's key must belong to its merchant"
        );
        let mut tx = self.write.begin().await?;
        sqlx::query(INSERT_API_KEY)
            .bind(key.id.to_string())
            .bind(key.merchant_id.to_string())
            .bind(key.kind.as_str())
            .bind(key.key_hash.clone())
            .bind(key.hint.clone())
            .bind(p.id.to_string())
            .bind(key.created_at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_PLACEMENT)
            .bind(p.id.to_string())
            .bind(p.merchant_id.to_string())
            .bind(p.product_id.to_string())
            .bind(flag(p.enabled))
            .bind(serde_json::to_string(&p.settings)?)
            .bind(p.created_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One placement of `merchant`.
    pub async fn get_placement(
        &self,
        merchant: MerchantId,
        id: PlacementId,
    ) -> StoreResult<Option<Placement>> {
        sqlx::query_as::<_, PlacementRow>(SELECT_PLACEMENT_BY_ID)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(Placement::try_from)
            .transpose()
    }

    /// A placement by id alone, for the public iframe page (which has no key).
    pub async fn find_placement(&self, id: PlacementId) -> StoreResult<Option<Placement>> {
        sqlx::query_as::<_, PlacementRow>(SELECT_ANY_PLACEMENT_BY_ID)
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(Placement::try_from)
            .transpose()
    }

    /// A page of `merchant`'s placements, oldest first, after the `after` cursor.
    pub async fn list_placements(
        &self,
        merchant: MerchantId,
        after: Option<PlacementId>,
        limit: i64,
    ) -> StoreResult<Vec<Placement>> {
        sqlx::query_as::<_, PlacementRow>(SELECT_PLACEMENTS_PAGE)
            .bind(merchant.to_string())
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Placement::try_from)
            .collect()
    }

    /// The merchant's default widget theme (empty when never set).
    pub async fn widget_theme(&self, merchant: MerchantId) -> StoreResult<Theme> {
        let doc = sqlx::query_scalar::<_, String>(SELECT_WIDGET_THEME)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        match doc {
            Some(doc) => Ok(serde_json::from_str(&doc)?),
            None => Ok(Theme::default()),
        }
    }

    /// Replaces the merchant's default widget theme.
    pub async fn set_widget_theme(
        &self,
        merchant: MerchantId,
        theme: &Theme,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(UPSERT_WIDGET_THEME)
            .bind(merchant.to_string())
            .bind(serde_json::to_string(theme)?)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Replaces a placement's product, flag and settings; false if its merchant
    /// has no such placement.
    pub async fn update_placement(&self, p: &Placement) -> StoreResult<bool> {
        let done = sqlx::query(UPDATE_PLACEMENT)
            .bind(p.product_id.to_string())
            .bind(flag(p.enabled))
            .bind(serde_json::to_string(&p.settings)?)
            .bind(p.id.to_string())
            .bind(p.merchant_id.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns a placement on or off; false if `merchant` has no such placement.
    pub async fn set_placement_enabled(
        &self,
        merchant: MerchantId,
        id: PlacementId,
        enabled: bool,
    ) -> StoreResult<bool> {
        let done = sqlx::query(UPDATE_PLACEMENT_ENABLED)
            .bind(flag(enabled))
            .bind(id.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
