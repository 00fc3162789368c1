//! Placements (admin API), the widget's iframe page and loader, and the sandbox
//! card tokenizer the widget uses.

use crate::helpers::{TestApp, apps, payment};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOST: &str = "https://news.example";

pub async fn product_of(app: &TestApp, sku: &str) -> (String, String) {
    let products = app.admin(Method::GET, "/products?limit=100", None).await;
    let p = products.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["variants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["sku"] == sku)
        })
        .unwrap()
        .clone();
    let v = p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["sku"] == sku)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (p["id"].as_str().unwrap().to_string(), v)
}

async fn create(app: &TestApp, body: Value) -> crate::helpers::Reply {
    app.admin(Method::POST, "/placements", Some(body)).await
}

pub async fn page(
    app: &TestApp,
    id: &str,
    origin: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(format!(
            "{}/widget/checkout/{id}?origin={}",
            app.base,
            origin.replace(':', "%3A").replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

#[tokio::test]
async fn a_placement_is_created_listed_embedded_and_sells_with_its_own_key() {
    for app in apps().await {
        let (product, variant) = product_of(&app, "BTL-750-BLU").await;
        let made = create(&app, json!({
            "product_id": product, "variant_id": variant, "quantity": 2, "channel": "display_ad",
            "campaign": {"name": "summer", "source": "adnet", "medium": "display", "content": "300x250"},
            "allowed_origins": ["https://News.Example/", "http://127.0.0.1:9000"],
            "theme": {"primary_color": "#2F855A", "font_family": "Georgia, serif", "radius_px": 8, "logo_url": "https://cdn.example/logo.svg", "dark": true}
        })).await;
        assert_eq!(
            made.status,
            StatusCode::CREATED,
            "{}: {:#}",
            app.backend,
            made.body
        );
        let id = made.body["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("plc_"));
        assert_eq!(
            made.body["allowed_origins"],
            json!([HOST, "http://127.0.0.1:9000"])
        );
        assert_eq!(made.body["theme"]["primary_color"], "#2f855a");
        assert_eq!(made.body["channel"], "display_ad");
        assert_eq!(made.body["quantity"], 2);
        assert_eq!(made.body["name"], "Summit Water Bottle");
        assert_eq!(
            made.body["embed_snippet"],
            format!(
                "<script src=\"{}/embed.js\" async></script>\n<anycart-checkout placement=\"{id}\"></anycart-checkout>",
                app.base
            )
        );
        let pk = made.body["publishable_key"].as_str().unwrap().to_string();
        assert!(pk.starts_with("pk_") && pk != app.pk());

        let got = app
            .admin(Method::GET, &format!("/placements/{id}"), None)
            .await;
        assert_eq!((got.status, &got.body), (StatusCode::OK, &made.body));
        let second = create(
            &app,
            json!({"product_id": product, "channel": "own_site", "allowed_origins": [HOST]}),
        )
        .await;
        assert_eq!(second.status, StatusCode::CREATED);
        let page1 = app.admin(Method::GET, "/placements?limit=1", None).await;
        assert_eq!(page1.body["data"][0]["id"], id.as_str());
        let cursor = page1.body["next_cursor"].as_str().unwrap();
        let page2 = app
            .admin(
                Method::GET,
                &format!("/placements?limit=1&after={cursor}"),
                None,
            )
            .await;
        assert_eq!(page2.body["data"][0]["id"], second.body["id"]);

        // The placement's own publishable key drives the checkout API end to end.
        let s = app
            .post_with("/checkout_sessions", json!({
                "currency": "usd", "line_items": [{"id": variant, "quantity": 1}], "capabilities": {},
                "buyer": {"email": "w@example.com"},
                "fulfillment_details": {"name": "W", "address": crate::helpers::address("US", "CA")}
            }), &pk, "plc-k1")
            .await;
        assert_eq!(s.body["status"], "ready_for_payment", "{:#}", s.body);
        let done = app
            .post_with(
                &format!(
                    "/checkout_sessions/{}/complete",
                    s.body["id"].as_str().unwrap()
                ),
                payment("tok_visa"),
                &pk,
                "plc-k2",
            )
            .await;
        assert_eq!(done.body["status"], "completed");
        // The sale is the placement's: its channel and campaign are on the order.
        let order = done.body["order"]["id"].as_str().unwrap();
        let view = app
            .admin(Method::GET, &format!("/orders/{order}"), None)
            .await;
        assert_eq!(
            view.body["attribution"],
            json!({"channel": "display_ad", "placement_id": id, "agent": null,
                   "campaign": {"name": "summer", "source": "adnet", "medium": "display", "content": "300x250"}}),
            "{:#}",
            view.body
        );
        // The merchant's general publishable key is their own site; their secret
        // key is a server of theirs.
        for (key, channel) in [
            (app.pk().to_string(), "own_site"),
            (app.sk().to_string(), "api"),
        ] {
            let s = app
                .post_with("/checkout_sessions", json!({
                    "currency": "usd", "line_items": [{"id": variant, "quantity": 1}], "capabilities": {},
                    "buyer": {"email": "w@example.com"},
                    "fulfillment_details": {"name": "W", "address": crate::helpers::address("US", "CA")}
                }), &key, &format!("direct-{channel}"))
                .await;
            let paid = app
                .post_with(
                    &format!(
                        "/checkout_sessions/{}/complete",
                        s.body["id"].as_str().unwrap()
                    ),
                    payment("tok_visa"),
                    &key,
                    &format!("direct-pay-{channel}"),
                )
                .await;
            let direct_order = paid.body["order"]["id"].as_str().unwrap();
            let view = app
                .admin(Method::GET, &format!("/orders/{direct_order}"), None)
                .await;
            assert_eq!(
                view.body["attribution"]["channel"], channel,
                "{:#}",
                view.body
            );
            assert_eq!(view.body["attribution"]["placement_id"], Value::Null);
        }

        // The iframe page: allowed origin → the app with the placement's config and a
        // frame-ancestors policy pinned to the allow-list.
        let (status, headers, html) = page(&app, &id, HOST).await;
        assert_eq!(status, StatusCode::OK);
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.ends_with("frame-ancestors https://news.example http://127.0.0.1:9000"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let start = html.find("id=\"anycart-config\">").unwrap() + "id=\"anycart-config\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let cfg: Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(cfg["placement_id"], id.as_str());
        assert_eq!(cfg["publishable_key"], pk.as_str());
        assert_eq!(cfg["host_origin"], HOST);
        assert_eq!(cfg["variant_id"], variant.as_str());
        assert_eq!(cfg["quantity"], 2);
        assert_eq!(cfg["theme"]["dark"], true);
        // Sandbox cards are typed into anycart's own fields: nothing else to load.
        assert_eq!(cfg["payment"], json!({"provider": "sandbox"}));
        assert!(csp.contains("frame-src 'none'"), "{csp}");
        let v = cfg["product"]["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == variant.as_str())
            .unwrap();
        assert_eq!(
            (v["amount"].as_i64(), v["available"].as_i64()),
            (Some(2800), Some(app.available(&variant).await))
        );
    }
}

#[tokio::test]
async fn the_iframe_refuses_unknown_disabled_and_foreign_origins() {
    for app in apps().await {
        let (product, _) = product_of(&app, "TEE-TRAIL-M").await;
        let made = create(
            &app,
            json!({"product_id": product, "channel": "publisher", "allowed_origins": [HOST]}),
        )
        .await;
        let id = made.body["id"].as_str().unwrap().to_string();
        for (origin, code) in [
            ("https://evil.example", "origin_not_allowed"),
            ("https://news.example.evil.example", "origin_not_allowed"),
            ("", "origin_not_allowed"),
            ("http://news.example", "origin_not_allowed"),
        ] {
            let (status, headers, html) = page(&app, &id, origin).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
            assert!(html.contains(code), "{html}");
            assert!(
                !html.contains("anycart-config") && !html.contains("pk_"),
                "a refusal must carry no data"
            );
            assert!(
                headers["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .contains("default-src 'none'")
            );
        }
        let (status, _, html) = page(&app, "plc_0123456789abcdef0123456789abcdef", HOST).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("This checkout does not exist."));
        let (status, _, _) = page(&app, "not-an-id", HOST).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let off = app
            .admin(Method::POST, &format!("/placements/{id}/disable"), None)
            .await;
        assert_eq!(
            (off.status, off.body["enabled"].as_bool()),
            (StatusCode::OK, Some(false))
        );
        let (status, _, html) = page(&app, &id, HOST).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("no longer available") && !html.contains("pk_"));
        let on = app
            .admin(Method::POST, &format!("/placements/{id}/enable"), None)
            .await;
        assert_eq!(on.body["enabled"], true);
        assert_eq!(page(&app, &id, HOST).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn catalogue_text_cannot_break_out_of_the_config_script() {
    for app in apps().await {
        let evil = app.admin(Method::POST, "/products", Some(json!({
            "title": "</script><script>alert(1)</script>", "description": "a & b <b>",
            "variants": [{"sku": "EVIL-1", "title": "</SCRIPT>x", "price": {"amount": 100, "currency": "usd"}}]
        }))).await;
        assert_eq!(evil.status, StatusCode::CREATED);
        let made = create(
            &app,
            json!({"product_id": evil.body["id"], "channel": "social", "allowed_origins": [HOST]}),
        )
        .await;
        let (status, _, html) = page(&app, made.body["id"].as_str().unwrap(), HOST).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            html.matches("</script>").count(),
            2,
            "only the page's own two script elements close: {html}"
        );
        assert!(!html.to_ascii_lowercase().contains("</script><script>alert"));
        assert!(html.contains("\\u003c/script\\u003e"));
    }
}

#[tokio::test]
async fn bad_placements_are_refused_with_the_offending_field() {
    for app in apps().await {
        let (product, _) = product_of(&app, "TEE-TRAIL-S").await;
        let (_, other_variant) = product_of(&app, "SNKR-DROP-42").await;
        let base =
            json!({"product_id": product, "channel": "publisher", "allowed_origins": [HOST]});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            let mut cur = &mut b;
            let parts: Vec<&str> = k.split('.').collect();
            for p in &parts[..parts.len() - 1] {
                cur = cur
                    .as_object_mut()
                    .unwrap()
                    .entry(p.to_string())
                    .or_insert(json!({}));
            }
            cur[parts[parts.len() - 1]] = v;
            b
        };
        let cases = [
            (
                with("product_id", json!("prod_0123456789abcdef0123456789abcdef")),
                "$.product_id",
            ),
            (with("product_id", json!("nope")), "$.product_id"),
            (with("variant_id", json!(other_variant)), "$.variant_id"),
            (with("quantity", json!(0)), "$.quantity"),
            (with("quantity", json!(1000)), "$.quantity"),
            (with("channel", json!("billboard")), "$.channel"),
            (with("allowed_origins", json!([])), "$.allowed_origins"),
            (
                with("allowed_origins", json!(["*"])),
                "$.allowed_origins[0]",
            ),
            (
                with("allowed_origins", json!([HOST, "https://a.example/path"])),
                "$.allowed_origins[1]",
            ),
            (
                with(
                    "allowed_origins",
                    json!(
                        (0..21)
                            .map(|i| format!("https://s{i}.example"))
                            .collect::<Vec<_>>()
                    ),
                ),
                "$.allowed_origins",
            ),
            (
                with("theme.primary_color", json!("red")),
                "$.theme.primary_color",
            ),
            (
                with("theme.font_family", json!("x;}body{background:url(//e)")),
                "$.theme.font_family",
            ),
            (with("theme.radius_px", json!(64)), "$.theme.radius_px"),
            (
                with("theme.logo_url", json!("javascript:alert(1)")),
                "$.theme.logo_url",
            ),
            (
                with("campaign.name", json!("x".repeat(101))),
                "$.campaign.name",
            ),
            (with("surprise", json!(1)), "$.surprise"),
            (with("quantity", json!("two")), "$.quantity"),
        ];
        let before = app.admin(Method::GET, "/placements", None).await.body["data"]
            .as_array()
            .unwrap()
            .len();
        for (body, param) in cases {
            let r = create(&app, body.clone()).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:#}", r.body);
            assert_eq!(r.body["param"], param, "{body}: {:#}", r.body);
            assert_eq!(r.body["type"], "invalid_request");
            assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let after = app.admin(Method::GET, "/placements", None).await.body["data"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(before, after, "refused placements must not be stored");

        // Publishable keys cannot manage placements; other merchants cannot see them.
        let pk = app
            .client
            .get(format!("{}/v1/placements", app.base))
            .bearer_auth(app.pk())
            .send()
            .await
            .unwrap();
        assert_eq!(pk.status(), StatusCode::FORBIDDEN);
        let mine = create(&app, base.clone()).await;
        let rival = anycart_checkout::merchants::create_merchant(&app.state.store, "Rival", 0)
            .await
            .unwrap();
        let rival_sk = rival.to_json().secret_key.to_string();
        let id = mine.body["id"].as_str().unwrap();
        for (m, path) in [
            (Method::GET, format!("/v1/placements/{id}")),
            (Method::POST, format!("/v1/placements/{id}/disable")),
        ] {
            let r = app
                .client
                .request(m, format!("{}{path}", app.base))
                .bearer_auth(&rival_sk)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        let rival_list: Value = app
            .client
            .get(format!("{}/v1/placements", app.base))
            .bearer_auth(&rival_sk)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rival_list["data"], json!([]));
        // The rival cannot point a placement at our product either.
        let r = app
            .client
            .post(format!("{}/v1/placements", app.base))
            .bearer_auth(&rival_sk)
            .json(&base)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn sandbox_tokens_come_from_test_cards_only() {
    for app in apps().await {
        let tok = |body: Value, key: Option<String>| {
            let mut req = app
                .client
                .post(format!("{}/v1/sandbox/tokens", app.base))
                .json(&body);
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            }
        };
        let pk = Some(app.pk().to_string());
        let card = |n: &str, m: u32, y: u32, cvc: &str| json!({"number": n, "exp_month": m, "exp_year": y, "cvc": cvc});
        for (number, token) in [
            ("4242 4242 4242 4242", "tok_visa"),
            ("4000000000000002", "tok_chargeDeclined"),
            ("4000-0000-0000-9995", "tok_chargeDeclinedInsufficientFunds"),
            ("4000002760003184", "tok_threeDSecure2Required"),
        ] {
            let (s, b) = tok(card(number, 12, 2040, "123"), pk.clone()).await;
            assert_eq!(
                (s, b["token"].as_str()),
                (StatusCode::OK, Some(token)),
                "{number}"
            );
        }
        let (s, _) = tok(card("4242424242424242", 12, 40, "1234"), pk.clone()).await;
        assert_eq!(s, StatusCode::OK, "two-digit years are accepted");
        for (body, param) in [
            (card("4242424242424241", 12, 2040, "123"), "$.number"),
            (card("5555555555554444", 12, 2040, "123"), "$.number"),
            (card("4242424242424242", 13, 2040, "123"), "$.exp_month"),
            (card("4242424242424242", 1, 2001, "123"), "$.exp_year"),
            (card("4242424242424242", 12, 2040, "12a"), "$.cvc"),
        ] {
            let (s, b) = tok(body.clone(), pk.clone()).await;
            assert_eq!(
                (s, b["param"].as_str()),
                (StatusCode::BAD_REQUEST, Some(param)),
                "{body}: {b}"
            );
            assert!(
                !b.to_string().contains("424242424242"),
                "the number is never echoed"
            );
        }
        let (s, _) = tok(card("4242424242424242", 12, 2040, "123"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_loader_and_app_assets_are_served() {
    let app = crate::helpers::spawn_sqlite(None).await;
    for (path, ty) in [
        ("/embed.js", "text/javascript"),
        ("/widget/app.js", "text/javascript"),
        ("/widget/app.css", "text/css"),
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ty),
            "{path}"
        );
        assert!(
            r.text().await.unwrap().len() > 500,
            "{path} is a real bundle"
        );
    }
    let js = app
        .client
        .get(format!("{}/embed.js", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("anycart-checkout") && js.contains("ec.ready"));

    // Browsers asking for gzip get it, and it is what the weight budget counts.
    let gz = app
        .client
        .get(format!("{}/embed.js", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let bytes = gz.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(bytes.len() < js.len(), "{} vs {}", bytes.len(), js.len());
    assert!(bytes.len() <= 6 * 1024, "loader within its 6 KB budget");
}

pub fn page_config(html: &str) -> Value {
    let start = html.find("id=\"anycart-config\">").unwrap() + "id=\"anycart-config\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn placement_themes_override_the_merchant_default_field_by_field() {
    for app in apps().await {
        let empty = app.admin(Method::GET, "/widget_theme", None).await;
        assert_eq!(
            (empty.status, &empty.body["primary_color"]),
            (StatusCode::OK, &Value::Null)
        );
        let set = app.admin(Method::PUT, "/widget_theme", Some(json!({"primary_color": "#111111", "logo_url": "https://cdn.example/brand.svg", "radius_px": 10}))).await;
        assert_eq!(set.status, StatusCode::OK, "{:#}", set.body);
        let bad = app
            .admin(Method::PUT, "/widget_theme", Some(json!({"radius_px": 99})))
            .await;
        assert_eq!(
            (bad.status, bad.body["param"].as_str()),
            (StatusCode::BAD_REQUEST, Some("$.radius_px"))
        );
        assert_eq!(
            app.admin(Method::GET, "/widget_theme", None).await.body["radius_px"],
            10,
            "a refused update changes nothing"
        );

        let (product, _) = product_of(&app, "TEE-TRAIL-L").await;
        let made = create(&app, json!({"product_id": product, "channel": "social", "allowed_origins": [HOST], "theme": {"primary_color": "#222222", "dark": true}})).await;
        let (status, _, html) = page(&app, made.body["id"].as_str().unwrap(), HOST).await;
        assert_eq!(status, StatusCode::OK);
        let theme = &page_config(&html)["theme"];
        assert_eq!(theme["primary_color"], "#222222", "the placement wins");
        assert_eq!(theme["dark"], true);
        assert_eq!(
            theme["logo_url"], "https://cdn.example/brand.svg",
            "the merchant default fills in"
        );
        assert_eq!(theme["radius_px"], 10);
        assert_eq!(theme["font_family"], Value::Null);
    }
}
