//! Placements: where the embeddable checkout may appear, what it sells, how it
//! looks and which host origins may frame it. Creating one also mints its own
//! publishable key, so one embed can be revoked without touching the merchant's
//! other integrations. Used by the admin API and the demo.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult};
use crate::keys::generate_key;
use anycart_core::attribution::Attribution;
use anycart_core::{MerchantId, PlacementId, ProductId, VariantId};
use anycart_store::{ApiKeyKind, Campaign, Channel, Placement, PlacementSettings, Store, Theme};
use secrecy::ExposeSecret;

/// Most host origins one placement may list (an allow-list, not a wildcard).
pub const ALLOWED_ORIGINS_MAX: usize = 20;
/// Largest preselected quantity (the checkout API's own bound).
pub const QUANTITY_MAX: u32 = 999;
/// Longest free-text field (name, campaign fields, font family).
pub const TEXT_CHARS_MAX: usize = 100;
/// Largest corner radius a theme may ask for, in CSS pixels.
pub const RADIUS_PX_MAX: u32 = 32;
/// Longest logo URL.
pub const URL_CHARS_MAX: usize = 2048;

/// A placement as the merchant asks for it, not yet checked. Errors name fields
/// by their JSONPath in this shape (`$.theme.primary_color`).
#[derive(Clone, Debug, Default)]
pub struct PlacementSpec {
    pub name: Option<String>,
    pub product_id: String,
    pub variant_id: Option<String>,
    pub quantity: Option<u32>,
    /// `display_ad`, `publisher`, `social`, `ctv` or `own_site`.
    pub channel: String,
    pub campaign: Campaign,
    /// Host page origins allowed to show the widget, e.g. `https://news.example`.
    pub allowed_origins: Vec<String>,
    pub theme: Theme,
    pub enabled: bool,
}

fn invalid(param: &str, message: impl Into<String>) -> CheckoutError {
    CheckoutError::invalid(param, message)
}

/// The wire name of a channel.
pub fn channel_name(c: Channel) -> &'static str {
    c.as_str()
}

/// Parses a placement's channel (one a placement can be shown on).
pub fn parse_channel(s: &str) -> CheckoutResult<Channel> {
    Channel::parse(s)
        .filter(|c| Channel::PLACEMENT.contains(c))
        .ok_or_else(|| {
            let names: Vec<&str> = Channel::PLACEMENT.iter().map(|c| c.as_str()).collect();
            invalid(
                "$.channel",
                format!("channel must be one of {}", names.join(", ")),
            )
        })
}

/// Normalises a host origin (`scheme://host[:port]`, lower case, no path) or says
/// why not. Exact origins only: a wildcard would let any page frame the checkout.
pub fn parse_origin(value: &str) -> Option<String> {
    let v = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    (host_ok && port_ok).then_some(v)
}

fn opt_text(value: &Option<String>, param: &str) -> CheckoutResult<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > TEXT_CHARS_MAX || v.chars().any(char::is_control) {
        return Err(invalid(
            param,
            format!("must be at most {TEXT_CHARS_MAX} printable characters"),
        ));
    }
    Ok(Some(v.to_string()))
}

fn colour(value: &Option<String>, param: &str) -> CheckoutResult<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    let hex = v.strip_prefix('#').unwrap_or("");
    if !matches!(hex.len(), 3 | 6) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(param, "colours are #rgb or #rrggbb"));
    }
    Ok(Some(v.to_ascii_lowercase()))
}

/// Checks a theme from the merchant (fields named `$.theme.…`).
pub fn theme(t: &Theme) -> CheckoutResult<Theme> {
    let font_family = opt_text(&t.font_family, "$.theme.font_family")?;
    if let Some(f) = &font_family {
        // The font list ends up in a CSS custom property: refuse anything that could
        // close the declaration or load a resource.
        if !f
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ,-'\"".contains(c))
        {
            return Err(invalid(
                "$.theme.font_family",
                "a font-family list may only hold letters, digits, spaces, commas, hyphens and quotes",
            ));
        }
    }
    if t.radius_px.is_some_and(|r| r > RADIUS_PX_MAX) {
        return Err(invalid(
            "$.theme.radius_px",
            format!("radius_px must be 0–{RADIUS_PX_MAX}"),
        ));
    }
    let logo_url = match &t.logo_url {
        Some(u) => {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= URL_CHARS_MAX
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || "\"'<>()\\".contains(c));
            if !ok {
                return Err(invalid("$.theme.logo_url", "must be an http(s) URL"));
            }
            Some(u.clone())
        }
        None => None,
    };
    Ok(Theme {
        primary_color: colour(&t.primary_color, "$.theme.primary_color")?,
        background_color: colour(&t.background_color, "$.theme.background_color")?,
        text_color: colour(&t.text_color, "$.theme.text_color")?,
        font_family,
        radius_px: t.radius_px,
        logo_url,
        dark: t.dark,
    })
}

impl CheckoutService {
    /// Where a checkout opened with a key comes from: a placement's own
    /// publishable key gives that placement's channel and campaign; the
    /// merchant's secret key is a server of theirs (`api`); their general
    /// publishable key is their own site.
    pub async fn key_attribution(
        &self,
        merchant: MerchantId,
        kind: ApiKeyKind,
        placement: Option<PlacementId>,
    ) -> CheckoutResult<Attribution> {
        if let Some(id) = placement
            && let Some(p) = self.store.get_placement(merchant, id).await?
        {
            return Ok(Attribution {
                channel: p.settings.channel,
                placement_id: Some(p.id),
                campaign: p.settings.campaign,
                agent: None,
            });
        }
        Ok(Attribution::channel(match kind {
            ApiKeyKind::Secret => Channel::Api,
            ApiKeyKind::Publishable => Channel::OwnSite,
        }))
    }
}

impl CheckoutService {
    /// Validates a new placement against `merchant`'s catalogue and stores it with
    /// a fresh publishable key.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn create_placement(
        &self,
        merchant: MerchantId,
        req: &PlacementSpec,
    ) -> CheckoutResult<Placement> {
        create(&self.store, merchant, req, self.now_ms()).await
    }
}

/// [`CheckoutService::create_placement`] on a bare store (the demo seeds before
/// the service runs).
pub async fn create(
    store: &Store,
    merchant: MerchantId,
    req: &PlacementSpec,
    now_ms: i64,
) -> CheckoutResult<Placement> {
    let (product_id, mut settings) = checked(store, merchant, req).await?;
    let (key, key_record) = generate_key(merchant, ApiKeyKind::Publishable, now_ms);
    settings.publishable_key = key.expose_secret().to_string();
    let placement = Placement {
        id: PlacementId::new(),
        merchant_id: merchant,
        product_id,
        enabled: req.enabled,
        settings,
        created_at_ms: now_ms,
    };
    store.create_placement(&placement, &key_record).await?;
    Ok(placement)
}

/// [`PlacementSpec`] checked against `merchant`'s catalogue: the product and the
/// settings (with no publishable key yet).
async fn checked(
    store: &Store,
    merchant: MerchantId,
    req: &PlacementSpec,
) -> CheckoutResult<(ProductId, PlacementSettings)> {
    let product_id = ProductId::parse(&req.product_id)
        .map_err(|_| invalid("$.product_id", "not a product id"))?;
    let product = store
        .get_product(merchant, product_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| invalid("$.product_id", "no such active product"))?;
    let variant_id = match &req.variant_id {
        Some(v) => {
            let id = VariantId::parse(v)
                .ok()
                .filter(|id| product.variants.iter().any(|x| x.id == *id));
            Some(id.ok_or_else(|| invalid("$.variant_id", "not a variant of this product"))?)
        }
        None => None,
    };
    let quantity = req.quantity.unwrap_or(1);
    if !(1..=QUANTITY_MAX).contains(&quantity) {
        return Err(invalid(
            "$.quantity",
            format!("quantity must be 1–{QUANTITY_MAX}"),
        ));
    }
    let channel = parse_channel(&req.channel)?;
    if req.allowed_origins.is_empty() || req.allowed_origins.len() > ALLOWED_ORIGINS_MAX {
        return Err(invalid(
            "$.allowed_origins",
            format!("list 1–{ALLOWED_ORIGINS_MAX} host origins such as https://news.example"),
        ));
    }
    let allowed_origins = origins(&req.allowed_origins)?;
    let campaign = campaign(&req.campaign)?;
    let name = opt_text(&req.name, "$.name")?.unwrap_or_else(|| product.title.clone());
    Ok((
        product_id,
        PlacementSettings {
            name,
            variant_id,
            quantity,
            channel,
            campaign,
            allowed_origins,
            theme: theme(&req.theme)?,
            publishable_key: String::new(),
        },
    ))
}

impl CheckoutService {
    /// Replaces a placement's settings (its id, key and creation time stay), checked
    /// as at creation. Sales already made keep the attribution they were made with.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, placement_id = %id))]
    pub async fn update_placement(
        &self,
        merchant: MerchantId,
        id: PlacementId,
        req: &PlacementSpec,
    ) -> CheckoutResult<Placement> {
        let current = self
            .store
            .get_placement(merchant, id)
            .await?
            .ok_or(CheckoutError::NotFound(crate::Resource::Placement))?;
        let (product_id, mut settings) = checked(&self.store, merchant, req).await?;
        settings.publishable_key = current.settings.publishable_key.clone();
        let placement = Placement {
            product_id,
            enabled: req.enabled,
            settings,
            ..current
        };
        if !self.store.update_placement(&placement).await? {
            return Err(CheckoutError::NotFound(crate::Resource::Placement));
        }
        Ok(placement)
    }
}

/// The allow-list, normalised and without repeats.
fn origins(raw: &[String]) -> CheckoutResult<Vec<String>> {
    let mut allowed = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let origin = parse_origin(o).ok_or_else(|| {
            invalid(
                &format!("$.allowed_origins[{i}]"),
                "an origin is scheme://host[:port] with no path or wildcard",
            )
        })?;
        if !allowed.contains(&origin) {
            allowed.push(origin);
        }
    }
    Ok(allowed)
}

fn campaign(c: &Campaign) -> CheckoutResult<Campaign> {
    Ok(Campaign {
        name: opt_text(&c.name, "$.campaign.name")?,
        source: opt_text(&c.source, "$.campaign.source")?,
        medium: opt_text(&c.medium, "$.campaign.medium")?,
        content: opt_text(&c.content, "$.campaign.content")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_scheme_host_port() {
        assert_eq!(
            parse_origin("https://News.Example/").as_deref(),
            Some("https://news.example")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        for bad in [
            "*",
            "https://*.example",
            "news.example",
            "https://a.example/path",
            "ftp://a.example",
            "https://a.example:0",
            "https://a.example:99999",
            "javascript:alert(1)",
            "https://",
            "https://a b",
        ] {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn themes_refuse_css_injection() {
        let t = |f: Theme| {
            theme(&f).map_err(|e| match e {
                CheckoutError::Invalid { param, .. } => param,
                other => other.to_string(),
            })
        };
        assert!(
            t(Theme {
                primary_color: Some("#0a7".into()),
                font_family: Some("\"Inter\", sans-serif".into()),
                radius_px: Some(8),
                ..Default::default()
            })
            .is_ok()
        );
        assert_eq!(
            t(Theme {
                primary_color: Some("red;x".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.primary_color"
        );
        assert_eq!(
            t(Theme {
                font_family: Some("a;}body{x:url(y)".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.font_family"
        );
        assert_eq!(
            t(Theme {
                radius_px: Some(99),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.radius_px"
        );
        assert_eq!(
            t(Theme {
                logo_url: Some("javascript:x".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.logo_url"
        );
    }
}
