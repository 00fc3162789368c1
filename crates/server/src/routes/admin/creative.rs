//! A placement as an IAB HTML5 creative, ready to upload to an ad server:
//! `GET /v1/placements/{id}/creative.zip?size=300x250` is a zip holding one
//! `index.html` with the ad size meta tag (`<meta name="ad.size"
//! content="width=300,height=250">`), the embed snippet at that size, and a
//! click-through fallback after the IAB `clickTag` convention (the ad server
//! replaces `clickTag` with its tracking URL), shown when the checkout cannot
//! load (scripts off, the checkout refused on this page).

use super::placements::load;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_core::PlacementId;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::io::Write;

/// The IAB sizes the widget is laid out for: medium rectangle and half page.
pub const CREATIVE_SIZES: [(u32, u32); 2] = [(300, 250), (300, 600)];
/// How long the creative waits for the checkout before showing the fallback.
const FALLBACK_AFTER_MS: u32 = 4_000;

/// `?size=WxH`, one of [`CREATIVE_SIZES`] (300x250 by default).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CreativeQuery {
    pub size: Option<String>,
}

/// The size asked for, if it is one the widget is laid out for.
pub fn creative_size(raw: Option<&str>) -> Option<(u32, u32)> {
    let Some(raw) = raw else {
        return Some(CREATIVE_SIZES[0]);
    };
    CREATIVE_SIZES
        .into_iter()
        .find(|(w, h)| raw == format!("{w}x{h}"))
}

/// The creative's `index.html`: the checkout at `width`×`height` inside the
/// slot, and a click-through to `landing_url` (the `clickTag` default) when it
/// cannot load. Only ids and URLs anycart made are written into it.
pub fn creative_html(
    base_url: &str,
    placement: PlacementId,
    (width, height): (u32, u32),
    landing_url: &str,
) -> String {
    let landing = serde_json::to_string(landing_url).unwrap_or_else(|_| "\"\"".into());
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"ad.size\" content=\"width={width},height={height}\">\n\
<title>Shop now</title>\n\
<style>html,body{{margin:0;width:{width}px;height:{height}px;overflow:hidden}}\
anycart-checkout{{display:block;width:{width}px;height:{height}px}}\
#fallback{{display:none;box-sizing:border-box;width:{width}px;height:{height}px;align-items:center;justify-content:center;font:bold 20px system-ui,sans-serif;color:#fff;background:#2b6cb0;text-decoration:none}}\
.failed anycart-checkout{{display:none}}.failed #fallback{{display:flex}}</style>\n\
<script>var clickTag = {landing};</script>\n\
</head>\n<body>\n\
<script src=\"{base_url}/embed.js\" async></script>\n\
<anycart-checkout placement=\"{placement}\" size=\"{width}x{height}\" label=\"Checkout\"></anycart-checkout>\n\
<a id=\"fallback\" href=\"javascript:window.open(window.clickTag)\">Shop now</a>\n\
<noscript><a href={landing} target=\"_blank\" style=\"display:flex;width:{width}px;height:{height}px\">Shop now</a></noscript>\n\
<script>\n\
(function () {{\n\
  var ready = false;\n\
  document.addEventListener('anycart:ready', function () {{ ready = true; }});\n\
  setTimeout(function () {{ if (!ready) document.body.className = 'failed'; }}, {FALLBACK_AFTER_MS});\n\
}})();\n\
</script>\n</body>\n</html>\n"
    )
}

/// The zip of one `index.html`.
fn zip_of(index_html: &str) -> Result<Vec<u8>, ApiError> {
    let fail = |e: &dyn std::fmt::Display| ApiError::internal(format!("creative zip: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("index.html", options)
        .map_err(|e| fail(&e))?;
    zip.write_all(index_html.as_bytes()).map_err(|e| fail(&e))?;
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

/// The placement as an IAB HTML5 creative (a zip with `index.html`: the ad size
/// meta tag, the embed at that size and a `clickTag` click-through fallback),
/// ready to upload to an ad server. List the ad server's origins as the
/// placement's `ad_servers` so it may serve the checkout on any publisher.
#[utoipa::path(get, path = "/placements/{id}/creative.zip", tag = "Admin",
    params(("id" = String, Path), CreativeQuery),
    responses((status = 200, content_type = "application/zip", description = "The creative"),
              (status = 400, body = crate::routes::acp::wire::ErrorWire), (status = 404)),
    security(("bearer" = [])))]
pub async fn creative_zip(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    Query(q): Query<CreativeQuery>,
) -> Result<Response, ApiError> {
    let p = load(&state, &caller, &id).await?;
    let size = creative_size(q.size.as_deref())
        .ok_or_else(|| ApiError::invalid("size", "size is 300x250 or 300x600"))?;
    let base = state.config.base_url.trim_end_matches('/');
    let html = creative_html(base, p.id, size, &format!("{base}/buy/{}", p.id));
    let body = zip_of(&html)?;
    let disposition = format!(
        "attachment; filename=\"anycart-{}-{}x{}.zip\"",
        p.id, size.0, size.1
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .map_err(|_| ApiError::internal("creative file name"))?,
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn only_the_laid_out_sizes_are_offered() {
        assert_eq!(creative_size(None), Some((300, 250)));
        assert_eq!(creative_size(Some("300x600")), Some((300, 600)));
        for bad in ["728x90", "300X250", "", "300x250x1"] {
            assert_eq!(creative_size(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_zip_holds_an_iab_index_with_size_snippet_and_click_tag() {
        let id = PlacementId::new();
        let html = creative_html(
            "https://shop.example",
            id,
            (300, 250),
            "https://shop.example/buy/x",
        );
        let bytes = zip_of(&html).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut index = String::new();
        archive
            .by_name("index.html")
            .unwrap()
            .read_to_string(&mut index)
            .unwrap();
        assert!(index.contains("<meta name=\"ad.size\" content=\"width=300,height=250\">"));
        assert!(index.contains(&format!(
            "<anycart-checkout placement=\"{id}\" size=\"300x250\""
        )));
        assert!(index.contains("<script src=\"https://shop.example/embed.js\" async></script>"));
        assert!(index.contains("var clickTag = \"https://shop.example/buy/x\";"));
        assert!(index.contains("window.open(window.clickTag)"));
    }
}
