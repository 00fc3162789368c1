//! Catalogue and merchant rules: products, variants, locations, stock levels,
//! shipping zones, tax rates and discount codes. Every query is scoped by merchant.

use crate::{Store, StoreError, StoreResult, flag, page_limit, parse_id};
use anycart_core::catalogue::{Location, Product, Sku, StockLevel, Variant};
use anycart_core::pricing::{Discount, ShippingZone, TaxRate};
use anycart_core::{Currency, LocationId, MerchantId, Money, ProductId, VariantId};
use sqlx::Row;
use sqlx::any::AnyRow;

const VARIANT_COLUMNS: &str =
    "id, product_id, sku, title, options, price_minor, currency, max_quantity_per_order, image_url";

fn variant_from_row(r: &AnyRow) -> StoreResult<Variant> {
    let currency = Currency::parse(&r.try_get::<String, _>("currency")?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Variant {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        product_id: parse_id(&r.try_get::<String, _>("product_id")?)?,
        sku: Sku::parse(&r.try_get::<String, _>("sku")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        title: r.try_get("title")?,
        options: serde_json::from_str(&r.try_get::<String, _>("options")?)?,
        price: Money::new(r.try_get("price_minor")?, currency)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        max_quantity_per_order: r
            .try_get::<Option<i64>, _>("max_quantity_per_order")?
            .map(|m| m.clamp(1, i64::from(u32::MAX)) as u32),
        image_url: r.try_get("image_url")?,
    })
}

impl Store {
    /// Stores a new product with its variants in one transaction.
    pub async fn create_product(
        &self,
        merchant: MerchantId,
        product: &Product,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO products (id, merchant_id, title, description, images, active, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
            sqlx::query("INSERT INTO variants (id, merchant_id, product_id, position, sku, title, options, price_minor, currency, max_quantity_per_order, image_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(v.id.to_string())
                .bind(merchant.to_string())
                .bind(product.id.to_string())
                .bind(position as i64)
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
        let done = sqlx::query("UPDATE variants SET price_minor = $1, currency = $2 WHERE id = $3 AND merchant_id = $4")
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
        let row = sqlx::query("SELECT id, title, description, images, active FROM products WHERE id = $1 AND merchant_id = $2")
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let variants = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = $1 AND merchant_id = $2 ORDER BY position")))
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(variant_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Product {
            id,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            images: serde_json::from_str(&row.try_get::<String, _>("images")?)?,
            active: row.try_get::<i64, _>("active")? == 1,
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
        let ids = sqlx::query(
            "SELECT id FROM products WHERE merchant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(merchant.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(page_limit(limit))
        .fetch_all(&self.read)
        .await?;
        let mut products = Vec::with_capacity(ids.len());
        for row in ids {
            let id: ProductId = parse_id(&row.try_get::<String, _>("id")?)?;
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
        let done = sqlx::query(
            "UPDATE products SET title = $1, active = $2 WHERE id = $3 AND merchant_id = $4",
        )
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
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {VARIANT_COLUMNS}, (SELECT p.active FROM products p WHERE p.id = variants.product_id) AS product_active FROM variants WHERE merchant_id = $1 AND id IN ({list})"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(merchant.to_string());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                let active = r.try_get::<Option<i64>, _>("product_active")? == Some(1);
                out.push((variant_from_row(&r)?, active));
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
        let row = sqlx::query("SELECT active FROM products WHERE id = $1 AND merchant_id = $2")
            .bind(product.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        Ok(matches!(
            row.map(|r| r.try_get::<i64, _>("active")).transpose()?,
            Some(1)
        ))
    }

    /// Adds a stock location.
    pub async fn create_location(
        &self,
        merchant: MerchantId,
        location: &Location,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO locations (id, merchant_id, name, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(location.id.to_string())
        .bind(merchant.to_string())
        .bind(location.name.clone())
        .bind(now_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// All of a merchant's locations.
    pub async fn list_locations(&self, merchant: MerchantId) -> StoreResult<Vec<Location>> {
        sqlx::query("SELECT id, name FROM locations WHERE merchant_id = $1 ORDER BY id")
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(Location {
                    id: parse_id(&r.try_get::<String, _>("id")?)?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// Sets the on-hand count of a variant at a location (an admin correction or a
    /// restock). Refused with [`StoreError::Constraint`] when it would drop below
    /// what is already held or committed.
    pub async fn set_on_hand(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        location: LocationId,
        on_hand: i64,
    ) -> StoreResult<StockLevel> {
        let mut tx = self.write.begin().await?;
        let owned = sqlx::query("SELECT (SELECT COUNT(*) FROM variants WHERE id = $1 AND merchant_id = $2) + (SELECT COUNT(*) FROM locations WHERE id = $3 AND merchant_id = $4) AS n")
            .bind(variant.to_string())
            .bind(merchant.to_string())
            .bind(location.to_string())
            .bind(merchant.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>("n")?;
        if owned != 2 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("INSERT INTO stock_levels (variant_id, location_id, merchant_id, on_hand) VALUES ($1, $2, $3, $4) ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = excluded.on_hand")
            .bind(variant.to_string())
            .bind(location.to_string())
            .bind(merchant.to_string())
            .bind(on_hand)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let levels = self.stock_levels(merchant, &[variant]).await?;
        levels
            .into_iter()
            .find(|l| l.location_id == location)
            .ok_or(StoreError::NotFound)
    }

    /// Stock rows for the given variants, at every location.
    pub async fn stock_levels(
        &self,
        merchant: MerchantId,
        variants: &[VariantId],
    ) -> StoreResult<Vec<StockLevel>> {
        let mut out = Vec::new();
        for v in variants {
            let rows = sqlx::query("SELECT variant_id, location_id, on_hand, held, committed FROM stock_levels WHERE variant_id = $1 AND merchant_id = $2 ORDER BY location_id")
                .bind(v.to_string())
                .bind(merchant.to_string())
                .fetch_all(&self.read)
                .await?;
            for r in rows {
                out.push(StockLevel {
                    variant_id: parse_id(&r.try_get::<String, _>("variant_id")?)?,
                    location_id: parse_id(&r.try_get::<String, _>("location_id")?)?,
                    on_hand: r.try_get("on_hand")?,
                    held: r.try_get("held")?,
                    committed: r.try_get("committed")?,
                });
            }
        }
        Ok(out)
    }

    /// Adds a shipping zone with its rates.
    pub async fn create_shipping_zone(
        &self,
        merchant: MerchantId,
        zone: &ShippingZone,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.insert_doc("INSERT INTO shipping_zones (id, merchant_id, doc, created_at_ms) VALUES ($1, $2, $3, $4)", zone.id.to_string(), merchant, serde_json::to_string(zone)?, now_ms).await
    }

    /// All shipping zones of a merchant.
    pub async fn list_shipping_zones(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Vec<ShippingZone>> {
        self.list_docs(
            "SELECT doc FROM shipping_zones WHERE merchant_id = $1 ORDER BY id",
            merchant,
        )
        .await
    }

    /// Adds a tax rate.
    pub async fn create_tax_rate(
        &self,
        merchant: MerchantId,
        rate: &TaxRate,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.insert_doc(
            "INSERT INTO tax_rates (id, merchant_id, doc, created_at_ms) VALUES ($1, $2, $3, $4)",
            rate.id.to_string(),
            merchant,
            serde_json::to_string(rate)?,
            now_ms,
        )
        .await
    }

    /// All tax rates of a merchant.
    pub async fn list_tax_rates(&self, merchant: MerchantId) -> StoreResult<Vec<TaxRate>> {
        self.list_docs(
            "SELECT doc FROM tax_rates WHERE merchant_id = $1 ORDER BY id",
            merchant,
        )
        .await
    }

    /// Adds a discount code ([`StoreError::Duplicate`] when the code exists).
    pub async fn create_discount(
        &self,
        merchant: MerchantId,
        discount: &Discount,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO discounts (id, merchant_id, code, doc, times_redeemed, created_at_ms) VALUES ($1, $2, $3, $4, 0, $5)")
            .bind(discount.id.to_string())
            .bind(merchant.to_string())
            .bind(discount.code.clone())
            .bind(serde_json::to_string(discount)?)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// All discount codes, with their live redemption counts.
    pub async fn list_discounts(&self, merchant: MerchantId) -> StoreResult<Vec<Discount>> {
        sqlx::query("SELECT doc, times_redeemed FROM discounts WHERE merchant_id = $1 ORDER BY id")
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                let mut d: Discount = serde_json::from_str(&r.try_get::<String, _>("doc")?)?;
                d.times_redeemed =
                    u32::try_from(r.try_get::<i64, _>("times_redeemed")?).unwrap_or(u32::MAX);
                Ok(d)
            })
            .collect()
    }

    async fn insert_doc(
        &self,
        sql: &'static str,
        id: String,
        merchant: MerchantId,
        doc: String,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(sql)
            .bind(id)
            .bind(merchant.to_string())
            .bind(doc)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn list_docs<T: serde::de::DeserializeOwned>(
        &self,
        sql: &'static str,
        merchant: MerchantId,
    ) -> StoreResult<Vec<T>> {
        sqlx::query(sql)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("doc")?)?))
            .collect()
    }
}
