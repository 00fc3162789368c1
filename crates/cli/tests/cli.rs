//! The binary as a user runs it: `merchant create --json`, `serve --demo`,
//! `connect`, `import` and `payments`.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_anycart");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn merchant_create_prints_working_keys_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "merchant",
            "create",
            "--name",
            "Acme Bikes",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["merchant_id"].as_str().unwrap().starts_with("mer_"));
    let pk = v["publishable_key"].as_str().unwrap();
    let sk = v["secret_key"].as_str().unwrap();
    assert!(pk.starts_with("pk_") && sk.starts_with("sk_"));
    // Keys are stored hashed: the database file never contains them.
    let db = std::fs::read(dir.path().join("anycart.db")).unwrap();
    let wal = std::fs::read(dir.path().join("anycart.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(sk.len()).any(|w| w == sk.as_bytes()),
            "secret key stored in clear"
        );
    }
    let bad = Command::new(BIN)
        .args(["merchant", "create", "--name", "", "--json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn serve_demo_writes_demo_json_and_sells() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let base = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(url) = line.trim().strip_prefix("base URL") {
            break url.trim().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no banner");
    };
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap())
            .unwrap();
    assert_eq!(demo["base_url"], base.as_str());
    for field in ["merchant_id", "publishable_key", "secret_key"] {
        assert!(demo[field].is_string(), "{field}");
    }
    let variants = demo["variants"].as_array().unwrap();
    assert!(variants.len() >= 5);
    for v in variants {
        for f in ["id", "sku", "title", "amount", "currency", "available"] {
            assert!(!v[f].is_null(), "variant field {f}");
        }
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "server never became healthy");
        // The demo host pages: another origin, with the demo placements embedded.
        let placements = demo["placements"].as_array().unwrap();
        assert_eq!(placements.len(), 2);
        for (field, placement) in [("ad_page_url", &placements[0]), ("article_page_url", &placements[1])] {
            let url = demo[field].as_str().unwrap();
            assert!(!url.starts_with(&base), "{field} must be on another origin than {base}");
            let html = client.get(url).send().await.unwrap().text().await.unwrap();
            assert!(html.contains(&format!("{base}/embed.js")), "{field}");
            assert!(html.contains(&format!("placement=\"{}\"", placement.as_str().unwrap())), "{field}");
        }
        let pk = demo["publishable_key"].as_str().unwrap();
        let variant = variants.iter().find(|v| v["available"].as_i64().unwrap() > 0).unwrap()["id"].as_str().unwrap();
        let post = |path: String, body: serde_json::Value| {
            client.post(format!("{base}{path}")).bearer_auth(pk).header("API-Version", "2026-04-17").header("Idempotency-Key", format!("{path}-k")).json(&body).send()
        };
        let s: serde_json::Value = post("/checkout_sessions".into(), serde_json::json!({
            "currency": "usd", "line_items": [{"id": variant}], "capabilities": {},
            "buyer": {"email": "cli@example.com"},
            "fulfillment_details": {"address": {"name": "C", "line_one": "1 A St", "city": "Austin", "state": "TX", "country": "US", "postal_code": "73301"}}
        })).await.unwrap().json().await.unwrap();
        assert_eq!(s["status"], "ready_for_payment", "{s:#}");
        let id = s["id"].as_str().unwrap();
        let done: serde_json::Value = post(format!("/checkout_sessions/{id}/complete"), serde_json::json!({"payment_data": {"handler_id": "card_sandbox", "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_visa"}}}})).await.unwrap().json().await.unwrap();
        assert_eq!(done["status"], "completed", "{done:#}");
    });
}

#[test]
fn connect_stores_a_platform_and_import_explains_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["merchant", "create", "--name", "Acme", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let merchant = v["merchant_id"].as_str().unwrap().to_string();

    let none = run(&["import", "--merchant", &merchant]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("anycart connect"));

    let bad = run(&[
        "connect",
        "shopify",
        "--merchant",
        &merchant,
        "--shop-domain",
        "not a domain",
        "--access-token",
        "shpat_x",
        "--webhook-secret",
        "s",
    ]);
    assert!(!bad.status.success(), "invalid domain refused");

    let ok = run(&[
        "connect",
        "shopify",
        "--merchant",
        &merchant,
        "--shop-domain",
        "acme.myshopify.com",
        "--access-token",
        "shpat_cli_secret",
        "--webhook-secret",
        "s",
        "--base-url",
        "http://127.0.0.1:9",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        stdout.contains(&format!("/webhooks/shopify/{merchant}")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("shpat_cli_secret")
            && !String::from_utf8_lossy(&ok.stderr).contains("shpat_cli_secret")
    );

    // The platform is unreachable: import fails with a resumable message, not a panic.
    let unreachable = run(&["import", "--merchant", &merchant]);
    assert!(!unreachable.status.success());
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("run `anycart import` again"));

    let native = run(&[
        "connect",
        "native",
        "--merchant",
        &merchant,
        "--shop-domain",
        "acme.example",
        "--smtp-url",
        "smtp://127.0.0.1:2525",
        "--from-address",
        "orders@acme.example",
    ]);
    assert!(
        native.status.success(),
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    let import = run(&["import", "--merchant", &merchant]);
    assert!(!import.status.success());
    assert!(String::from_utf8_lossy(&import.stderr).contains("no platform catalogue"));
}

#[test]
fn connect_shopify_install_prints_the_link_and_waits_for_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let command = |args: &[&str], app: bool| {
        let mut c = Command::new(BIN);
        c.args(args).arg("--data-dir").arg(dir.path());
        if app {
            c.env("ANYCART_SHOPIFY_APP_CLIENT_ID", "client-1")
                .env("ANYCART_SHOPIFY_APP_CLIENT_SECRET", "s3cret-app")
                .env("ANYCART_BASE_URL", "https://anycart.example");
        }
        c
    };
    let out = command(&["merchant", "create", "--name", "Acme", "--json"], false)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let merchant = v["merchant_id"].as_str().unwrap().to_string();
    let install = |wait: &str| {
        vec![
            "connect".to_string(),
            "shopify".into(),
            "--install".into(),
            "--merchant".into(),
            merchant.clone(),
            "--shop".into(),
            "acme.myshopify.com".into(),
            "--wait-s".into(),
            wait.into(),
        ]
    };
    let run = |v: Vec<String>, app: bool| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        command(&refs, app).output().unwrap()
    };

    // No app configured: says what to set.
    let none = run(install("1"), false);
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("shopify_app_client_id"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    // Half an app configured: refused at start.
    let half = Command::new(BIN)
        .args([
            "connect",
            "shopify",
            "--install",
            "--merchant",
            &merchant,
            "--shop",
            "acme.myshopify.com",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("ANYCART_SHOPIFY_APP_CLIENT_ID", "client-1")
        .output()
        .unwrap();
    assert!(!half.status.success());
    assert!(String::from_utf8_lossy(&half.stderr).contains("set both or neither"));

    // The link, then no install within the wait: a clear timeout; no secret shown.
    let timed_out = run(install("1"), true);
    let stdout = String::from_utf8_lossy(&timed_out.stdout);
    let stderr = String::from_utf8_lossy(&timed_out.stderr);
    assert!(!timed_out.status.success());
    assert!(
        stdout.contains("https://acme.myshopify.com/admin/oauth/authorize?client_id=client-1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("redirect_uri=https%3A%2F%2Fanycart.example%2Fshopify%2Foauth%2Fcallback"),
        "{stdout}"
    );
    assert!(stderr.contains("no install within 1 s"), "{stderr}");
    assert!(!stdout.contains("s3cret-app") && !stderr.contains("s3cret-app"));

    // Waiting: the connection the callback saves (here made by hand) ends the wait.
    let wait = install("60");
    let refs: Vec<&str> = wait.iter().map(String::as_str).collect();
    let mut waiting = command(&refs, true)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(waiting.stdout.take().unwrap()).lines();
    let mut link = String::new();
    while !link.starts_with("https://") {
        link = lines.next().unwrap().unwrap();
    }
    let saved = command(
        &[
            "connect",
            "shopify",
            "--merchant",
            &merchant,
            "--shop-domain",
            "acme.myshopify.com",
            "--access-token",
            "shpat_from_the_install",
            "--webhook-secret",
            "s3cret-app",
        ],
        false,
    )
    .output()
    .unwrap();
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = waiting.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still waiting");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("connected shopify (acme.myshopify.com)")),
        "{rest:?}"
    );
}

#[test]
fn payments_stripe_checks_the_keys_stores_them_sealed_and_sandbox_switches_back() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(anycart_fake_stripe::FakeStripe::start());
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["merchant", "create", "--name", "Acme", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let merchant = v["merchant_id"].as_str().unwrap().to_string();
    let sk = v["secret_key"].as_str().unwrap().to_string();
    let stripe = |secret: &str| {
        run(&[
            "payments",
            "stripe",
            "--merchant",
            &merchant,
            "--secret-key",
            secret,
            "--publishable-key",
            &fake.publishable_key,
            "--webhook-secret",
            &fake.webhook_secret,
            "--api-base",
            &fake.base_url,
            "--widget-domain",
            "checkout.acme.example",
        ])
    };

    let wrong = stripe("sk_test_not_a_key_stripe_knows");
    assert!(
        !wrong.status.success(),
        "a key Stripe refuses is not stored"
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("refused"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    let ok = stripe(&fake.secret_key);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("now go through stripe"), "{stdout}");
    assert!(
        stdout.contains(&format!("/webhooks/stripe/{merchant}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("domain registered: checkout.acme.example"),
        "{stdout}"
    );
    assert!(!stdout.contains(&fake.secret_key), "no secret printed");
    let registered = fake
        .requests()
        .into_iter()
        .any(|r| r.method == "POST" && r.path == "/v1/payment_method_domains");
    assert!(registered, "the widget's domain is registered for wallets");
    // Sealed at rest: neither secret is in the database files.
    let db = std::fs::read(dir.path().join("anycart.db")).unwrap();
    let wal = std::fs::read(dir.path().join("anycart.db-wal")).unwrap_or_default();
    for secret in [&fake.secret_key, &fake.webhook_secret] {
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a Stripe secret stored in clear"
            );
        }
    }

    // The server sees the switch: Stripe is live, and no secret is shown.
    let live = |expected: &'static str| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(BIN)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _server = Server(child);
        rt.block_on(async {
            let client = reqwest::Client::new();
            let url = format!("http://127.0.0.1:{port}/v1/payment_provider");
            for _ in 0..200 {
                if let Ok(r) = client.get(&url).bearer_auth(&sk).send().await {
                    let body: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(body["provider"], expected, "{body:#}");
                    let text = body.to_string();
                    assert!(
                        !text.contains(&fake.secret_key) && !text.contains(&fake.webhook_secret)
                    );
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("server never answered");
        });
    };
    live("stripe");
    let back = run(&["payments", "sandbox", "--merchant", &merchant]);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    live("sandbox");
}
