//! The rest of ACP 2026-04-17 on the REST binding: discovery, capability
//! negotiation, intent traces and affiliate attribution (recorded, never
//! echoed, refused when malformed or carrying personal data).

use crate::fake_agent::{FakeAgent, schema_errors};
use crate::helpers::*;
use anycart_core::SessionId;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_is_public_cacheable_and_acp_s_shape() {
    let app = spawn_sqlite(None).await;
    let r = app
        .client
        .get(format!("{}/.well-known/acp.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=3600"
    );
    let body: Value = r.json().await.unwrap();
    let errors = schema_errors("checkout", "DiscoveryResponse", &body);
    assert!(errors.is_empty(), "{errors:#?}\n{body:#}");
    assert_eq!(body["protocol"]["version"], API_VERSION);
    assert_eq!(body["api_base_url"], app.base);
    assert_eq!(body["transports"], json!(["rest", "mcp"]));
    assert!(!body.to_string().contains("mer_"), "no merchant is named");
}

fn session_id(reply: &Reply) -> SessionId {
    SessionId::parse(reply.body["id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn interventions_are_the_intersection_and_a_missing_one_is_said() {
    for app in apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let r = app
            .post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": variant}],
                "capabilities": {"interventions": {"supported": ["biometric", "3ds", "teleport"], "max_redirects": 1}, "extensions": ["discount"]}}))
            .await;
        assert_eq!(
            r.body["capabilities"]["interventions"]["supported"],
            json!(["3ds"])
        );
        let bad = app
            .post(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": variant}],
                "capabilities": {"interventions": {"supported": "3ds"}}}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body["param"], "$.capabilities.interventions.supported");

        // An agent that cannot run 3-D Secure is told when the bank asks for it.
        let s = app
            .post(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": variant}],
                "capabilities": {"interventions": {"supported": []}},
                "buyer": {"email": "x@example.com"},
                "fulfillment_details": {"name": "Sam", "address": address("US", "CA")}}),
            )
            .await;
        let paid = app
            .pay(s.body["id"].as_str().unwrap(), "tok_threeDSecure2Required")
            .await;
        assert_eq!(paid.body["status"], "authentication_required");
        assert!(
            message_codes(&paid.body).contains(&"intervention_required".to_string()),
            "{:#}",
            paid.body
        );
        assert_eq!(
            paid.body["capabilities"]["interventions"]["required"],
            json!(["3ds"])
        );
    }
}

#[tokio::test]
async fn an_intent_trace_is_recorded_once_and_never_shown() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let (platform, key) = app.agent_for(&fake, "tracer", false).await;
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let created = app
            .post_with(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": variant}], "capabilities": {}}),
                &key,
                "c1",
            )
            .await;
        let id = created.body["id"].as_str().unwrap().to_string();
        let cancel = format!("/checkout_sessions/{id}/cancel");

        // Malformed traces are refused and nothing is canceled.
        for (trace, param) in [
            (
                json!({"reason_code": "shipping_cost", "metadata": {"nested": {"a": 1}}}),
                "$.intent_trace.metadata.nested",
            ),
            (
                json!({"reason_code": "shipping_cost", "metadata": {"list": [1]}}),
                "$.intent_trace.metadata.list",
            ),
            (json!({"reason_code": 7}), "$.intent_trace.reason_code"),
            (
                json!({"reason_code": "other", "trace_summary": "x".repeat(501)}),
                "$.intent_trace.trace_summary",
            ),
        ] {
            let r = app
                .post_with(
                    &cancel,
                    json!({"intent_trace": trace}),
                    &key,
                    &uuid::Uuid::now_v7().to_string(),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{trace}: {:#}", r.body);
            assert_eq!(r.body["param"], param, "{trace}");
        }
        assert_eq!(app.available(&variant).await, before - 1, "still held");

        let trace = json!({"intent_trace": {"reason_code": "shipping_cost", "trace_summary": "Shipping is too dear.", "metadata": {"target_shipping_cost": 0, "competitor": "elsewhere", "free": true}}});
        let done = app
            .post_with(&cancel, trace.clone(), &key, "cancel-1")
            .await;
        assert_eq!(done.body["status"], "canceled");
        let replay = app.post_with(&cancel, trace, &key, "cancel-1").await;
        assert_eq!(replay.headers["idempotent-replayed"], "true");
        assert_eq!(app.available(&variant).await, before);
        assert!(!done.body.to_string().contains("intent_trace"));
        assert!(
            !app.get(&format!("/checkout_sessions/{id}"))
                .await
                .body
                .to_string()
                .contains("dear")
        );

        let merchant = app.merchant_id();
        let recorded = app
            .state
            .store
            .intent_trace(merchant, session_id(&created))
            .await
            .unwrap()
            .expect("recorded");
        assert_eq!(recorded.reason_code, "shipping_cost");
        assert_eq!(recorded.metadata["competitor"], "elsewhere");
        assert_eq!(recorded.agent.as_deref(), Some(platform.as_str()));

        // An unknown reason is kept as `other`.
        let s2 = app
            .post(
                "/checkout_sessions",
                json!({"currency": "usd", "line_items": [{"id": variant}]}),
            )
            .await;
        let id2 = s2.body["id"].as_str().unwrap();
        let r = app
            .post(
                &format!("/checkout_sessions/{id2}/cancel"),
                json!({"intent_trace": {"reason_code": "found_it_cheaper_on_mars"}}),
            )
            .await;
        assert_eq!(r.body["status"], "canceled");
        let t = app
            .state
            .store
            .intent_trace(merchant, session_id(&s2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((t.reason_code.as_str(), t.agent), ("other", None));
    }
}

#[tokio::test]
async fn affiliate_attribution_is_recorded_per_touchpoint_first_claim_wins() {
    for app in apps().await {
        let fake = FakeAgent::start().await;
        let (_, key) = app.agent_for(&fake, "affiliates", false).await;
        let first = json!({"affiliate_attribution": {"provider": "impact.com", "token": "atp_01J8Z3WXYZ9ABC", "publisher_id": "pub_123", "campaign_id": "cmp_456", "touchpoint": "first", "source": {"type": "url", "url": "https://publisher.example/reviews"}, "issued_at": "2026-12-01T10:00:00Z", "metadata": {"placement": "top_pick", "rank": 1}}});
        let paid = app.buy_with(&key, "TEE-TRAIL-S", first).await;
        assert!(!paid.body.to_string().contains("atp_01J8Z3WXYZ9ABC"));
        let sid = session_id(&paid);
        let merchant = app.merchant_id();
        let claims = app
            .state
            .store
            .affiliate_claims(merchant, sid)
            .await
            .unwrap();
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].publisher_id.as_deref(), Some("pub_123"));
        assert_eq!(
            claims[0].token.as_ref().unwrap().expose(),
            "atp_01J8Z3WXYZ9ABC"
        );
        assert_eq!(claims[0].metadata["rank"], 1);

        // A last touch at completion, and a second conflicting first touch ignored.
        let s = app
            .post_with("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": app.variant("TEE-TRAIL-M")}], "capabilities": {},
                "buyer": {"email": "a@example.com"}, "fulfillment_details": {"name": "A", "address": address("US", "CA")},
                "affiliate_attribution": {"provider": "impact.com", "publisher_id": "pub_first"}}), &key, "a1")
            .await;
        let id = s.body["id"].as_str().unwrap();
        let mut pay = payment("tok_visa");
        pay["affiliate_attribution"] =
            json!({"provider": "cj.com", "publisher_id": "pub_last", "touchpoint": "last"});
        let done = app
            .post_with(
                &format!("/checkout_sessions/{id}/complete"),
                pay,
                &key,
                "a2",
            )
            .await;
        assert_eq!(done.body["status"], "completed", "{:#}", done.body);
        let claims = app
            .state
            .store
            .affiliate_claims(merchant, session_id(&s))
            .await
            .unwrap();
        let publishers: Vec<_> = claims
            .iter()
            .map(|c| (c.touchpoint.as_str(), c.publisher_id.clone().unwrap()))
            .collect();
        assert_eq!(
            publishers,
            vec![
                ("first", "pub_first".to_string()),
                ("last", "pub_last".to_string())
            ]
        );
        // The merchant reads them on the order (secret key), tokens included.
        let order = done.body["order"]["id"].as_str().unwrap();
        let seen = app
            .admin(
                reqwest::Method::GET,
                &format!("/orders/{order}/affiliate_attribution"),
                None,
            )
            .await;
        assert_eq!(
            seen.body["data"][1]["publisher_id"], "pub_last",
            "{:#}",
            seen.body
        );
        assert_eq!(seen.body["data"][0]["touchpoint"], "first");
    }
}

#[tokio::test]
async fn malformed_or_personal_attribution_is_refused_and_nothing_is_held() {
    for app in apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let cases = [
            (
                json!({"publisher_id": "p"}),
                "invalid",
                "$.affiliate_attribution.provider",
            ),
            (
                json!({"provider": "impact.com"}),
                "invalid",
                "$.affiliate_attribution",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "metadata": {"a": {"b": 1}}}),
                "invalid",
                "$.affiliate_attribution.metadata.a",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "metadata": {"user_email": "x"}}),
                "pii_not_allowed",
                "$.affiliate_attribution.metadata.user_email",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "sub_id": "sam@example.com"}),
                "pii_not_allowed",
                "$.affiliate_attribution.sub_id",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "sub_id": "+1 (555) 123-4567"}),
                "pii_not_allowed",
                "$.affiliate_attribution.sub_id",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "touchpoint": "middle"}),
                "invalid",
                "$.affiliate_attribution.touchpoint",
            ),
            (
                json!({"provider": "impact.com", "publisher_id": "p", "expires_at": "soon"}),
                "invalid",
                "$.affiliate_attribution.expires_at",
            ),
            (
                json!({"provider": 5, "publisher_id": "p"}),
                "invalid_field",
                "$.affiliate_attribution.provider",
            ),
        ];
        for (attribution, code, param) in cases {
            let r = app
                .post("/checkout_sessions", json!({"currency": "usd", "line_items": [{"id": variant}], "affiliate_attribution": attribution}))
                .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{attribution}: {:#}",
                r.body
            );
            assert_eq!(
                (r.body["code"].as_str(), r.body["param"].as_str()),
                (Some(code), Some(param)),
                "{attribution}"
            );
        }
        assert_eq!(app.available(&variant).await, before);
    }
}

#[tokio::test]
async fn the_merchant_s_own_keys_keep_their_channels() {
    for app in apps().await {
        let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let paid = app
            .pay(session.body["id"].as_str().unwrap(), "tok_visa")
            .await;
        let view = app
            .order_view(paid.body["order"]["id"].as_str().unwrap())
            .await;
        assert_eq!(view["attribution"]["channel"], "own_site");
        assert_eq!(view["attribution"]["agent"], Value::Null);
    }
}
