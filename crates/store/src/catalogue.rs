//! Catalogue and merchant rules: products, variants, locations, stock levels,
//! shipping zones, tax rates and discount codes. Every query is scoped by merchant.
//!
//! Products and variants are here; locations and stock levels in [`stock`];
//! shipping zones, tax rates and discount codes in [`rules`].

mod bulk;
mod rules;
mod stock;

pub use bulk::VariantBySku;

use crate::sql::in_list;
use crate::{Store, StoreError, StoreResult, flag, page_limit, parse_id};
use anycart_core::catalogue::{Product, Sku, Variant};
use anycart_core::{Currency, MerchantId, Money, ProductId, VariantId};

/// A `variants` row.
#[derive(sqlx::FromRow)]
struct VariantRow {
    id: String,
    product_id: String,
    sku: String,
    title: String,
    options: String,
    price_minor: i64,
    currency: String,
    max_quantity_per_order: Option<i64>,
    image_url: Option<String>,
}

impl TryFrom<VariantRow> for Variant {
    type Error = StoreError;

    fn try_from(row: VariantRow) -> StoreResult<Self> {
        let currency = Currency::parse(&row.currency).map_err(corrupt)?;
        Ok(Variant {
            id: parse_id(&row.id)?,
            product_id: parse_id(&row.product_id)?,
            sku: Sku::parse(&row.sku).map_err(corrupt)?,
            title: row.title,
            options: serde_json::from_str(&row.options)?,
            price: Money::new(row.price_minor, currency).map_err(corrupt)?,
            max_quantity_per_order: row
                .max_quantity_per_order
                .map(|m| u32::try_from(m.clamp(1, i64::from(u32::MAX))).unwrap_or(u32::MAX)),
            image_url: row.image_url,
        })
    }
}

/// A stored value the domain type refuses (a bug or a manual edit).
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A variant with whether its product is on sale.
#[derive(sqlx::FromRow)]
struct VariantForSaleRow {
    #[sqlx(flatten)]
    variant: VariantRow,
    /// NULL only if the product row is missing, which reads as "not on sale".
    product_active: Option<i64>,
}

/// A `products` row (its variants are read separately).
#[derive(sqlx::FromRow)]
struct ProductRow {
    title: String,
    description: String,
    images: String,
    active: i64,
}

const INSERT_PRODUCT: &str = r"
INSERT INTO products (id, merchant_id, title, description, images, active, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// `position` keeps the variants in the order the merchant gave them.
const INSERT_VARIANT: &str = r"
INSERT INTO variants (id, merchant_id, product_id, position, sku, title, options,
                      price_minor, currency, max_quantity_per_order, image_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const UPDATE_VARIANT_PRICE: &str = r"
UPDATE variants
   SET price_minor = $1, currency = $2
 WHERE id = $3 AND merchant_id = $4";

const SELECT_PRODUCT_BY_ID: &str = r"
SELECT id, title, description, images, active
  FROM products
 WHERE id = $1 AND merchant_id = $2";

const SELECT_VARIANTS_OF_PRODUCT: &str = r"
SELECT id, product_id, sku, title, options, price_minor, currency, max_quantity_per_order,
       image_url
  FROM variants
 WHERE product_id = $1 AND merchant_id = $2
 ORDER BY position";

const SELECT_PRODUCT_IDS_PAGE: &str = r"
SELECT id
  FROM products
 WHERE merchant_id = $1 AND id > $2
 ORDER BY id
 LIMIT $3";

const UPDATE_PRODUCT_BASICS: &str = r"
UPDATE products
   SET title = $1, active = $2
 WHERE id = $3 AND merchant_id = $4";

/// Followed by the `IN` list of variant ids (from `$2`).
const SELECT_VARIANTS_FOR_SALE: &str = r"
SELECT id, product_id, sku, title, options, price_minor, currency, max_quantity_per_order,
       image_url,
       (SELECT p.active FROM products p WHERE p.id = variants.product_id) AS product_active
  FROM variants
 WHERE merchant_id = $1 AND id IN";

const SELECT_PRODUCT_ACTIVE: &str = r"
SELECT active
  FROM products
 WHERE id = $1 AND merchant_id = $2";

impl Store {
    /// Stores a new product with its variants in one transaction.
    pub async fn create_product(
        &self,
        merchant: MerchantId,
        product: &Product,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(INSERT_PRODUCT)
            .bind(product.id.to_string())
            .bind(merchant.to_string())
            .bind(product.title.clone())
            .bind(product.description.clone())
            .bind(serde_json::to_string(&product.images)?)
            .bind(flag(product.active))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        for (position, v) in product.variants.iter().enumerate() {
            sqlx::query(INSERT_VARIANT)
                .bind(v.id.to_string())
                .bind(merchant.to_string())
                .bind(product.id.to_string())
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(v.sku.as_ref().to_string())
                .bind(v.title.clone())
                .bind(serde_json::to_string(&v.options)?)
                .bind(v.price.amount_minor)
                .bind(v.price.currency.code_lower())
                .bind(v.max_quantity_per_order.map(i64::from))
                .bind(v.image_url.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Changes a variant's price (a later read of a session sees the old quote; a
    /// later update re-prices it and tells the shopper).
    pub async fn set_variant_price(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        price: Money,
    ) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_VARIANT_PRICE)
            .bind(price.amount_minor)
            .bind(price.currency.code_lower())
            .bind(variant.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// One product with its variants.
    pub async fn get_product(
        &self,
        merchant: MerchantId,
        id: ProductId,
    ) -> StoreResult<Option<Product>> {
        let row = sqlx::query_as::<_, ProductRow>(SELECT_PRODUCT_BY_ID)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let variants = sqlx::query_as::<_, VariantRow>(SELECT_VARIANTS_OF_PRODUCT)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Variant::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Product {
            id,
            title: row.title,
            description: row.description,
            images: serde_json::from_str(&row.images)?,
            active: row.active == 1,
            variants,
        }))
    }

    /// A page of products, oldest first, after the `after` cursor.
    pub async fn list_products(
        &self,
        merchant: MerchantId,
        after: Option<ProductId>,
        limit: i64,
    ) -> StoreResult<Vec<Product>> {
        let ids: Vec<String> = sqlx::query_scalar(SELECT_PRODUCT_IDS_PAGE)
            .bind(merchant.to_string())
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?;
        let mut products = Vec::with_capacity(ids.len());
        for id in ids {
            let id: ProductId = parse_id(&id)?;
            if let Some(p) = self.get_product(merchant, id).await? {
                products.push(p);
            }
        }
        Ok(products)
    }

    /// The merchant's variants among `ids` (others' ids are silently absent).
    pub async fn get_variants(
        &self,
        merchant: MerchantId,
        ids: &[VariantId],
    ) -> StoreResult<Vec<Variant>> {
        Ok(self
            .variants_for_sale(merchant, ids)
            .await?
            .into_iter()
            .map(|(v, _)| v)
            .collect())
    }

    /// Sets a product's title and whether it is on sale (a platform's product
    /// update: an archived or draft product stops selling at once).
    pub async fn set_product_basics(
        &self,
        merchant: MerchantId,
        product: ProductId,
        title: &str,
        active: bool,
    ) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_PRODUCT_BASICS)
            .bind(title.to_string())
            .bind(flag(active))
            .bind(product.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// Variants of `merchant` among `ids`, each with whether its product is on
    /// sale, in one query (what every checkout write needs). Unknown ids are absent.
    pub async fn variants_for_sale(
        &self,
        merchant: MerchantId,
        ids: &[VariantId],
    ) -> StoreResult<Vec<(Variant, bool)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::batch::IN_LIST_MAX) {
            let sql = in_list(SELECT_VARIANTS_FOR_SALE, 2, chunk.len(), "");
            let mut q = sqlx::query_as::<_, VariantForSaleRow>(sql).bind(merchant.to_string());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                let active = row.product_active == Some(1);
                out.push((row.variant.try_into()?, active));
            }
        }
        Ok(out)
    }

    /// Whether the product of a variant is active (inactive products cannot be sold).
    pub async fn product_is_active(
        &self,
        merchant: MerchantId,
        product: ProductId,
    ) -> StoreResult<bool> {
        let active: Option<i64> = sqlx::query_scalar(SELECT_PRODUCT_ACTIVE)
            .bind(product.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        Ok(active == Some(1))
    }
}
