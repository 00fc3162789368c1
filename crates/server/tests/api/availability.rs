//! Live availability over server-sent events.

use crate::helpers::{apps, spawn_sqlite};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Reads SSE `data:` payloads until `want` matches one, or fails after a timeout.
async fn next_matching(
    resp: &mut reqwest::Response,
    buffer: &mut String,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) {
                let v: Value = serde_json::from_str(data.trim()).unwrap();
                if want(&v) {
                    return v;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("an availability event in time")
            .unwrap()
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn open_widgets_see_stock_move_in_real_time() {
    for app in apps().await {
        let green = app.variant("BTL-750-GRN"); // 3 in stock
        let url = format!(
            "{}/availability/stream?key={}&variants={green}",
            app.base,
            app.pk()
        );
        let mut resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut buf = String::new();
        let first = next_matching(&mut resp, &mut buf, |_| true).await;
        assert_eq!(first, json!({"variant_id": green, "available": 3}));

        // A hold through the engine (or the per-request path via the poller) is pushed.
        let s = app.ready_session(&green, 2).await;
        next_matching(&mut resp, &mut buf, |v| v["available"] == 1).await;
        // A cancel is picked up too (by the poller, as any other node's change would be).
        app.post(
            &format!(
                "/checkout_sessions/{}/cancel",
                s.body["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
        next_matching(&mut resp, &mut buf, |v| v["available"] == 3).await;
        eprintln!("{}: live availability ok", app.backend);
    }
}

#[tokio::test]
async fn streams_refuse_bad_keys_and_foreign_variants() {
    let app = spawn_sqlite(None).await;
    let green = app.variant("BTL-750-GRN");
    let get = |q: String| {
        let client = app.client.clone();
        let base = app.base.clone();
        async move {
            client
                .get(format!("{base}/availability/stream?{q}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        get(format!("key=pk_nope&variants={green}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(format!("key={}&variants=", app.pk())).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(format!(
            "key={}&variants=var_0190f1b2c3d47e8f9a0b1c2d3e4f5a6b",
            app.pk()
        ))
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    let many = vec![green.clone(); 21].join(",");
    assert_eq!(
        get(format!("key={}&variants={many}", app.pk()))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let other = anycart_checkout::merchants::create_merchant(&app.state.store, "Other", 0)
        .await
        .unwrap();
    let r = get(format!(
        "key={}&variants={green}",
        other.to_json().publishable_key
    ))
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "another merchant's variant is unknown"
    );
    assert_eq!(
        get(format!("variants={green}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = get(format!("key={}", app.pk())).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_variants");
}
