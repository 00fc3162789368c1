//! `anycart catalogue import DIR`: a merchant's catalogue from CSV files —
//! products and variants, stock, discount codes, shipping rates and free-shipping
//! promotions. The format is documented in `docs/src/catalogue-import.md`; the
//! UCP conformance suite's `flower_shop` data is one example of it.
//!
//! Parsing is pure (`parse`: files to a [`Plan`], every error naming its file,
//! line and column); applying goes through the store like every other import.
//! Re-running an import updates what it created (products by their id, variants
//! by SKU, codes by code) and replaces the shipping table.

mod apply;
mod csv;

pub use apply::apply;

use anycart_core::catalogue::{Sku, VariantOption};
use anycart_core::pricing::{Discount, DiscountKind, normalise_code};
use anycart_core::{CountryCode, Currency, DiscountId, Money};
use anyhow::{Context, Result, anyhow, bail};
use csv::{Row, Table};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What import links CSV ids under (like a platform's ids).
pub const SOURCE: &str = "csv";
/// Stock location used when `inventory.csv` names none.
pub const DEFAULT_LOCATION: &str = "Main warehouse";

/// A product to create or update.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductPlan {
    /// The merchant's id of the product (`products.csv` `id`).
    pub handle: String,
    pub title: String,
    pub description: String,
    pub image_url: Option<String>,
    pub active: bool,
    pub variants: Vec<VariantPlan>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VariantPlan {
    pub sku: Sku,
    pub title: String,
    pub price: Money,
    pub options: Vec<VariantOption>,
    pub image_url: Option<String>,
    pub max_quantity_per_order: Option<u32>,
}

/// A shipping rate as `shipping_rates.csv` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RatePlan {
    pub code: String,
    /// `None` for `default` (every country without its own rate of this level).
    pub country: Option<CountryCode>,
    pub service_level: String,
    pub amount: Money,
    pub title: String,
    pub carrier: Option<String>,
    pub days: (u32, u32),
    pub free_over_minor: Option<i64>,
}

/// A free-shipping promotion.
#[derive(Clone, Debug, PartialEq)]
pub struct PromotionPlan {
    pub id: String,
    pub min_subtotal_minor: Option<i64>,
    /// Product ids or SKUs whose presence makes shipping free.
    pub eligible: Vec<String>,
    pub service_levels: Vec<String>,
}

/// Everything an import would write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub products: Vec<ProductPlan>,
    /// (SKU or product id, location name, on hand).
    pub stock: Vec<(String, String, i64)>,
    pub discounts: Vec<Discount>,
    pub rates: Vec<RatePlan>,
    pub promotions: Vec<PromotionPlan>,
}

fn read(dir: &Path, name: &str) -> Result<Option<Table>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Table::parse(name, &text).map(Some)
}

/// Reads the CSV files of `dir` into a plan (nothing is written).
pub fn parse(dir: &Path, currency: Currency) -> Result<Plan> {
    let products = read(dir, "products.csv")?
        .ok_or_else(|| anyhow!("{}: products.csv is required", dir.display()))?;
    let variants = read(dir, "variants.csv")?;
    let mut plan = Plan {
        products: parse_products(&products, variants.as_ref(), currency)?,
        ..Plan::default()
    };
    if let Some(t) = read(dir, "inventory.csv")? {
        plan.stock = parse_stock(&t)?;
    }
    if let Some(t) = read(dir, "discounts.csv")? {
        plan.discounts = parse_discounts(&t, currency)?;
    }
    if let Some(t) = read(dir, "shipping_rates.csv")? {
        plan.rates = parse_rates(&t, currency)?;
    }
    if let Some(t) = read(dir, "promotions.csv")? {
        plan.promotions = parse_promotions(&t)?;
    }
    Ok(plan)
}

fn money(row: &Row<'_>, column: &str, currency: Currency) -> Result<Money> {
    let minor = row
        .minor(column)?
        .ok_or_else(|| anyhow!("{}: required", row.at(column)))?;
    Money::new(minor, currency).map_err(|e| anyhow!("{}: {e}", row.at(column)))
}

fn text(row: &Row<'_>, column: &str) -> Result<String> {
    anycart_core::values::required_text("text", row.required(column)?)
        .map_err(|e| anyhow!("{}: {e}", row.at(column)))
}

fn sku(row: &Row<'_>, value: &str, column: &str) -> Result<Sku> {
    Sku::parse(value).map_err(|e| anyhow!("{}: {e}", row.at(column)))
}

fn max_per_order(row: &Row<'_>) -> Result<Option<u32>> {
    row.int("max_per_order")?
        .map(|m| u32::try_from(m).ok().filter(|m| *m > 0))
        .map(|m| m.ok_or_else(|| anyhow!("{}: must be a positive number", row.at("max_per_order"))))
        .transpose()
}

/// `key=value;key=value` variant options.
fn options(row: &Row<'_>) -> Result<Vec<VariantOption>> {
    let Some(raw) = row.get("options") else {
        return Ok(vec![]);
    };
    raw.split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (name, value) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("{}: options are `Name=Value;…`", row.at("options")))?;
            Ok(VariantOption {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
            })
        })
        .collect()
}

fn parse_products(
    products: &Table,
    variants: Option<&Table>,
    currency: Currency,
) -> Result<Vec<ProductPlan>> {
    let mut by_product: BTreeMap<String, Vec<VariantPlan>> = BTreeMap::new();
    if let Some(t) = variants {
        for row in t.records() {
            let product = row.required("product_id")?.to_string();
            let sku_text = row.required("sku")?;
            by_product.entry(product).or_default().push(VariantPlan {
                sku: sku(&row, sku_text, "sku")?,
                title: text(&row, "title")?,
                price: money(&row, "price", currency)?,
                options: options(&row)?,
                image_url: row.get("image_url").map(String::from),
                max_quantity_per_order: max_per_order(&row)?,
            });
        }
    }
    let mut out = vec![];
    let mut seen = BTreeSet::new();
    for row in products.records() {
        let handle = row.required("id")?.to_string();
        if !seen.insert(handle.clone()) {
            bail!("{}: product `{handle}` is listed twice", row.at("id"));
        }
        let title = text(&row, "title")?;
        let variants = match by_product.remove(&handle) {
            Some(v) => v,
            None => vec![VariantPlan {
                sku: sku(&row, row.get("sku").unwrap_or(&handle), "sku")?,
                title: title.clone(),
                price: money(&row, "price", currency)?,
                options: vec![],
                image_url: None,
                max_quantity_per_order: max_per_order(&row)?,
            }],
        };
        if variants.len() > anycart_core::catalogue::VARIANTS_PER_PRODUCT_MAX {
            bail!("{}: too many variants", row.at("id"));
        }
        out.push(ProductPlan {
            handle,
            title,
            description: row.get("description").unwrap_or_default().to_string(),
            image_url: row.get("image_url").map(String::from),
            active: row.flag("active", true)?,
            variants,
        });
    }
    if let Some((orphan, _)) = by_product.into_iter().next() {
        bail!("variants.csv: product `{orphan}` is not in products.csv");
    }
    let mut skus = BTreeSet::new();
    for v in out.iter().flat_map(|p| &p.variants) {
        if !skus.insert(v.sku.as_ref().to_string()) {
            bail!("SKU `{}` is used twice", v.sku.as_ref());
        }
    }
    Ok(out)
}

fn parse_stock(t: &Table) -> Result<Vec<(String, String, i64)>> {
    let key = if t.has("sku") { "sku" } else { "product_id" };
    t.records()
        .map(|row| {
            let id = row.required(key)?.to_string();
            let quantity = row
                .minor("quantity")?
                .ok_or_else(|| anyhow!("{}: required", row.at("quantity")))?;
            if quantity > anycart_core::catalogue::ON_HAND_MAX {
                bail!("{}: too large", row.at("quantity"));
            }
            let location = row.get("location").unwrap_or(DEFAULT_LOCATION).to_string();
            Ok((id, location, quantity))
        })
        .collect()
}

/// A timestamp column: unix milliseconds or RFC 3339.
fn time_ms(row: &Row<'_>, column: &str) -> Result<Option<i64>> {
    let Some(v) = row.get(column) else {
        return Ok(None);
    };
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(Some(ms));
    }
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            anyhow!(
                "{}: `{v}` is neither unix milliseconds nor RFC 3339",
                row.at(column)
            )
        })?;
    Ok(Some(
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
    ))
}

fn parse_discounts(t: &Table, currency: Currency) -> Result<Vec<Discount>> {
    let mut codes = BTreeSet::new();
    t.records()
        .map(|row| {
            let code = normalise_code(row.required("code")?);
            let valid = !code.is_empty()
                && code.len() <= anycart_core::pricing::DISCOUNT_CODE_LEN_MAX
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                bail!(
                    "{}: codes are 1 to 64 letters, digits, `-` or `_`",
                    row.at("code")
                );
            }
            if !codes.insert(code.clone()) {
                bail!("{}: code `{code}` is listed twice", row.at("code"));
            }
            let value = row.required("value")?;
            let kind = match row.required("type")? {
                "percentage" => {
                    let percent: f64 = value
                        .parse()
                        .ok()
                        .filter(|p: &f64| *p > 0.0 && *p <= 100.0)
                        .ok_or_else(|| {
                            anyhow!("{}: a percentage from 0 to 100", row.at("value"))
                        })?;
                    // Basis points from at most two decimals (12.5 % = 1250).
                    let bps = (percent * 100.0).round();
                    DiscountKind::Percentage {
                        rate_bps: format!("{bps:.0}").parse().unwrap_or(0),
                    }
                }
                "fixed_amount" => DiscountKind::FixedAmount {
                    amount: money(&row, "value", currency)?,
                },
                other => bail!(
                    "{}: `{other}` is not percentage or fixed_amount",
                    row.at("type")
                ),
            };
            Ok(Discount {
                id: DiscountId::new(),
                name: row.get("description").unwrap_or(&code).to_string(),
                code,
                kind,
                min_subtotal_minor: row.minor("min_subtotal")?.filter(|m| *m > 0),
                starts_at_ms: time_ms(&row, "starts_at")?,
                ends_at_ms: time_ms(&row, "ends_at")?,
                max_redemptions: row
                    .int("max_redemptions")?
                    .map(|m| {
                        u32::try_from(m)
                            .map_err(|_| anyhow!("{}: out of range", row.at("max_redemptions")))
                    })
                    .transpose()?,
                times_redeemed: 0,
                active: row.flag("active", true)?,
                // Coupon files stack by default; `combinable=false` makes a code
                // apply alone.
                combinable: row.flag("combinable", true)?,
            })
        })
        .collect()
}

/// Delivery days by service level when the file does not say.
fn default_days(level: &str) -> (u32, u32) {
    match level {
        "express" => (1, 2),
        "overnight" | "next_day" => (1, 1),
        "standard" => (3, 5),
        _ => (3, 7),
    }
}

fn parse_rates(t: &Table, currency: Currency) -> Result<Vec<RatePlan>> {
    let mut seen = BTreeSet::new();
    t.records()
        .map(|row| {
            let code = row.required("id")?.to_string();
            let country_text = row.get("country_code").unwrap_or("default");
            let country = if country_text.eq_ignore_ascii_case("default") || country_text == "*" {
                None
            } else {
                Some(
                    CountryCode::parse(country_text)
                        .map_err(|e| anyhow!("{}: {e}", row.at("country_code")))?,
                )
            };
            let level = row
                .get("service_level")
                .unwrap_or("standard")
                .to_ascii_lowercase();
            let key = country.as_ref().map(|c| c.as_ref().to_string());
            if !seen.insert((key, level.clone())) {
                bail!(
                    "{}: two rates of level `{level}` for one country",
                    row.at("service_level")
                );
            }
            let (min, max) = default_days(&level);
            let days = (
                row.int("min_days")?.map_or(Ok(min), u32::try_from)?,
                row.int("max_days")?.map_or(Ok(max), u32::try_from)?,
            );
            if days.0 > days.1 || days.1 > 365 {
                bail!("{}: min_days <= max_days <= 365", row.at("max_days"));
            }
            Ok(RatePlan {
                code,
                country,
                amount: money(&row, "price", currency)?,
                title: text(&row, "title")?,
                carrier: row.get("carrier").map(String::from),
                days,
                free_over_minor: row.minor("free_over")?,
                service_level: level,
            })
        })
        .collect()
}

fn parse_promotions(t: &Table) -> Result<Vec<PromotionPlan>> {
    t.records()
        .map(|row| {
            let id = row.required("id")?.to_string();
            match row.required("type")? {
                "free_shipping" => {}
                other => bail!(
                    "{}: `{other}` is not a promotion type (free_shipping)",
                    row.at("type")
                ),
            }
            let eligible = match row.get("eligible_item_ids") {
                None => vec![],
                Some(raw) if raw.starts_with('[') => serde_json::from_str::<Vec<String>>(raw)
                    .map_err(|_| anyhow!("{}: a JSON list of ids", row.at("eligible_item_ids")))?,
                Some(raw) => raw
                    .split([';', '|'])
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            };
            let min = row.minor("min_subtotal")?;
            if min.is_none() && eligible.is_empty() {
                bail!(
                    "{}: a free-shipping promotion needs min_subtotal or eligible_item_ids",
                    row.at("id")
                );
            }
            let service_levels = row.get("service_level").map_or_else(
                || vec!["standard".to_string()],
                |l| {
                    l.split([';', '|'])
                        .map(|s| s.trim().to_ascii_lowercase())
                        .collect()
                },
            );
            Ok(PromotionPlan {
                id,
                min_subtotal_minor: min,
                eligible,
                service_levels,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn the_conformance_suites_flower_shop_reads_as_a_plan() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/ucp/upstream/conformance/test_data/flower_shop");
        if !dir.exists() {
            return; // the shared suite is beside the repository in CI, not in every checkout
        }
        let plan = parse(&dir, usd()).unwrap();
        assert_eq!(plan.products.len(), 6);
        assert_eq!(plan.products[0].variants[0].sku.as_ref(), "bouquet_roses");
        assert_eq!(plan.products[0].variants[0].price.amount_minor, 3500);
        assert_eq!(plan.stock.len(), 6);
        assert!(plan.discounts.iter().all(|d| d.combinable));
        assert_eq!(plan.rates.len(), 3);
        assert_eq!(plan.promotions.len(), 2);
    }

    #[test]
    fn bad_rows_name_their_file_line_and_column() {
        let t = Table::parse("discounts.csv", "code,type,value\nX,percentage,150\n").unwrap();
        let e = parse_discounts(&t, usd()).unwrap_err().to_string();
        assert!(e.contains("discounts.csv:2 (value)"), "{e}");
        let t = Table::parse("discounts.csv", "code,type,value\nX,bogus,1\n").unwrap();
        assert!(parse_discounts(&t, usd()).is_err());
        let t = Table::parse(
            "discounts.csv",
            "code,type,value,combinable\nX,percentage,12.5,false\n",
        )
        .unwrap();
        let d = parse_discounts(&t, usd()).unwrap();
        assert_eq!(d[0].kind, DiscountKind::Percentage { rate_bps: 1250 });
        assert!(!d[0].combinable);
    }
}
