//! Injected failures: statuses, hangs, lost answers, dropped connections.

use crate::helpers::Api;
use anycart_fake_stripe::Fault;
use std::time::Duration;

const PAY: [(&str, &str); 6] = [
    ("amount", "2500"),
    ("currency", "usd"),
    ("payment_method", "pm_card_visa"),
    ("confirm", "true"),
    ("automatic_payment_methods[enabled]", "true"),
    ("automatic_payment_methods[allow_redirects]", "never"),
];

fn prefix() -> String {
    "/v1/payment_intents".to_string()
}

#[tokio::test]
async fn a_status_fault_answers_stripes_error_changes_nothing_and_is_used_once() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::Status {
        path_prefix: prefix(),
        status: 500,
    });
    api.stripe.fail_next(Fault::Status {
        path_prefix: prefix(),
        status: 429,
    });
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("k")
        .send()
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["error"]["type"], "api_error");
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("k")
        .send()
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["error"]["type"], "rate_limit_error");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(api.stripe.payment_intents().is_empty());
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("k")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("idempotent-replayed").is_none(),
        "a fault answer is not stored for the key"
    );
    assert_eq!(api.stripe.payment_intents().len(), 1);
}

#[tokio::test]
async fn faults_match_by_path_prefix_and_wait_for_their_request() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::Status {
        path_prefix: "/v1/refunds".into(),
        status: 503,
    });
    let r = api.post("/v1/payment_intents").params(&PAY).send().await;
    assert_eq!(r.status, 200, "other paths are untouched");
    let r = api
        .post("/v1/refunds")
        .param("payment_intent", r.body["id"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["error"]["type"], "api_error");
    assert!(api.stripe.refunds().is_empty());
}

#[tokio::test]
async fn lose_answer_charges_then_answers_500_and_the_retry_gets_the_stored_success() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::LoseAnswer {
        path_prefix: prefix(),
    });
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("lost-1")
        .send()
        .await;
    assert_eq!(r.status, 500);
    let pis = api.stripe.payment_intents();
    assert_eq!(pis.len(), 1);
    assert_eq!(pis[0].status, "succeeded", "the charge happened");
    let retry = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("lost-1")
        .send()
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body["id"], pis[0].id.as_str());
    assert_eq!(api.stripe.payment_intents().len(), 1);
    let log = api.stripe.requests();
    assert_eq!(log[0].status, 500, "the log shows what the client got");
}

#[tokio::test]
async fn drop_connection_charges_then_breaks_the_connection() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::DropConnection {
        path_prefix: prefix(),
    });
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("drop-1")
        .try_send()
        .await;
    assert!(r.is_err(), "the client sees a broken connection: {r:?}");
    assert_eq!(api.stripe.payment_intents().len(), 1);
    let retry = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("drop-1")
        .send()
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn a_hang_outlasts_the_client_the_request_still_runs_and_the_key_is_busy_meanwhile() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::Hang {
        path_prefix: prefix(),
        duration: Duration::from_millis(800),
    });
    let r = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("slow-1")
        .timeout(Duration::from_millis(150))
        .try_send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    let busy = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("slow-1")
        .send()
        .await;
    assert_eq!(busy.status, 409);
    assert_eq!(busy.body["error"]["type"], "idempotency_error");
    assert_eq!(busy.header("stripe-should-retry"), Some("true"));
    assert!(api.stripe.payment_intents().is_empty(), "not run yet");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while api.stripe.payment_intents().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the hung request never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.stripe.payment_intents().len(),
        1,
        "ran although the client gave up"
    );
    let later = api
        .post("/v1/payment_intents")
        .params(&PAY)
        .idempotency("slow-1")
        .send()
        .await;
    assert_eq!(later.status, 200);
    assert_eq!(later.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn a_hang_answers_a_patient_client_after_the_delay() {
    let api = Api::start().await;
    api.stripe.fail_next(Fault::Hang {
        path_prefix: prefix(),
        duration: Duration::from_millis(300),
    });
    let started = std::time::Instant::now();
    let r = api.post("/v1/payment_intents").params(&PAY).send().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
}
