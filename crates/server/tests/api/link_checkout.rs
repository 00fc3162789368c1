//! Link checkout (`GET /buy/{placement}`): the page, its preview tags, its
//! funnel view and its refusals; and `POST /widget/views`, the signed view an
//! app built on the SDK asks for.

use crate::helpers::{TestApp, apps};
use crate::placements::product_of;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BROWSER: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Instagram 300.0";

/// A `social` placement selling the bottle: `(id, its publishable key, link_url)`.
async fn social_placement(app: &TestApp) -> (String, String, String) {
    let (product, _) = product_of(app, "BTL-750-BLU").await;
    let made = app
        .admin(
            Method::POST,
            "/placements",
            Some(json!({
                "product_id": product, "channel": "social",
                "campaign": {"source": "instagram", "medium": "bio"},
                "allowed_origins": ["https://shop.example"]
            })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
    let s = |k: &str| made.body[k].as_str().unwrap().to_string();
    (s("id"), s("publishable_key"), s("link_url"))
}

async fn get_html(app: &TestApp, url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = app.client.get(url).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

fn config_of(html: &str) -> Value {
    let start = html.find("id=\"anycart-config\">").unwrap() + "id=\"anycart-config\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn the_link_page_previews_with_image_and_price_and_counts_its_view() {
    for app in apps().await {
        let (id, pk, link) = social_placement(&app).await;
        assert_eq!(link, format!("{}/buy/{id}", app.base));
        let (status, headers, html) = get_html(&app, &link).await;
        assert_eq!(status, StatusCode::OK, "{}", app.backend);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["cache-control"], "no-store");
        for tag in [
            "<meta property=\"og:type\" content=\"product\">".to_string(),
            "<meta property=\"og:title\" content=\"Summit Water Bottle\">".into(),
            format!(
                "<meta property=\"og:image\" content=\"{}/assets/demo/bottle.svg\">",
                app.base
            ),
            format!("<meta property=\"og:url\" content=\"{link}\">"),
            "<meta property=\"product:price:amount\" content=\"28.00\">".into(),
            "<meta property=\"product:price:currency\" content=\"USD\">".into(),
            "<meta name=\"twitter:card\" content=\"summary_large_image\">".into(),
            "<meta property=\"og:description\" content=\"Insulated steel bottle".into(),
        ] {
            assert!(html.contains(&tag), "missing {tag}");
        }
        // The product is on the page before any script runs.
        assert!(html.contains("<h1>Summit Water Bottle</h1><p class=\"price\">$28.00</p>"));
        let config = config_of(&html);
        assert_eq!(config["hosted"], true);
        assert_eq!(config["placement_id"], id.as_str());
        assert_eq!(config["publishable_key"], pk.as_str());

        // The page's view counts in the funnel, like the widget's.
        let report = json!({"key": pk, "placement": id, "view_id": config["view"]["view_id"],
            "view_token": config["view"]["view_token"], "events": [{"step": "impression"}, {"step": "opened"}]});
        let r = app
            .client
            .post(format!("{}/events", app.base))
            .header("User-Agent", BROWSER)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(report.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.json::<Value>().await.unwrap()["counted"], 2);
    }
}

#[tokio::test]
async fn disabled_unknown_and_malformed_links_are_html_pages_that_hold_nothing() {
    for app in apps().await {
        let (id, _, link) = social_placement(&app).await;
        let variant = app.variant("BTL-750-BLU");
        let before = app.available(&variant).await;
        let off = app
            .admin(Method::POST, &format!("/placements/{id}/disable"), None)
            .await;
        assert_eq!(off.status, StatusCode::OK);
        let (status, headers, html) = get_html(&app, &link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(html.contains("This product link is no longer available."));
        assert!(
            !html.contains("anycart-config"),
            "no checkout on a disabled link"
        );
        let unknown = format!("{}/buy/plc_00000000000000000000000000000000", app.base);
        for url in [
            unknown,
            format!("{}/buy/%3Cscript%3E", app.base),
            format!("{}/buy/x", app.base),
        ] {
            let (status, _, html) = get_html(&app, &url).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
            assert!(html.contains("This product link does not exist."));
            assert!(!html.contains("<script"));
        }
        assert_eq!(app.available(&variant).await, before, "nothing held");
    }
}

#[tokio::test]
async fn views_are_signed_only_for_the_placements_own_key() {
    for app in apps().await {
        let (id, pk, _) = social_placement(&app).await;
        let ask = |key: String, body: Value| {
            let req = app
                .client
                .post(format!("{}/widget/views", app.base))
                .bearer_auth(key)
                .json(&body);
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (status, view) = ask(pk.clone(), json!({"placement": id})).await;
        assert_eq!(status, StatusCode::CREATED, "{view:#}");
        assert_eq!(view["view_id"].as_str().unwrap().len(), 32);
        let (status, err) = ask(app.pk().to_string(), json!({"placement": id})).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
        );
        let (status, err) = ask(pk.clone(), json!({"placement": "nope"})).await;
        assert_eq!(
            (status, err["param"].as_str()),
            (StatusCode::BAD_REQUEST, Some("$.placement"))
        );
        let (status, _) = ask(pk.clone(), json!({"placement": id, "extra": 1})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        app.admin(Method::POST, &format!("/placements/{id}/disable"), None)
            .await;
        let (status, _) = ask(pk, json!({"placement": id})).await;
        assert!(
            status.is_client_error(),
            "a disabled placement gets no view: {status}"
        );
    }
}
