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
    /// Ad servers trusted to place this checkout on any publisher's page (see
    /// `anycart_store::PlacementSettings::ad_servers`).
    pub ad_servers: Vec<String>,
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
    let allowed_origins = origins(&req.allowed_origins, "$.allowed_origins")?;
    if req.ad_servers.len() > ALLOWED_ORIGINS_MAX {
        return Err(invalid(
            "$.ad_servers",
            format!("list at most {ALLOWED_ORIGINS_MAX} ad server origins"),
        ));
    }
    let ad_servers = origins(&req.ad_servers, "$.ad_servers")?;
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
            ad_servers,
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

/// A list of origins (at JSONPath `param`), normalised and without repeats.
fn origins(raw: &[String], param: &str) -> CheckoutResult<Vec<String>> {
    let mut allowed = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let origin = parse_origin(o).ok_or_else(|| {
            invalid(
                &format!("{param}[{i}]"),
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

/// Most frames an ad chain may report above the host page (publisher, ad
/// servers, creative wrappers); real chains have two or three.
pub const AD_CHAIN_ANCESTORS_MAX: usize = 8;

/// The frames a checkout would be shown in: the host page's origin (where the
/// loader runs: the page itself, or an ad's creative frame) and, innermost first,
/// the origins of the frames around it as the browser reports them
/// (`location.ancestorOrigins`). Only built from normalised origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameChain(Vec<String>);

impl FrameChain {
    /// `host` and its reported `ancestors` (a comma-separated list, innermost
    /// first), or `None` when any of them is not an origin or there are too many.
    pub fn parse(host: &str, ancestors: Option<&str>) -> Option<FrameChain> {
        let mut chain = vec![parse_origin(host)?];
        if let Some(list) = ancestors.filter(|l| !l.trim().is_empty()) {
            let outer: Vec<&str> = list.split(',').collect();
            if outer.len() > AD_CHAIN_ANCESTORS_MAX {
                return None;
            }
            for o in outer {
                chain.push(parse_origin(o)?);
            }
        }
        Some(FrameChain(chain))
    }

    /// The host page's origin.
    pub fn host(&self) -> &str {
        &self.0[0]
    }

    /// Every origin of the chain, without repeats, innermost first.
    pub fn origins(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(self.0.len());
        for o in &self.0 {
            if !out.contains(&o.as_str()) {
                out.push(o);
            }
        }
        out
    }

    /// Whether `settings` lets the checkout show in this chain: every frame is
    /// on the allow-list, except that once the chain passes through a trusted ad
    /// server, the frames outside it (the publishers that ad server serves) need
    /// not be listed. Frames inside the ad server (its creative wrappers) must be
    /// listed as allowed origins or ad servers themselves.
    pub fn allowed_by(&self, settings: &PlacementSettings) -> bool {
        let listed =
            |o: &String| settings.allowed_origins.contains(o) || settings.ad_servers.contains(o);
        match self.0.iter().position(|o| settings.ad_servers.contains(o)) {
            Some(i) => self.0[..=i].iter().all(listed),
            None => self.0.iter().all(|o| settings.allowed_origins.contains(o)),
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    fn settings(allowed: &[&str], ad_servers: &[&str]) -> PlacementSettings {
        PlacementSettings {
            name: "ad".into(),
            variant_id: None,
            quantity: 1,
            channel: Channel::DisplayAd,
            campaign: Campaign::default(),
            allowed_origins: allowed.iter().map(|s| s.to_string()).collect(),
            ad_servers: ad_servers.iter().map(|s| s.to_string()).collect(),
            theme: Theme::default(),
            publishable_key: "pk".into(),
        }
    }

    const PUB: &str = "https://news.example";
    const ADS: &str = "https://ads.example";
    const CDN: &str = "https://creatives.example";

    #[test]
    fn a_page_of_its_own_needs_its_origin_listed() {
        let chain = FrameChain::parse(PUB, None).unwrap();
        assert!(chain.allowed_by(&settings(&[PUB], &[])));
        assert!(!chain.allowed_by(&settings(&[ADS], &[])));
    }

    #[test]
    fn every_frame_of_an_ad_chain_is_listed_or_the_chain_is_refused() {
        let chain = FrameChain::parse(CDN, Some(&format!("{ADS},{PUB}"))).unwrap();
        assert!(chain.allowed_by(&settings(&[CDN, ADS, PUB], &[])));
        assert!(
            !chain.allowed_by(&settings(&[CDN, ADS], &[])),
            "the publisher is not listed"
        );
    }

    #[test]
    fn a_trusted_ad_server_vouches_for_the_publishers_outside_it_only() {
        let any_pub = FrameChain::parse(CDN, Some(&format!("{ADS},https://blog.example"))).unwrap();
        assert!(any_pub.allowed_by(&settings(&[CDN], &[ADS])));
        assert!(any_pub.allowed_by(&settings(&[], &[ADS, CDN])));
        // A creative frame inside the ad server must still be listed.
        assert!(!any_pub.allowed_by(&settings(&[], &[ADS])));
        // A chain that never passes through the ad server is not vouched for.
        let direct = FrameChain::parse(CDN, Some("https://blog.example")).unwrap();
        assert!(!direct.allowed_by(&settings(&[CDN], &[ADS])));
    }

    #[test]
    fn malformed_or_overlong_chains_are_not_chains() {
        assert_eq!(FrameChain::parse(PUB, Some("null")), None);
        assert_eq!(
            FrameChain::parse(PUB, Some("https://a.example; script-src *")),
            None
        );
        let long = [ADS; AD_CHAIN_ANCESTORS_MAX + 1].join(",");
        assert_eq!(FrameChain::parse(PUB, Some(&long)), None);
        let ok = FrameChain::parse(PUB, Some(&format!("{ADS},{PUB}"))).unwrap();
        assert_eq!(ok.origins(), vec![PUB, ADS]);
        assert_eq!(ok.host(), PUB);
    }
}
