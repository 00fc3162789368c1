//! Bad input gets a clear 4xx in the ACP error shape and changes nothing.

use crate::helpers::{API_VERSION, apps, spawn_sqlite};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_requests_are_refused_without_side_effects() {
    for app in apps().await {
        let tee = app.variant("TEE-TRAIL-S");
        let before = app.available(&tee).await;
        let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
            (
                "wrong type",
                json!({"currency": "usd", "line_items": "nope", "capabilities": {}}),
                "invalid_field",
                Some("$.line_items"),
            ),
            (
                "no items",
                json!({"currency": "usd", "line_items": [], "capabilities": {}}),
                "missing",
                Some("$.line_items"),
            ),
            (
                "missing currency",
                json!({"line_items": [{"id": tee}]}),
                "invalid_field",
                Some("$"),
            ),
            (
                "unknown currency",
                json!({"currency": "xyz", "line_items": [{"id": tee}]}),
                "unsupported_currency",
                Some("$.currency"),
            ),
            (
                "wrong currency",
                json!({"currency": "eur", "line_items": [{"id": tee}]}),
                "unsupported_currency",
                Some("$.currency"),
            ),
            (
                "unknown id",
                json!({"currency": "usd", "line_items": [{"id": "var_0190f1b2c3d47e8f9a0b1c2d3e4f5a6b"}]}),
                "invalid_item_id",
                Some("$.line_items[0].id"),
            ),
            (
                "garbage id",
                json!({"currency": "usd", "line_items": [{"id": "'; DROP TABLE variants; --"}]}),
                "invalid_item_id",
                Some("$.line_items[0].id"),
            ),
            (
                "zero quantity",
                json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 0}]}),
                "invalid_quantity",
                Some("$.line_items[0].quantity"),
            ),
            (
                "negative quantity",
                json!({"currency": "usd", "line_items": [{"id": tee, "quantity": -5}]}),
                "invalid_quantity",
                Some("$.line_items[0].quantity"),
            ),
            (
                "huge quantity",
                json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 1_000_000_000_000i64}]}),
                "invalid_quantity",
                Some("$.line_items[0].quantity"),
            ),
            (
                "fractional quantity",
                json!({"currency": "usd", "line_items": [{"id": tee, "quantity": 1.5}]}),
                "invalid_field",
                Some("$.line_items[0].quantity"),
            ),
            (
                "bad email",
                json!({"currency": "usd", "line_items": [{"id": tee}], "buyer": {"email": "not-an-email"}}),
                "invalid_email",
                Some("$.buyer.email"),
            ),
            (
                "bad country",
                json!({"currency": "usd", "line_items": [{"id": tee}], "fulfillment_details": {"address": {"name": "a", "line_one": "b", "city": "c", "state": "d", "country": "USA", "postal_code": "1"}}}),
                "invalid_address",
                Some("$.fulfillment_details.address"),
            ),
            (
                "too many lines",
                json!({"currency": "usd", "line_items": vec![json!({"id": tee}); 51]}),
                "too_many_line_items",
                Some("$.line_items"),
            ),
        ];
        for (name, body, code, param) in cases {
            let r = app.post("/checkout_sessions", body).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{}: {name}: {:#}",
                app.backend,
                r.body
            );
            assert_eq!(r.body["code"], code, "{name}");
            assert_eq!(r.body["param"].as_str(), param, "{name}");
        }
        assert_eq!(
            app.available(&tee).await,
            before,
            "{}: nothing was held",
            app.backend
        );
    }
}

#[tokio::test]
async fn broken_bodies_and_headers() {
    let app = spawn_sqlite(None).await;
    let url = format!("{}/checkout_sessions", app.base);
    let send = |req: reqwest::RequestBuilder| {
        req.bearer_auth(app.pk())
            .header("API-Version", API_VERSION)
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
    };

    let r = app.raw(send(app.client.post(&url)).body("{not json")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let r = app.raw(send(app.client.post(&url))).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let huge = format!(
        "{{\"currency\":\"usd\",\"pad\":\"{}\"}}",
        "x".repeat(200_000)
    );
    let r = app.raw(send(app.client.post(&url)).body(huge)).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("request_too_large"))
    );

    let no_version = app
        .client
        .post(&url)
        .bearer_auth(app.pk())
        .header("Idempotency-Key", "v1")
        .json(&json!({}));
    let r = app.raw(no_version).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("missing_api_version"))
    );
    assert_eq!(r.body["supported_versions"][0], API_VERSION);
    let old = app
        .client
        .post(&url)
        .bearer_auth(app.pk())
        .header("API-Version", "2020-01-01")
        .header("Idempotency-Key", "v2")
        .json(&json!({}));
    assert_eq!(app.raw(old).await.body["code"], "unsupported_api_version");

    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer sk_nope"),
        Some("Basic abc"),
    ] {
        let mut req = app
            .client
            .post(&url)
            .header("API-Version", API_VERSION)
            .header("Idempotency-Key", "a")
            .json(&json!({}));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = app.raw(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.body["code"], "invalid_api_key");
    }

    for path in [
        "/checkout_sessions/nope",
        "/checkout_sessions/cs_0190f1b2c3d47e8f9a0b1c2d3e4f5a6b",
        "/checkout_sessions/%00",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = app
        .raw(app.client.delete(format!("{}/checkout_sessions", app.base)))
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = app
        .raw(app.client.get(format!("{}/no/such/route", app.base)))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_payment_data_is_refused_before_any_charge() {
    let app = spawn_sqlite(None).await;
    let id = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/checkout_sessions/{id}/complete");
    let cases = [
        (json!({}), "invalid_field"),
        (
            json!({"payment_data": {"handler_id": "card_sandbox"}}),
            "missing",
        ),
        (
            json!({"payment_data": {"handler_id": "paypal", "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_visa"}}}}),
            "invalid_payment_handler",
        ),
        (
            json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": ""}}}}),
            "invalid_payment_token",
        ),
        (
            json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_unknown"}}}}),
            "invalid_payment_token",
        ),
    ];
    for (body, code) in cases {
        let r = app.post(&path, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{code}: {:#}", r.body);
        assert_eq!(r.body["code"], code);
    }
    assert!(app.sandbox.as_ref().unwrap().payments().is_empty());
    assert_eq!(
        app.get(&format!("/checkout_sessions/{id}")).await.body["status"],
        "ready_for_payment"
    );
}

#[tokio::test]
async fn refusals_the_framework_writes_are_json_in_the_api_shape_too() {
    let app = &apps().await[0];
    let get = |path: String| {
        let req = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(app.sk());
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let headers = r.headers().clone();
            let text = r.text().await.unwrap();
            (status, headers, text)
        }
    };
    let cases = [
        (
            "/v1/orders?limit=AAA".to_string(),
            400,
            "invalid_query",
            Some("limit"),
        ),
        ("/v1/orders/%FF%FE".to_string(), 400, "invalid_path", None),
        (
            "/checkout_sessions/%FF".to_string(),
            400,
            "invalid_path",
            None,
        ),
        ("/no/such/route".to_string(), 404, "not_found", None),
    ];
    for (path, status, code, param) in cases {
        let (got, headers, text) = get(path.clone()).await;
        assert_eq!(got.as_u16(), status, "{path}: {text}");
        assert!(
            headers[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}: {text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        let reply = crate::helpers::Reply {
            status: got,
            body: body.clone(),
            headers,
        };
        crate::helpers::assert_acp_shape(&reply);
        assert_eq!(body["code"], code, "{path}: {body}");
        assert_eq!(body["param"].as_str(), param, "{path}: {body}");
    }
}
