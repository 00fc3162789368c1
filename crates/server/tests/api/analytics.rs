//! Funnel events in (signed views, the placement's own key, once per view and
//! step, bots dropped) and analytics out (the funnel as JSON and CSV, the sales
//! overview), for one merchant only.

use crate::helpers::{TestApp, apps};
use crate::placements::{page, product_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOST: &str = "https://news.example";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";

/// A display-ad placement of the demo merchant: `(id, its publishable key)`.
async fn placement(app: &TestApp, campaign: &str) -> (String, String) {
    let (product, _) = product_of(app, "BTL-750-BLU").await;
    let made = app
        .admin(
            Method::POST,
            "/placements",
            Some(json!({"product_id": product, "channel": "display_ad",
                "campaign": {"name": campaign}, "allowed_origins": [HOST]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    (
        made.body["id"].as_str().unwrap().to_string(),
        made.body["publishable_key"].as_str().unwrap().to_string(),
    )
}

/// The view the iframe page signed for one load of `placement`.
async fn view(app: &TestApp, placement: &str) -> (String, String) {
    let (status, _, html) = page(app, placement, HOST).await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("id=\"anycart-config\">").unwrap() + "id=\"anycart-config\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let config: Value = serde_json::from_str(&html[start..end]).unwrap();
    (
        config["view"]["view_id"].as_str().unwrap().to_string(),
        config["view"]["view_token"].as_str().unwrap().to_string(),
    )
}

async fn report(app: &TestApp, ua: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/events", app.base))
        .header("User-Agent", ua)
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn steps(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|s| json!({"step": s})).collect())
}

#[tokio::test]
async fn signed_views_count_once_and_the_funnel_shows_them() {
    for app in apps().await {
        let (plc, pk) = placement(&app, "spring").await;
        let (view_id, token) = view(&app, &plc).await;
        let body = |events: Value| json!({"key": pk, "placement": plc, "view_id": view_id, "view_token": token, "events": events});
        let (s, r) = report(
            &app,
            BROWSER,
            &body(steps(&["impression", "opened", "checkout_started"])),
        )
        .await;
        assert_eq!(
            (s, r["counted"].as_u64()),
            (StatusCode::ACCEPTED, Some(3)),
            "{}: {r}",
            app.backend
        );
        // A replay counts nothing; a departure with its reason counts once.
        let mut events = steps(&["impression", "opened"]);
        events
            .as_array_mut()
            .unwrap()
            .push(json!({"step": "left", "reason": "declined"}));
        let (s, r) = report(&app, BROWSER, &body(events)).await;
        assert_eq!(
            (s, r["counted"].as_u64(), r["duplicates"].as_u64()),
            (StatusCode::ACCEPTED, Some(1), Some(2))
        );
        // A second view of the same placement counts its own impression.
        let (view2, token2) = view(&app, &plc).await;
        let second = json!({"key": pk, "placement": plc, "view_id": view2, "view_token": token2, "events": steps(&["impression"])});
        assert_eq!(report(&app, BROWSER, &second).await.0, StatusCode::ACCEPTED);
        // A bot's report is dropped, and counts nothing.
        let (view3, token3) = view(&app, &plc).await;
        let bot = json!({"key": pk, "placement": plc, "view_id": view3, "view_token": token3, "events": steps(&["impression"])});
        let (s, r) = report(
            &app,
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            &bot,
        )
        .await;
        assert_eq!(
            (s, r["dropped"].as_bool()),
            (StatusCode::ACCEPTED, Some(true))
        );

        let funnel = app.admin(Method::GET, &format!("/analytics/funnel?placement={plc}&granularity=hour&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"), None).await;
        assert_eq!(funnel.status, StatusCode::OK, "{}", funnel.body);
        assert_eq!(funnel.body["steps"][0]["count"], 0, "outside the range");
        let funnel = app
            .admin(
                Method::GET,
                &format!("/analytics/funnel?placement={plc}"),
                None,
            )
            .await;
        assert_eq!(funnel.status, StatusCode::OK, "{}", funnel.body);
        let count = |step: &str| {
            funnel.body["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["step"] == step)
                .unwrap()["count"]
                .as_u64()
                .unwrap()
        };
        assert_eq!(
            (
                count("impression"),
                count("opened"),
                count("checkout_started"),
                count("paid")
            ),
            (2, 1, 1, 0)
        );
        let impression = &funnel.body["steps"][0];
        assert_eq!(
            (
                impression["drop_off"].as_u64(),
                impression["pass_rate_bp"].as_u64()
            ),
            (Some(1), Some(5000))
        );
        let declined = funnel.body["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["reason"] == "declined")
            .unwrap();
        assert_eq!(declined["count"], 1);
        assert_eq!(funnel.body["placements"][0]["campaign"], "spring");
        let series_impressions: u64 = funnel.body["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["counts"]["impression"].as_u64().unwrap())
            .sum();
        assert_eq!(series_impressions, 2, "the series adds up to the totals");

        // The CSV export: the same numbers.
        let csv = app
            .client
            .get(format!(
                "{}/v1/analytics/funnel.csv?placement={plc}",
                app.base
            ))
            .bearer_auth(app.sk())
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = csv.text().await.unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("start,impression,opened,checkout_started")
        );
        let csv_impressions: u64 = lines
            .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(csv_impressions, 2);

        // Filters: another campaign, channel or placement sees none of it.
        for q in ["campaign=autumn", "channel=social"] {
            let f = app
                .admin(Method::GET, &format!("/analytics/funnel?{q}"), None)
                .await;
            assert_eq!(f.body["steps"][0]["count"], 0, "{q}");
        }
    }
}

#[tokio::test]
async fn forged_foreign_and_malformed_reports_are_refused_and_count_nothing() {
    for app in apps().await {
        let (plc, pk) = placement(&app, "spring").await;
        let (other_plc, other_pk) = placement(&app, "autumn").await;
        let (view_id, token) = view(&app, &plc).await;
        let good = json!({"key": pk, "placement": plc, "view_id": view_id, "view_token": token, "events": steps(&["impression"])});
        let with = |field: &str, v: Value| {
            let mut b = good.clone();
            b[field] = v;
            b
        };
        let forged = format!("{}.{}", token.split('.').next().unwrap(), "0".repeat(64));
        let cases = [
            (
                with("view_token", json!(forged)),
                StatusCode::FORBIDDEN,
                "invalid_view_token",
            ),
            (
                with("view_id", json!("a".repeat(32))),
                StatusCode::FORBIDDEN,
                "invalid_view_token",
            ),
            (
                with("placement", json!(other_plc)),
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
            ),
            (
                with("key", json!(other_pk)),
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
            ),
            (
                with("key", json!(app.pk())),
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
            ),
            (
                with("key", json!("pk_nope")),
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
            ),
            (
                with("events", json!([])),
                StatusCode::BAD_REQUEST,
                "invalid",
            ),
            (
                with("events", steps(&["bought"])),
                StatusCode::BAD_REQUEST,
                "invalid",
            ),
            (
                with("events", json!([{"step": "left"}])),
                StatusCode::BAD_REQUEST,
                "invalid",
            ),
            (
                with("events", steps(&["opened"; 17])),
                StatusCode::BAD_REQUEST,
                "invalid",
            ),
            (
                with("view_id", json!("not hex")),
                StatusCode::BAD_REQUEST,
                "invalid",
            ),
        ];
        for (body, status, code) in cases {
            let (s, e) = report(&app, BROWSER, &body).await;
            assert_eq!(
                (s, e["code"].as_str()),
                (status, Some(code)),
                "{}: {body}",
                app.backend
            );
        }
        let r = app
            .client
            .post(format!("{}/events", app.base))
            .body("{nope")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // A view older than a day is stale.
        app.clock
            .advance_ms(anycart_checkout::analytics::VIEW_TTL_MS + 1);
        let (s, _) = report(&app, BROWSER, &good).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let funnel = app.admin(Method::GET, "/analytics/funnel", None).await;
        assert!(
            funnel.body["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["count"] == 0),
            "{}",
            funnel.body
        );
    }
}

#[tokio::test]
async fn absurd_ranges_are_refused_and_other_merchants_see_nothing() {
    for app in apps().await {
        for q in [
            "from=2026-02-01&to=2026-01-01",
            "from=2001-01-01&to=2026-01-01",
            "from=1990-01-01",
            "to=2999-01-01",
            "granularity=minute",
            "granularity=hour&from=2025-01-01&to=2025-06-01",
            "from=yesterday",
            "placement=plc_nope",
            "channel=billboard",
        ] {
            for path in ["/analytics/funnel", "/analytics/sales"] {
                let r = app.admin(Method::GET, &format!("{path}?{q}"), None).await;
                if path == "/analytics/sales"
                    && (q.starts_with("placement") || q.starts_with("channel"))
                {
                    continue;
                }
                assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{q}: {}", r.body);
            }
        }
        // A sale shows in the overview of its merchant only.
        let variant = app.variant("BTL-750-BLU");
        let session = app.ready_session(&variant, 2).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let paid = app.pay(&id, "tok_visa").await;
        assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
        let sales = app.admin(Method::GET, "/analytics/sales", None).await;
        assert_eq!(sales.status, StatusCode::OK, "{}", sales.body);
        assert_eq!(sales.body["orders"], 1, "{}", sales.body);
        let total = paid.body["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "total")
            .unwrap()["amount"]
            .as_i64()
            .unwrap();
        assert_eq!(sales.body["revenue"][0]["amount"].as_i64(), Some(total));
        assert_eq!(
            sales.body["average_order_value"][0]["amount"].as_i64(),
            Some(total)
        );
        assert_eq!(sales.body["by_channel"][0]["key"], "own_site");
        let rival = anycart_checkout::merchants::create_merchant(&app.state.store, "Rival", 0)
            .await
            .unwrap();
        let rival_sk = rival.to_json().secret_key.to_string();
        for path in ["/v1/analytics/sales", "/v1/analytics/funnel"] {
            let r: Value = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(&rival_sk)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(
                r["orders"].as_u64().unwrap_or(0) == 0
                    && r["placements"].as_array().is_none_or(|p| p.is_empty()),
                "{path}: {r}"
            );
        }
    }
}
