//! `/manual/`: the manual in `docs/src` (the mdBook CI builds), embedded in the
//! binary and rendered from Markdown, so every `anycart serve` carries the manual
//! of its own version and needs no network. Chapter URLs match mdBook's output
//! (`checkout-api.md` is `/manual/checkout-api.html`, heading anchors follow
//! mdBook's rule), so links work the same in both.

use super::escape;
use crate::state::AppState;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The book's sources (`docs/src`): SUMMARY.md and one Markdown file per chapter.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../docs/src"]
struct Book;

/// How long browsers may cache a chapter (the manual changes with the binary).
const CACHE_MAX_AGE_S: u32 = 300;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(manual_root))
        .routes(routes!(manual_home))
        .routes(routes!(chapter))
}

/// The manual lives under `/manual/`.
#[utoipa::path(get, path = "/manual", tag = "Pages",
    responses((status = 308, description = "Redirect to /manual/")))]
async fn manual_root() -> Redirect {
    Redirect::permanent("/manual/")
}

/// The manual's first chapter, with the table of contents.
#[utoipa::path(get, path = "/manual/", tag = "Pages",
    responses((status = 200, content_type = "text/html", description = "The introduction")))]
async fn manual_home() -> Response {
    chapter_page("introduction.html")
}

/// One chapter of the manual (`checkout-api.html` is `docs/src/checkout-api.md`).
#[utoipa::path(get, path = "/manual/{page}", tag = "Pages",
    params(("page" = String, Path, description = "A chapter's page, e.g. `checkout-api.html`")),
    responses((status = 200, content_type = "text/html", description = "The chapter"),
              (status = 404, content_type = "text/html", description = "No such chapter")))]
async fn chapter(Path(page): Path<String>) -> Response {
    chapter_page(&page)
}

/// One entry of SUMMARY.md.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chapter {
    title: String,
    /// `checkout-api.md`.
    file: String,
    /// 0 for top-level chapters, 1 for their sections.
    depth: usize,
}

/// The table of contents, parsed once from SUMMARY.md (`- [Title](file.md)`,
/// sub-chapters indented by two spaces).
fn summary() -> &'static [Chapter] {
    static SUMMARY: OnceLock<Vec<Chapter>> = OnceLock::new();
    SUMMARY.get_or_init(|| {
        let text = Book::get("SUMMARY.md")
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default();
        parse_summary(&text)
    })
}

fn parse_summary(text: &str) -> Vec<Chapter> {
    text.lines()
        .filter_map(|line| {
            let item = line.trim_start();
            let depth = (line.len() - item.len()) / 2;
            let rest = item.strip_prefix("- [")?;
            let (title, rest) = rest.split_once("](")?;
            let file = rest.strip_suffix(')')?;
            Some(Chapter {
                title: title.to_string(),
                file: file.to_string(),
                depth,
            })
        })
        .collect()
}

/// mdBook's heading ids: lower case, spaces become `-`, other punctuation goes.
fn heading_id(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// A relative link to another chapter's `.md` becomes its page (`.html`).
fn chapter_link(dest: &str) -> Option<String> {
    if dest.contains("://") || dest.starts_with('/') || dest.starts_with('#') {
        return None;
    }
    let (path, anchor) = dest.split_once('#').unwrap_or((dest, ""));
    let page = path.strip_suffix(".md")?;
    Some(if anchor.is_empty() {
        format!("{page}.html")
    } else {
        format!("{page}.html#{anchor}")
    })
}

/// Renders one chapter's Markdown: GFM tables, mdBook heading ids (unique within
/// the page) and chapter links rewritten to pages.
fn render_markdown(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();
    let mut out = Vec::with_capacity(events.len());
    let mut used = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        out.push(match event {
            Event::Start(Tag::Heading {
                level,
                classes,
                attrs,
                ..
            }) => Event::Start(Tag::Heading {
                level: *level,
                id: Some(CowStr::from(unique_id(
                    &heading_text(&events[i + 1..]),
                    &mut used,
                ))),
                classes: classes.clone(),
                attrs: attrs.clone(),
            }),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type: *link_type,
                dest_url: chapter_link(dest_url).map_or(dest_url.clone(), CowStr::from),
                title: title.clone(),
                id: id.clone(),
            }),
            other => other.clone(),
        });
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    html
}

/// The plain text of a heading whose events start at `rest`.
fn heading_text(rest: &[Event<'_>]) -> String {
    rest.iter()
        .take_while(|e| !matches!(e, Event::End(TagEnd::Heading(_))))
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect()
}

/// `id`, or `id-1`, `id-2`… when the page already has it (as mdBook does).
fn unique_id(text: &str, used: &mut HashSet<String>) -> String {
    let base = heading_id(text);
    let mut id = base.clone();
    let mut n = 0;
    while !used.insert(id.clone()) {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

/// Every chapter rendered once, by page name (`checkout-api.html`).
fn rendered() -> &'static HashMap<String, String> {
    static PAGES: OnceLock<HashMap<String, String>> = OnceLock::new();
    PAGES.get_or_init(|| {
        summary()
            .iter()
            .filter_map(|c| {
                let source = Book::get(&c.file)?;
                let page = c.file.strip_suffix(".md")?;
                let html = render_markdown(&String::from_utf8_lossy(&source.data));
                Some((format!("{page}.html"), html))
            })
            .collect()
    })
}

const STYLE: &str = "body{margin:0;font:16px/1.6 system-ui,sans-serif;color:#1a1a1a;display:flex;min-height:100vh}\
nav{width:16rem;flex:none;background:#f6f7f9;border-right:1px solid #e3e6ea;padding:1rem;box-sizing:border-box}\
nav a{display:block;color:#1a1a1a;text-decoration:none;padding:.15rem 0}nav a.sub{padding-left:1rem;font-size:.95em}\
nav a[aria-current]{font-weight:600;color:#2b6cb0}nav .home{font-weight:700;font-size:1.1em;margin-bottom:.75rem}\
main{max-width:48rem;padding:1rem 2rem 3rem;min-width:0}pre{background:#f6f7f9;padding:.75rem;overflow:auto;border-radius:4px}\
code{font-size:.92em}table{border-collapse:collapse;display:block;overflow:auto}td,th{border:1px solid #e3e6ea;padding:.3rem .6rem;text-align:left}\
.pager{display:flex;justify-content:space-between;margin-top:2rem;border-top:1px solid #e3e6ea;padding-top:1rem}\
@media(max-width:48rem){body{display:block}nav{width:auto}}";

fn nav(current: &str) -> String {
    let mut links = String::from("<a class=\"home\" href=\"/manual/\">anycart manual</a>");
    for c in summary() {
        let page = c.file.replace(".md", ".html");
        let class = if c.depth > 0 { " class=\"sub\"" } else { "" };
        let current = if page == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        links.push_str(&format!(
            "<a{class}{current} href=\"{}\">{}</a>",
            escape(&page),
            escape(&c.title)
        ));
    }
    links.push_str("<a href=\"/docs\">API reference ↗</a>");
    format!("<nav aria-label=\"Chapters\">{links}</nav>")
}

/// Links to the chapters before and after `index`.
fn pager(index: usize) -> String {
    let all = summary();
    let link = |c: &Chapter, label: &str| {
        format!(
            "<a href=\"{}\">{label} {}</a>",
            escape(&c.file.replace(".md", ".html")),
            escape(&c.title)
        )
    };
    let previous = index
        .checked_sub(1)
        .and_then(|i| all.get(i))
        .map(|c| link(c, "←"))
        .unwrap_or_default();
    let next = all.get(index + 1).map(|c| link(c, "→")).unwrap_or_default();
    format!("<div class=\"pager\"><span>{previous}</span><span>{next}</span></div>")
}

fn chapter_page(page: &str) -> Response {
    let Some(html) = rendered().get(page) else {
        let body = "<h1>No such chapter</h1><p><a href=\"/manual/\">Back to the manual</a></p>";
        return (StatusCode::NOT_FOUND, document("Not found", &nav(""), body)).into_response();
    };
    let index = summary()
        .iter()
        .position(|c| c.file.replace(".md", ".html") == page)
        .unwrap_or(0);
    let title = summary()
        .get(index)
        .map_or("anycart manual", |c| c.title.as_str());
    let body = format!("{html}{}", pager(index));
    let mut response = document(title, &nav(page), &body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={CACHE_MAX_AGE_S}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

fn document(title: &str, nav: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · anycart manual</title><style>{STYLE}</style></head><body>{nav}<main>{body}</main></body></html>",
        escape(title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chapter_in_the_summary_is_embedded_and_rendered() {
        let chapters = summary();
        assert!(chapters.len() > 10, "{chapters:?}");
        assert_eq!(chapters[0].file, "introduction.md");
        for c in chapters {
            let page = c.file.replace(".md", ".html");
            assert!(rendered().contains_key(&page), "{} is not rendered", c.file);
        }
    }

    #[test]
    fn headings_get_mdbook_ids_and_chapter_links_become_pages() {
        let html = render_markdown(
            "# Stock: holds & limits\n\n## Stock: holds & limits\n\nSee [the API](checkout-api.md#api-versions), \
             [away](https://example.com/a.md) and [here](#top).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1 id=\"stock-holds--limits\">"), "{html}");
        assert!(html.contains("<h2 id=\"stock-holds--limits-1\">"), "{html}");
        assert!(
            html.contains("href=\"checkout-api.html#api-versions\""),
            "{html}"
        );
        assert!(html.contains("href=\"https://example.com/a.md\""), "{html}");
        assert!(html.contains("href=\"#top\""), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn the_summary_keeps_nesting() {
        let parsed = parse_summary("# Summary\n\n- [A](a.md)\n  - [B](b.md)\n- [C](c.md)\n");
        let depths: Vec<_> = parsed.iter().map(|c| (c.file.as_str(), c.depth)).collect();
        assert_eq!(depths, [("a.md", 0), ("b.md", 1), ("c.md", 0)]);
    }
}
