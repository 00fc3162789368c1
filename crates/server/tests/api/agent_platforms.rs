//! Registering agent platforms (`/v1/agent_platforms`): bad profiles refused
//! field by field and changing nothing, a key with checkout rights only, and
//! signed requests enforced when the merchant turns verification on (forged,
//! stale or unsigned requests refused before anything happens, their
//! idempotency key left unused).

use crate::fake_agent::{FakeAgent, SECRET};
use crate::helpers::*;
use anycart_checkout::agents::signing;
use anycart_checkout::clock::rfc3339;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn bad_agent_profiles_are_refused_field_by_field() {
    for app in apps().await {
        let good = json!({"name": "openai", "webhook_url": "https://agent.example/hooks", "signing_secret": SECRET});
        let cases: [(Value, &str, &str); 9] = [
            (
                json!({"name": "Open AI", "signing_secret": SECRET}),
                "invalid",
                "$.name",
            ),
            (
                json!({"name": "x", "signing_secret": "short"}),
                "invalid",
                "$.signing_secret",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "webhook_url": "http://agent.example/hooks"}),
                "invalid",
                "$.webhook_url",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "webhook_url": "https://u:p@agent.example/"}),
                "invalid",
                "$.webhook_url",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "webhook_url": "not a url"}),
                "invalid",
                "$.webhook_url",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "feed_url": "ftp://agent.example/feeds/1"}),
                "invalid",
                "$.feed_url",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "verify_signatures": "yes"}),
                "invalid_field",
                "$.verify_signatures",
            ),
            (
                json!({"name": "x", "signing_secret": SECRET, "colour": "red"}),
                "invalid_field",
                "$.colour",
            ),
            (json!({"signing_secret": SECRET}), "invalid_field", "$"),
        ];
        for (body, code, param) in cases {
            let r = app.register_agent(body.clone()).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:#}", r.body);
            assert_eq!(r.body["code"], code, "{body}: {:#}", r.body);
            assert_eq!(r.body["param"], param, "{body}: {:#}", r.body);
            assert_eq!(r.body["type"], "invalid_request");
        }
        let listed = app.admin(Method::GET, "/agent_platforms", None).await;
        assert_eq!(listed.body["data"], json!([]), "refusals changed nothing");

        let first = app.register_agent(good.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED, "{:#}", first.body);
        assert!(
            first.body.get("signing_secret").is_none(),
            "secrets are never shown"
        );
        let twice = app.register_agent(good).await;
        assert_eq!(
            (twice.status, twice.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("duplicate"))
        );

        // Only a secret key manages platforms; a platform's key cannot.
        let key = first.body["api_key"].as_str().unwrap();
        for k in [app.pk(), key] {
            let r = app
                .client
                .get(format!("{}/v1/agent_platforms", app.base))
                .bearer_auth(k)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        let id = first.body["id"].as_str().unwrap();
        let missing = app
            .admin(
                Method::GET,
                "/agent_platforms/agp_00000000000000000000000000000000",
                None,
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let changed = app
            .admin(
                Method::PATCH,
                &format!("/agent_platforms/{id}"),
                Some(json!({"webhook_url": "", "verify_signatures": true})),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{:#}", changed.body);
        assert_eq!(changed.body["webhook_url"], Value::Null);
        assert_eq!(changed.body["verify_signatures"], true);
        let bad = app
            .admin(
                Method::PATCH,
                &format!("/agent_platforms/{id}"),
                Some(json!({"signing_secret": "tiny"})),
            )
            .await;
        assert_eq!(bad.body["param"], "$.signing_secret");
    }
}

/// Headers of a request signed with [`SECRET`] at `at_ms`.
fn signed(
    req: reqwest::RequestBuilder,
    method: &str,
    path: &str,
    body: &[u8],
    at_ms: i64,
) -> reqwest::RequestBuilder {
    let timestamp = rfc3339(at_ms);
    let signature = signing::sign(SECRET, &timestamp, method, path, body);
    req.header("Signature", signature)
        .header("Timestamp", timestamp)
}

#[tokio::test]
async fn a_platform_that_must_sign_is_refused_unless_it_does() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let (_, key) = app.agent_for(&fake, "signer", true).await;
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let body = json!({"currency": "usd", "line_items": [{"id": variant, "quantity": 1}], "capabilities": {}});
        let bytes = serde_json::to_vec(&body).unwrap();
        let now = app.state.now_ms();
        let post = |idem: &str| {
            app.client
                .post(format!("{}/checkout_sessions", app.base))
                .bearer_auth(&key)
                .header("API-Version", API_VERSION)
                .header("Idempotency-Key", idem)
                .header("Content-Type", "application/json")
                .body(bytes.clone())
        };

        let unsigned = app.raw(post("k1")).await;
        let stale = app
            .raw(signed(
                post("k1"),
                "POST",
                "/checkout_sessions",
                &bytes,
                now - 301_000,
            ))
            .await;
        let elsewhere = app
            .raw(signed(
                post("k1"),
                "POST",
                "/checkout_sessions/cs_x",
                &bytes,
                now,
            ))
            .await;
        let tampered = app
            .raw(signed(post("k1"), "POST", "/checkout_sessions", b"{}", now))
            .await;
        for (what, r) in [
            ("unsigned", &unsigned),
            ("stale", &stale),
            ("other path", &elsewhere),
            ("tampered", &tampered),
        ] {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {:#}", r.body);
            assert_eq!(r.body["code"], "invalid_signature", "{what}");
        }
        assert!(
            unsigned.body["message"]
                .as_str()
                .unwrap()
                .contains("Signature")
        );
        assert_eq!(app.available(&variant).await, before, "nothing was held");

        // Signed right, with the same idempotency key the forgeries used: it runs.
        let ok = app
            .raw(signed(
                post("k1"),
                "POST",
                "/checkout_sessions",
                &bytes,
                now,
            ))
            .await;
        assert_eq!(ok.status, StatusCode::CREATED, "{:#}", ok.body);
        let id = ok.body["id"].as_str().unwrap();
        let path = format!("/checkout_sessions/{id}");
        let get = |signed_at: Option<i64>| {
            let req = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(&key)
                .header("API-Version", API_VERSION);
            match signed_at {
                Some(at) => signed(req, "GET", &path, b"", at),
                None => req,
            }
        };
        assert_eq!(app.raw(get(Some(now))).await.status, StatusCode::OK);
        assert_eq!(app.raw(get(None)).await.status, StatusCode::UNAUTHORIZED);

        // Other keys of the merchant are not asked to sign.
        let mine = app.post("/checkout_sessions", body.clone()).await;
        assert_eq!(mine.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn a_registered_platform_is_not_throttled_as_an_anonymous_client() {
    for app in guarded_apps().await {
        let fake = FakeAgent::start().await;
        let (_, key) = app.agent_for(&fake, "busy", false).await;
        let body = json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-S")}], "capabilities": {}});
        // Both from one address (a trusted proxy's X-Forwarded-For in these apps).
        let create = |key: &str| {
            app.client
                .post(format!("{}/checkout_sessions", app.base))
                .bearer_auth(key)
                .header("API-Version", API_VERSION)
                .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
                .header("X-Forwarded-For", "203.0.113.9")
                .json(&body)
        };
        // Many shoppers behind one agent platform: more than a client's burst.
        for i in 0..12 {
            let r = app.raw(create(&key)).await;
            assert_eq!(r.status, StatusCode::CREATED, "checkout {i}: {:#}", r.body);
        }
        // The merchant's publishable key from that address is one client.
        let mut throttled = 0;
        for _ in 0..12 {
            if app.raw(create(app.pk())).await.status == StatusCode::TOO_MANY_REQUESTS {
                throttled += 1;
            }
        }
        assert!(
            throttled > 0,
            "{}: an anonymous client is throttled",
            app.backend
        );
    }
}
