//! The Stripe.js stand-in: how it is served, the endpoints it calls with the
//! publishable key, and (when Node, Chromium and playwright-core are at hand) a
//! browser run of `tests/browser/stripe_js.mjs`.

use crate::helpers::Api;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test]
async fn v3_is_served_as_javascript_with_cors() {
    let api = Api::start().await;
    for path in ["/v3", "/v3/"] {
        let r = api
            .http
            .get(format!("{}{path}", api.stripe.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert!(r.text().await.unwrap().contains("window.Stripe = Stripe"));
    }
    // Its look: a stylesheet on the same origin, so a page's CSP needs no 'unsafe-inline'.
    let r = api
        .http
        .get(format!("{}/v3/stand-in.css", api.stripe.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert!(r.text().await.unwrap().contains(".fs-dialog"));
    let js = anycart_fake_stripe::STRIPE_JS;
    assert!(js.contains("/v3/stand-in.css"));
    assert!(
        !js.contains("createElement('style')") && !js.contains("el('style'"),
        "no inline <style>: pages without 'unsafe-inline' block it"
    );
    let r = api
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/payment_methods", api.stripe.base_url),
        )
        .header("Origin", "https://widget.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
}

async fn typed(api: &Api, number: &str, exp_year: &str) -> crate::helpers::Resp {
    let pk = api.stripe.publishable_key.clone();
    api.post("/v1/payment_methods")
        .key(Some(&pk))
        .params(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", exp_year),
            ("card[cvc]", "123"),
            ("billing_details[address][country]", "US"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn typed_test_numbers_become_payment_methods_that_behave_like_their_magic_ids() {
    let api = Api::start().await;
    for (number, outcome) in [
        ("4242 4242 4242 4242", "succeeded"),
        ("4000 0000 0000 0002", "generic_decline"),
        ("4000 0000 0000 9995", "insufficient_funds"),
        ("4000 0027 6000 3184", "requires_action"),
    ] {
        let pm = typed(&api, number, "34").await;
        assert_eq!(pm.status, 200, "{number}: {:?}", pm.body);
        assert!(pm.body["id"].as_str().unwrap().starts_with("pm_"));
        assert_eq!(pm.body["card"]["brand"], "visa");
        assert_eq!(pm.body["card"]["last4"], &number[number.len() - 4..]);
        assert_eq!(pm.body["card"]["exp_year"], 2034);
        assert_eq!(pm.body["billing_details"]["address"]["country"], "US");
        let r = api.pay(2000, pm.body["id"].as_str().unwrap(), &[]).await;
        let got = r.body["status"]
            .as_str()
            .or(r.body["error"]["decline_code"].as_str())
            .unwrap();
        assert_eq!(got, outcome, "{number}");
    }
    // The request log never shows the number.
    assert!(api.stripe.requests().iter().all(|r| {
        r.params
            .iter()
            .all(|(_, v)| !v.contains("4242424242424242") && !v.contains("4242 4242"))
    }));
}

#[tokio::test]
async fn bad_card_data_gets_stripes_card_errors() {
    let api = Api::start().await;
    let r = typed(&api, "4242 4242 4242 4241", "34").await;
    assert_eq!((r.status, r.code()), (402, "incorrect_number"));
    let r = typed(&api, "4111 1111 1111 1111", "34").await;
    assert_eq!(r.body["error"]["decline_code"], "test_mode_live_card");
    let r = typed(&api, "4242 4242 4242 4242", "19").await;
    assert_eq!(r.code(), "invalid_expiry_year");
    // The secret key may not send raw numbers.
    let r = api
        .post("/v1/payment_methods")
        .params(&[("type", "card"), ("card[number]", "4242424242424242")])
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unsafe")
    );
}

#[tokio::test]
async fn the_publishable_key_reads_an_intent_only_with_its_client_secret() {
    let api = Api::start().await;
    let pk = api.stripe.publishable_key.clone();
    let r = api
        .pay(
            2000,
            "pm_card_threeDSecure2Required",
            &[("metadata[secret_note]", "x")],
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    let secret = r.body["client_secret"].as_str().unwrap();
    let got = api
        .get(&format!("/v1/payment_intents/{id}"))
        .key(Some(&pk))
        .param("client_secret", secret)
        .send()
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["status"], "requires_action");
    assert!(got.body.get("metadata").is_none());
    let got = api
        .get(&format!("/v1/payment_intents/{id}"))
        .key(Some(&pk))
        .param("client_secret", "pi_x_secret_y")
        .send()
        .await;
    assert_eq!(got.status, 400);
    let got = api
        .get(&format!("/v1/payment_intents/{id}"))
        .key(Some(&pk))
        .send()
        .await;
    assert_eq!(got.code(), "parameter_missing");
}

#[tokio::test]
async fn wallet_cards_say_which_wallet() {
    let api = Api::start().await;
    let pk = api.stripe.publishable_key.clone();
    let r = api
        .post("/v1/payment_methods")
        .key(Some(&pk))
        .params(&[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "1"),
            ("card[exp_year]", "2040"),
            ("fake_wallet", "google_pay"),
        ])
        .send()
        .await;
    assert_eq!(r.body["card"]["wallet"]["type"], "google_pay");
    let r = api
        .post("/v1/payment_methods")
        .params(&[("type", "card"), ("fake_wallet", "google_pay")])
        .send()
        .await;
    assert_eq!(
        r.body["error"]["message"],
        "Received unknown parameter: fake_wallet"
    );
}

/// The directory holding playwright-core: `FAKE_STRIPE_NODE_MODULES`, or the
/// widget's `node_modules` in this checkout.
fn node_modules() -> Option<PathBuf> {
    let dir = match std::env::var_os("FAKE_STRIPE_NODE_MODULES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/widget/node_modules"),
    };
    dir.join("playwright-core").is_dir().then_some(dir)
}

#[tokio::test]
async fn in_a_browser_the_stand_in_collects_cards_runs_3ds_and_wallets() {
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let (Some(modules), true, true) = (
        node_modules(),
        node_ok,
        std::path::Path::new(&chromium).exists(),
    ) else {
        eprintln!(
            "SKIPPED: the browser test of the Stripe.js stand-in needs node, {chromium} and playwright-core (set FAKE_STRIPE_NODE_MODULES)"
        );
        return;
    };
    let api = Api::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/stripe_js.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("FAKE_STRIPE_URL", &api.stripe.base_url)
            .env("FAKE_STRIPE_SECRET_KEY", &api.stripe.secret_key)
            .env("FAKE_STRIPE_PUBLISHABLE_KEY", &api.stripe.publishable_key)
            .env("FAKE_STRIPE_NODE_MODULES", modules)
            .env("CHROMIUM_PATH", chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}
