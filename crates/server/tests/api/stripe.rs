//! Real money through Stripe, against the fake Stripe of `crates/fake-stripe`
//! (Stripe's wire format: bracket forms, idempotency replays, error objects,
//! 3-D Secure, shared payment tokens, faults on demand).

use crate::helpers::*;
use anycart_checkout::recovery::{PAYMENT_RECOVERY_AFTER_MS, Recovered};
use anycart_fake_stripe::{FakeStripe, Fault};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The body of `PUT /v1/payment_provider` for the fake's account.
pub fn stripe_settings(fake: &FakeStripe) -> Value {
    json!({
        "provider": "stripe",
        "secret_key": fake.secret_key,
        "publishable_key": fake.publishable_key,
        "webhook_secret": fake.webhook_secret,
        "api_base": fake.base_url,
    })
}

/// An app on every backend whose demo merchant is paid through its own fake Stripe.
pub async fn stripe_apps() -> Vec<(TestApp, FakeStripe)> {
    let mut out = Vec::new();
    for app in apps().await {
        let fake = FakeStripe::start().await;
        let put = app
            .admin(
                Method::PUT,
                "/payment_provider",
                Some(stripe_settings(&fake)),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        out.push((app, fake));
    }
    out
}

/// ACP `payment_data` for the Stripe handler.
pub fn stripe_payment(token: &str) -> Value {
    let kind = if token.starts_with("spt_") {
        "spt"
    } else {
        "card"
    };
    json!({"payment_data": {"handler_id": "card_stripe", "instrument": {"type": "card", "credential": {"type": kind, "token": token}}}})
}

impl TestApp {
    pub async fn pay_stripe(&self, session: &str, token: &str) -> Reply {
        self.post(
            &format!("/checkout_sessions/{session}/complete"),
            stripe_payment(token),
        )
        .await
    }
}

fn now_s() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test]
async fn configuring_stripe_checks_the_keys_and_never_shows_a_secret() {
    for app in apps().await {
        let fake = FakeStripe::start().await;
        let before = app.admin(Method::GET, "/payment_provider", None).await;
        assert_eq!(before.body["provider"], "sandbox");
        assert_eq!(before.body["handler_id"], "card_sandbox");

        let put = app
            .admin(
                Method::PUT,
                "/payment_provider",
                Some(stripe_settings(&fake)),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        assert_eq!(put.body["provider"], "stripe");
        assert_eq!(put.body["handler_id"], "card_stripe");
        assert_eq!(
            put.body["settings"]["account_id"],
            anycart_fake_stripe::ACCOUNT_ID
        );
        assert_eq!(put.body["settings"]["livemode"], false);
        assert_eq!(put.body["settings"]["capture"], "automatic");
        assert_eq!(
            put.body["wallet_domain"]["registered"], true,
            "{}",
            put.body
        );
        assert_eq!(put.body["wallet_domain"]["domain"], "127.0.0.1");
        let merchant = &app.demo.merchant_id;
        assert_eq!(
            put.body["webhook_url"],
            format!("{}/webhooks/stripe/{merchant}", app.base)
        );
        let get = app.admin(Method::GET, "/payment_provider", None).await;
        for shown in [&put.body, &get.body] {
            let text = shown.to_string();
            assert!(!text.contains(&fake.secret_key), "secret key shown: {text}");
            assert!(!text.contains(&fake.webhook_secret), "webhook secret shown");
        }
        assert_eq!(get.body["provider"], "stripe");
        // Stripe saw the key checked and the domain registered, with our version.
        let requests = fake.requests();
        assert!(requests.iter().any(|r| r.path == "/v1/account"));
        assert!(
            requests
                .iter()
                .filter(|r| r.path.starts_with("/v1/"))
                .all(|r| r.stripe_version.as_deref()
                    == Some(anycart_payments::stripe::STRIPE_API_VERSION))
        );

        // Switching back to the sandbox and to Stripe again.
        let sandbox = app
            .admin(
                Method::PUT,
                "/payment_provider",
                Some(json!({"provider": "sandbox"})),
            )
            .await;
        assert_eq!(sandbox.status, StatusCode::OK);
        assert_eq!(sandbox.body["provider"], "sandbox");
        let again = app
            .admin(
                Method::PUT,
                "/payment_provider",
                Some(stripe_settings(&fake)),
            )
            .await;
        assert_eq!(again.body["provider"], "stripe");
    }
}

#[tokio::test]
async fn bad_provider_settings_are_refused_and_change_nothing() {
    for app in apps().await {
        let fake = FakeStripe::start().await;
        let with = |field: &str, value: Value| {
            let mut body = stripe_settings(&fake);
            body[field] = value;
            body
        };
        let cases = [
            (with("secret_key", json!("pk_test_123")), "$.secret_key"),
            (
                with("publishable_key", json!("sk_test_123")),
                "$.publishable_key",
            ),
            (with("webhook_secret", json!("secret")), "$.webhook_secret"),
            (with("api_base", json!("http://example.com")), "$.api_base"),
            (with("api_base", json!("not a url")), "$.api_base"),
            (
                with("publishable_key", json!("pk_live_abc")),
                "$.publishable_key",
            ),
            // A well-formed key Stripe does not know.
            (with("secret_key", json!("sk_test_unknown")), "$.secret_key"),
        ];
        for (body, param) in cases {
            let r = app
                .admin(Method::PUT, "/payment_provider", Some(body))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{param}: {}", r.body);
            assert_eq!(r.body["param"], param, "{}", r.body);
        }
        for body in [
            json!({"provider": "paypal"}),
            json!({"provider": "sandbox", "secret_key": "sk_test_x"}),
            json!({"provider": "stripe"}),
            json!([]),
        ] {
            let r = app
                .admin(Method::PUT, "/payment_provider", Some(body))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        }
        let get = app.admin(Method::GET, "/payment_provider", None).await;
        assert_eq!(get.body["provider"], "sandbox");
    }
}

#[tokio::test]
async fn a_stripe_merchant_advertises_its_handler_and_takes_only_its_tokens() {
    for (app, fake) in stripe_apps().await {
        let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let handlers = session.body["capabilities"]["payment"]["handlers"]
            .as_array()
            .unwrap();
        assert_eq!(handlers.len(), 1);
        let h = &handlers[0];
        assert_eq!(h["id"], "card_stripe");
        assert_eq!(h["psp"], "stripe");
        assert_eq!(h["requires_delegate_payment"], true);
        assert_eq!(h["config"]["merchant_id"], anycart_fake_stripe::ACCOUNT_ID);
        assert_eq!(h["config"]["publishable_key"], fake.publishable_key);
        let id = session.body["id"].as_str().unwrap();

        let sandbox = app.pay(id, "tok_visa").await;
        assert_eq!(sandbox.status, StatusCode::BAD_REQUEST);
        assert_eq!(sandbox.body["code"], "invalid_payment_handler");
        let wrong_kind = app.pay_stripe(id, "tok_visa").await;
        assert_eq!(wrong_kind.status, StatusCode::BAD_REQUEST);
        assert_eq!(wrong_kind.body["code"], "invalid_payment_token");
        let unknown = app.pay_stripe(id, "pm_does_not_exist").await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
        assert_eq!(unknown.body["code"], "invalid_payment_token");
        assert!(
            fake.payment_intents()
                .iter()
                .all(|pi| pi.status != "succeeded")
        );
    }
}

#[tokio::test]
async fn a_card_pays_once_with_the_order_in_stripe_metadata() {
    for (app, fake) in stripe_apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let session = app.ready_session(&variant, 2).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let total_minor = total(&session.body, "total");
        let paid = app.pay_stripe(&id, "pm_card_visa").await;
        assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
        assert_eq!(paid.body["status"], "completed");
        // A retry of the complete charges nothing more.
        let again = app.pay_stripe(&id, "pm_card_visa").await;
        assert_eq!(again.body["status"], "completed");

        let intents = fake.payment_intents();
        assert_eq!(intents.len(), 1, "{intents:?}");
        let pi = &intents[0];
        assert_eq!(pi.status, "succeeded");
        assert_eq!(pi.amount, total_minor);
        assert_eq!(pi.amount_captured, total_minor);
        assert_eq!(pi.currency, "usd");
        let order_id = paid.body["order"]["id"].as_str().unwrap();
        assert_eq!(pi.metadata["anycart_order_id"], order_id);
        assert_eq!(pi.metadata["anycart_session_id"], id);
        // Where the sale came from: the merchant's general publishable key.
        assert_eq!(pi.metadata["anycart_channel"], "own_site");
        let create = fake
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path == "/v1/payment_intents")
            .unwrap();
        assert_eq!(create.idempotency_key, Some(format!("{id}-0")));

        let order = app
            .admin(Method::GET, &format!("/orders/{order_id}"), None)
            .await;
        assert_eq!(order.body["payment_provider"], "stripe");
        assert_eq!(order.body["payment_reference"], pi.id);
        assert_eq!(app.available(&variant).await, before - 2);
    }
}

#[tokio::test]
async fn a_declined_card_releases_the_hold_and_another_card_pays() {
    for (app, fake) in stripe_apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;
        let session = app.ready_session(&variant, 1).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        for card in [
            "pm_card_chargeDeclined",
            "pm_card_chargeDeclinedInsufficientFunds",
        ] {
            let declined = app.pay_stripe(&id, card).await;
            assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
            assert!(
                message_codes(&declined.body).contains(&"payment_declined".to_string()),
                "{}",
                declined.body
            );
            assert_eq!(
                app.available(&variant).await,
                before,
                "the hold is released"
            );
        }
        let paid = app.pay_stripe(&id, "pm_card_visa").await;
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);
        let succeeded: Vec<_> = fake
            .payment_intents()
            .into_iter()
            .filter(|pi| pi.status == "succeeded")
            .collect();
        assert_eq!(succeeded.len(), 1);
        assert_eq!(app.available(&variant).await, before - 1);
    }
}

#[tokio::test]
async fn three_d_secure_runs_through_stripe_and_a_failed_challenge_declines() {
    for (app, fake) in stripe_apps().await {
        for passes in [true, false] {
            let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
            let id = session.body["id"].as_str().unwrap().to_string();
            let challenged = app.pay_stripe(&id, "pm_card_threeDSecure2Required").await;
            assert_eq!(
                challenged.body["status"], "authentication_required",
                "{}",
                challenged.body
            );
            let pi = fake
                .payment_intents()
                .into_iter()
                .find(|pi| pi.metadata.get("anycart_session_id") == Some(&id))
                .unwrap();
            assert_eq!(pi.status, "requires_action");
            // The widget runs the challenge with Stripe.js and the intent's secret.
            assert_eq!(
                challenged.body["authentication_metadata"]["client_secret"], pi.client_secret,
                "{}",
                challenged.body
            );
            // What Stripe.js does in the widget (or the agent's 3-D Secure flow).
            fake.authenticate(&pi.id, passes);
            let mut body = stripe_payment("pm_card_threeDSecure2Required");
            body["authentication_result"] =
                json!({"outcome": if passes { "authenticated" } else { "denied" }});
            let done = app
                .post(&format!("/checkout_sessions/{id}/complete"), body)
                .await;
            if passes {
                assert_eq!(done.body["status"], "completed", "{}", done.body);
            } else {
                assert!(
                    message_codes(&done.body).contains(&"payment_declined".to_string()),
                    "{}",
                    done.body
                );
            }
        }
        let succeeded = fake
            .payment_intents()
            .into_iter()
            .filter(|pi| pi.status == "succeeded")
            .count();
        assert_eq!(succeeded, 1);
    }
}

#[tokio::test]
async fn a_lost_answer_after_stripe_charged_never_charges_twice_nor_loses_the_order() {
    for (app, fake) in stripe_apps().await {
        for fault in [
            Fault::LoseAnswer {
                path_prefix: "/v1/payment_intents".into(),
            },
            Fault::DropConnection {
                path_prefix: "/v1/payment_intents".into(),
            },
            Fault::Status {
                path_prefix: "/v1/payment_intents".into(),
                status: 500,
            },
        ] {
            let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
            let id = session.body["id"].as_str().unwrap().to_string();
            fake.fail_next(fault.clone());
            let lost = app.pay_stripe(&id, "pm_card_visa").await;
            assert_eq!(
                lost.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{fault:?}: {}",
                lost.body
            );
            assert_eq!(lost.body["code"], "payment_unavailable");
            let retried = app.pay_stripe(&id, "pm_card_visa").await;
            assert_eq!(
                retried.body["status"], "completed",
                "{fault:?}: {}",
                retried.body
            );
            let mine: Vec<_> = fake
                .payment_intents()
                .into_iter()
                .filter(|pi| pi.metadata.get("anycart_session_id") == Some(&id))
                .collect();
            assert_eq!(mine.len(), 1, "{fault:?}: one PaymentIntent per attempt");
            assert_eq!(mine[0].status, "succeeded");
            assert_eq!(
                mine[0].metadata["anycart_order_id"],
                retried.body["order"]["id"].as_str().unwrap()
            );
        }
    }
}

#[tokio::test]
async fn the_recovery_worker_orders_a_stripe_charge_whose_answer_was_lost() {
    for (app, fake) in stripe_apps().await {
        let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        fake.fail_next(Fault::LoseAnswer {
            path_prefix: "/v1/payment_intents".into(),
        });
        let lost = app.pay_stripe(&id, "pm_card_visa").await;
        assert_eq!(lost.status, StatusCode::SERVICE_UNAVAILABLE);
        // The shopper walks away; the worker finds the journaled attempt.
        app.clock.advance_ms(PAYMENT_RECOVERY_AFTER_MS + 1);
        let recovered = app.state.checkout.recover_payments_once().await.unwrap();
        assert_eq!(recovered, vec![Recovered::Ordered], "{recovered:?}");
        let got = app.get(&format!("/checkout_sessions/{id}")).await;
        assert_eq!(got.body["status"], "completed");
        let mine: Vec<_> = fake
            .payment_intents()
            .into_iter()
            .filter(|pi| pi.metadata.get("anycart_session_id") == Some(&id))
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            mine[0].metadata["anycart_order_id"],
            got.body["order"]["id"].as_str().unwrap()
        );
    }
}

#[tokio::test]
async fn an_agents_shared_payment_token_pays_within_its_allowance_only() {
    for (app, fake) in stripe_apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let session = app.ready_session(&variant, 1).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let total_minor = total(&session.body, "total");
        let in_an_hour = now_s() + 3600;
        let refusals = [
            fake.create_granted_token(total_minor - 1, "usd", in_an_hour),
            fake.create_granted_token(total_minor, "eur", in_an_hour),
            {
                let t = fake.create_granted_token(total_minor, "usd", in_an_hour);
                fake.deactivate_granted_token(&t);
                t
            },
            "spt_never_granted_here".to_string(),
        ];
        let available = app.available(&variant).await;
        for token in &refusals {
            let r = app.pay_stripe(&id, token).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{token}: {}", r.body);
            assert_eq!(r.body["code"], "invalid_payment_token", "{}", r.body);
            assert_eq!(
                r.body["param"],
                "$.payment_data.instrument.credential.token"
            );
        }
        assert!(fake.payment_intents().is_empty(), "nothing was charged");
        assert_eq!(app.available(&variant).await, available, "the hold stays");
        let over = app.pay_stripe(&id, &refusals[0]).await;
        assert!(over.body["message"].as_str().unwrap().contains("allows"));

        let good = fake.create_granted_token(total_minor, "usd", in_an_hour);
        let paid = app.pay_stripe(&id, &good).await;
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);
        let intents = fake.payment_intents();
        assert_eq!(intents.len(), 1);
        assert_eq!(intents[0].amount, total_minor);
        let create = fake
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path == "/v1/payment_intents")
            .unwrap();
        assert!(create.params.iter().any(|(k, v)| {
            k == "payment_method_data[shared_payment_granted_token]" && v == &good
        }));
    }
}

#[tokio::test]
async fn capture_on_fulfilment_only_authorises_at_completion() {
    for (app, fake) in stripe_apps().await {
        let mut settings = stripe_settings(&fake);
        settings["capture"] = json!("on_fulfilment");
        let put = app
            .admin(Method::PUT, "/payment_provider", Some(settings))
            .await;
        assert_eq!(put.body["settings"]["capture"], "on_fulfilment");
        let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let paid = app.pay_stripe(&id, "pm_card_visa").await;
        assert_eq!(paid.body["status"], "completed", "{}", paid.body);
        let pi = &fake.payment_intents()[0];
        assert_eq!(pi.status, "requires_capture");
        assert_eq!(pi.amount_captured, 0);
    }
}

#[tokio::test]
async fn the_widget_of_a_stripe_merchant_loads_stripe_js_and_its_csp_lets_only_that_in() {
    for (app, fake) in stripe_apps().await {
        let host = "https://news.example";
        let (product, _) = crate::placements::product_of(&app, "TEE-TRAIL-S").await;
        let made = app
            .admin(
                Method::POST,
                "/placements",
                Some(json!({"product_id": product, "channel": "display_ad", "allowed_origins": [host]})),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let id = made.body["id"].as_str().unwrap();
        let (status, headers, html) = crate::placements::page(&app, id, host).await;
        assert_eq!(status, StatusCode::OK);
        let cfg = crate::placements::page_config(&html);
        assert_eq!(
            cfg["payment"],
            json!({"provider": "stripe", "publishable_key": fake.publishable_key,
                   "js_url": format!("{}/v3/", fake.base_url)})
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in ["script-src", "frame-src", "connect-src"] {
            assert!(
                csp.contains(&format!("{directive} 'self' {}", fake.base_url))
                    || csp.contains(&format!("{directive} {}", fake.base_url)),
                "{directive} lets the fake's Stripe.js in: {csp}"
            );
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!html.contains(&fake.secret_key), "no secret in the page");
    }
}

/// A shared payment token is checked only for a new attempt: once it paid
/// (its answer lost on the way back) Stripe may deactivate it, and the
/// agent's retry with the same token must still settle the journaled attempt,
/// not be refused as an unusable token, and charge nothing more.
#[tokio::test]
async fn a_retry_with_a_shared_token_used_up_by_its_lost_payment_completes_it() {
    for (app, fake) in stripe_apps().await {
        let session = app.ready_session(&app.variant("TEE-TRAIL-S"), 1).await;
        let id = session.body["id"].as_str().unwrap().to_string();
        let token = fake.create_granted_token(total(&session.body, "total"), "usd", now_s() + 3600);
        fake.fail_next(Fault::LoseAnswer {
            path_prefix: "/v1/payment_intents".into(),
        });
        let lost = app.pay_stripe(&id, &token).await;
        assert_eq!(
            lost.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            lost.body
        );
        fake.deactivate_granted_token(&token);
        let retried = app.pay_stripe(&id, &token).await;
        assert_eq!(retried.body["status"], "completed", "{}", retried.body);
        let mine: Vec<_> = fake
            .payment_intents()
            .into_iter()
            .filter(|pi| pi.metadata.get("anycart_session_id") == Some(&id))
            .collect();
        assert_eq!(mine.len(), 1, "one PaymentIntent for the attempt");
        assert_eq!(
            mine[0].metadata["anycart_order_id"],
            retried.body["order"]["id"].as_str().unwrap()
        );
    }
}
