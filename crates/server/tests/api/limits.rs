//! `max_quantity_per_order` per checkout and per buyer: over-limit baskets hold
//! nothing (no hoarding), one buyer cannot spread a limited drop over many
//! checkouts or `+tag` addresses, and other buyers are unaffected.

use crate::helpers::{address, apps, message_codes, payment};
use serde_json::{Value, json};
use std::sync::Arc;

/// The demo's limited drop: `SNKR-DROP-42`, at most 2 per customer.
const LIMITED: &str = "SNKR-DROP-42";

fn session_body(variant: &str, qty: i64, email: Option<&str>) -> Value {
    let mut body = json!({
        "currency": "usd",
        "line_items": [{"id": variant, "quantity": qty}],
        "capabilities": {},
        "fulfillment_details": {"name": "Sam Shopper", "address": address("US", "CA")},
    });
    if let Some(e) = email {
        body["buyer"] = json!({"email": e});
    }
    body
}

fn exceeded(body: &Value) -> bool {
    message_codes(body).iter().any(|c| c == "quantity_exceeded")
}

#[tokio::test]
async fn over_limit_baskets_hold_nothing_and_buyers_cannot_spread_a_drop() {
    for app in apps().await {
        let name = app.backend;
        let v = app.variant(LIMITED);
        let start = app.available(&v).await;

        // 3 in one checkout (even as two lines) breaks the limit: shown, not held.
        let mut two_lines = session_body(&v, 2, None);
        two_lines["line_items"] = json!([{"id": v, "quantity": 2}, {"id": v, "quantity": 1}]);
        let s = app.post("/checkout_sessions", two_lines).await;
        assert_eq!(s.status, 201, "{name}");
        assert!(exceeded(&s.body), "{name}: {:#}", s.body);
        assert_eq!(s.body["status"], "not_ready_for_payment");
        assert_eq!(app.available(&v).await, start, "{name}: nothing hoarded");

        // A buyer takes 2: fine.
        let a = app
            .post(
                "/checkout_sessions",
                session_body(&v, 2, Some("Drop.Fan@Example.com")),
            )
            .await;
        assert_eq!(
            a.body["status"], "ready_for_payment",
            "{name}: {:#}",
            a.body
        );
        assert_eq!(app.available(&v).await, start - 2);

        // The same buyer behind a +tag wants 1 more in a second checkout: refused, not held.
        let b = app
            .post(
                "/checkout_sessions",
                session_body(&v, 1, Some("drop.fan+2@example.com")),
            )
            .await;
        assert!(exceeded(&b.body), "{name}: {:#}", b.body);
        let text = b.body["messages"][0]["content"].as_str().unwrap_or("");
        assert!(text.contains("per customer"), "{name}: {text}");
        assert_eq!(app.available(&v).await, start - 2);
        // Giving an anonymous checkout that buyer's email later releases what it held.
        let c = app
            .post("/checkout_sessions", session_body(&v, 1, None))
            .await;
        assert_eq!(app.available(&v).await, start - 3, "{name}");
        let c_id = c.body["id"].as_str().unwrap();
        let c = app
            .post(
                &format!("/checkout_sessions/{c_id}"),
                json!({"buyer": {"email": "DROP.FAN@example.com"}}),
            )
            .await;
        assert!(exceeded(&c.body), "{name}: {:#}", c.body);
        assert_eq!(app.available(&v).await, start - 2, "{name}: released");
        // …and paying it is refused before any charge.
        let paid = app
            .post(
                &format!("/checkout_sessions/{c_id}/complete"),
                payment("tok_visa"),
            )
            .await;
        assert_ne!(paid.body["status"], "completed", "{name}: {:#}", paid.body);

        // Another buyer is unaffected.
        let other = app
            .post(
                "/checkout_sessions",
                session_body(&v, 2, Some("someone@else.com")),
            )
            .await;
        assert_eq!(other.body["status"], "ready_for_payment", "{name}");

        // Once the first buyer's 2 are ordered, the limit still counts them (24 h).
        let a_id = a.body["id"].as_str().unwrap();
        let done = app.pay(a_id, "tok_visa").await;
        assert_eq!(done.body["status"], "completed", "{name}: {:#}", done.body);
        let again = app
            .post(
                "/checkout_sessions",
                session_body(&v, 1, Some("dropfan@example.com")),
            )
            .await;
        // Not Gmail: dots matter, so this is a different buyer.
        assert_eq!(again.body["status"], "ready_for_payment", "{name}");
        let again = app
            .post(
                "/checkout_sessions",
                session_body(&v, 1, Some("drop.fan@example.com")),
            )
            .await;
        assert!(exceeded(&again.body), "{name}: ordered units count");
    }
}

/// A bot opens many checkouts for one buyer at once: the buyer never holds more
/// than the limit, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checkouts_of_one_buyer_never_hold_past_the_limit() {
    for app in apps().await {
        let name = app.backend;
        let app = Arc::new(app);
        let v = app.variant(LIMITED);
        let start = app.available(&v).await;
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (app, v) = (app.clone(), v.clone());
                tokio::spawn(async move {
                    let email = format!("bot+{i}@example.com");
                    app.post("/checkout_sessions", session_body(&v, 1, Some(&email)))
                        .await
                })
            })
            .collect();
        let mut ready = 0;
        for t in tasks {
            let s = t.await.unwrap();
            assert_eq!(s.status, 201, "{name}");
            ready += usize::from(s.body["status"] == "ready_for_payment");
        }
        assert_eq!(ready, 2, "{name}: exactly the limit is held");
        assert_eq!(app.available(&v).await, start - 2, "{name}");
    }
}
