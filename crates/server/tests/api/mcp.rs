//! The MCP server at `/mcp`, spoken to as raw JSON-RPC over HTTP: the tools
//! listed, a purchase through them (the same stock, outbox and attribution as
//! any other door), idempotency shared with REST, and every bad call answered
//! in MCP's shape with ACP's error inside. (tests/mcp/buy.py buys through the
//! official MCP Python SDK as well.)

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestApp {
    /// One JSON-RPC call to `/mcp` with `key` (none: no Authorization).
    pub async fn mcp(&self, key: Option<&str>, method: &str, params: Value) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(format!("{}/mcp", self.base))
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `tools/call`: the structured result, or the JSON-RPC error.
    pub async fn tool(&self, name: &str, arguments: Value) -> Result<Value, Value> {
        let (status, body) = self
            .mcp(
                Some(self.sk()),
                "tools/call",
                json!({"name": name, "arguments": arguments}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        match body.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(body["result"]["structuredContent"].clone()),
        }
    }
}

fn meta(key: &str) -> Value {
    json!({"api_version": API_VERSION, "idempotency_key": key})
}

#[tokio::test]
async fn an_mcp_client_lists_the_tools_and_buys() {
    for app in apps().await {
        let (status, listed) = app.mcp(Some(app.sk()), "tools/list", json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<&str> = listed["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for tool in [
            "create_checkout_session",
            "get_checkout_session",
            "update_checkout_session",
            "complete_checkout_session",
            "cancel_checkout_session",
            "search_products",
            "get_product_availability",
        ] {
            assert!(names.contains(&tool), "{tool} missing from {names:?}");
        }

        let found = app
            .tool("search_products", json!({"query": "runner tee"}))
            .await
            .unwrap();
        let variant = found["products"][0]["variants"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = app.available(&variant).await;
        let created = app
            .tool(
                "create_checkout_session",
                json!({"meta": meta("m-create"), "payload": {
                "currency": "usd", "line_items": [{"id": variant, "quantity": 2}],
                "buyer": {"email": "mcp@example.com"},
                "fulfillment_details": {"name": "Sam", "address": address("US", "CA")}}}),
            )
            .await
            .unwrap();
        assert_acp_shape(&Reply {
            status: StatusCode::CREATED,
            body: created.clone(),
            headers: Default::default(),
        });
        let id = created["id"].as_str().unwrap().to_string();
        let avail = app
            .tool(
                "get_product_availability",
                json!({"variant_ids": [variant, "var_00000000000000000000000000000000"]}),
            )
            .await
            .unwrap();
        assert_eq!(avail["variants"][0]["available_quantity"], before - 2);
        assert_eq!(
            avail["unknown"],
            json!(["var_00000000000000000000000000000000"])
        );

        let option = created["fulfillment_options"][0]["id"].clone();
        let updated = app
            .tool("update_checkout_session", json!({"meta": meta("m-update"), "id": id,
                "payload": {"selected_fulfillment_options": [{"type": "shipping", "option_id": option}]}}))
            .await
            .unwrap();
        assert_eq!(updated["status"], "ready_for_payment");
        let pay = json!({"meta": meta("m-pay"), "id": id, "payload": payment("tok_visa")});
        let paid = app
            .tool("complete_checkout_session", pay.clone())
            .await
            .unwrap();
        assert_eq!(paid["status"], "completed");
        assert_acp_shape(&Reply {
            status: StatusCode::OK,
            body: paid.clone(),
            headers: Default::default(),
        });
        let order = paid["order"]["id"].as_str().unwrap();

        // A retry is the same order; the same key over REST replays it too.
        let again = app.tool("complete_checkout_session", pay).await.unwrap();
        assert_eq!(again["order"]["id"], order);
        let rest = app
            .post_with(
                &format!("/checkout_sessions/{id}/complete"),
                payment("tok_visa"),
                app.sk(),
                "m-pay",
            )
            .await;
        assert_eq!(rest.headers["idempotent-replayed"], "true");
        assert_eq!(rest.body["order"]["id"], order);
        assert_eq!(app.available(&variant).await, before - 2, "sold once");

        let view = app.order_view(order).await;
        assert_eq!(view["attribution"]["channel"], "agent");
        assert_eq!(
            view["attribution"]["agent"],
            json!({"protocol": "mcp", "name": null})
        );
        // The order goes to the merchant's platform through the same outbox.
        assert_eq!(app.deliver().await.delivered, 1);

        let got = app
            .tool("get_checkout_session", json!({"meta": meta("x"), "id": id}))
            .await
            .unwrap();
        assert_eq!(got["status"], "completed");
        let cancel = app
            .tool(
                "cancel_checkout_session",
                json!({"meta": meta("m-cancel"), "id": id}),
            )
            .await
            .unwrap_err();
        assert_eq!(cancel["data"]["code"], "not_cancelable");
    }
}

#[tokio::test]
async fn bad_mcp_calls_get_mcp_errors_carrying_acp_errors_and_change_nothing() {
    for app in apps().await {
        let variant = app.variant("TEE-TRAIL-S");
        let before = app.available(&variant).await;

        let (status, body) = app.mcp(None, "tools/list", json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["data"]["code"], "invalid_api_key");
        let (status, _) = app.mcp(Some("sk_not_a_key"), "tools/list", json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let cases = [
            (
                "create_checkout_session",
                json!({"meta": meta("b1"), "payload": {"currency": "usd", "line_items": [{"id": variant, "quantity": "two"}]}}),
                -32000,
                "invalid_field",
                Some("$.line_items[0].quantity"),
            ),
            (
                "create_checkout_session",
                json!({"meta": meta("b2"), "payload": {"currency": "usd", "line_items": []}}),
                -32000,
                "missing",
                Some("$.line_items"),
            ),
            (
                "create_checkout_session",
                json!({"payload": {"currency": "usd", "line_items": [{"id": variant}]}}),
                -32000,
                "missing_api_version",
                None,
            ),
            (
                "create_checkout_session",
                json!({"meta": {"api_version": "1999-01-01"}, "payload": {"currency": "usd", "line_items": [{"id": variant}]}}),
                -32000,
                "unsupported_api_version",
                None,
            ),
            (
                "create_checkout_session",
                json!({"meta": meta("b3"), "payload": "lots"}),
                -32602,
                "invalid_field",
                Some("$.payload"),
            ),
            (
                "create_checkout_session",
                json!({"meta": meta("b4")}),
                -32602,
                "invalid_field",
                Some("$.payload"),
            ),
            (
                "create_checkout_session",
                json!({"meta": "2026-04-17", "payload": {}}),
                -32602,
                "invalid_field",
                Some("$.meta"),
            ),
            (
                "create_checkout_session",
                json!({"meta": {"api_version": 20260417}, "payload": {}}),
                -32602,
                "invalid_field",
                Some("$.meta.api_version"),
            ),
            (
                "get_checkout_session",
                json!({"meta": meta("b5"), "id": ["cs_1"]}),
                -32602,
                "invalid_field",
                Some("$.id"),
            ),
            (
                "get_checkout_session",
                json!({"meta": meta("b6"), "id": "cs_01a24f306c9a74599d64566864dc73f6"}),
                -32000,
                "not_found",
                None,
            ),
            (
                "complete_checkout_session",
                json!({"meta": meta("b7"), "id": "cs_x", "payload": {"payment_data": {}}}),
                -32000,
                "not_found",
                None,
            ),
            (
                "search_products",
                json!({"limit": 0}),
                -32602,
                "invalid_field",
                Some("$.limit"),
            ),
            (
                "get_product_availability",
                json!({"variant_ids": []}),
                -32602,
                "invalid_field",
                Some("$.variant_ids"),
            ),
            (
                "get_product_availability",
                json!({"variant_ids": ["nope"]}),
                -32000,
                "invalid_item_id",
                Some("$.variant_ids[0]"),
            ),
        ];
        for (tool, args, rpc, code, param) in cases {
            let e = app.tool(tool, args.clone()).await.unwrap_err();
            assert_eq!(e["code"], rpc, "{tool} {args}: {e:#}");
            assert_eq!(e["data"]["code"], code, "{tool} {args}: {e:#}");
            assert_eq!(e["data"]["type"], "invalid_request");
            assert!(!e["message"].as_str().unwrap().is_empty());
            if let Some(p) = param {
                assert_eq!(e["data"]["param"], p, "{tool} {args}");
            }
        }
        let (_, unknown) = app
            .mcp(
                Some(app.sk()),
                "tools/call",
                json!({"name": "buy_everything", "arguments": {}}),
            )
            .await;
        assert_eq!(unknown["error"]["code"], -32601);
        assert_eq!(app.available(&variant).await, before, "nothing was held");
    }
}

#[tokio::test]
async fn transport_refusals_are_json_rpc_errors() {
    let app = spawn_sqlite(None).await;
    let key = app.sk().to_string();
    let send = |req: reqwest::RequestBuilder| {
        let key = key.clone();
        async move {
            let r = req.bearer_auth(key).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let url = format!("{}/mcp", app.base);
    let accept = "application/json, text/event-stream";
    let (status, body) = send(
        app.client
            .post(&url)
            .header("Accept", accept)
            .header("Content-Type", "application/json")
            .body("{not json"),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(
        (body["jsonrpc"].as_str(), body["error"]["code"].as_i64()),
        (Some("2.0"), Some(-32700)),
        "{body:#}"
    );
    let (status, body) = send(app.client.get(&url).header("Accept", "text/event-stream")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], -32600, "{body:#}");
}
