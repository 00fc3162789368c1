//! `flash_sale`: thousands of shoppers, one hot SKU, anycart's inventory engine
//! against the naive "one transaction per request that locks the hot row", on the
//! same store in the same run, at three depths:
//!
//! 1. engine direct: hold requests straight into the engine (or the store);
//! 2. checkout service: whole `CheckoutService::create` calls (catalogue, limits,
//!    holds, pricing, the session write), in process;
//! 3. HTTP: `POST /checkout_sessions` against two real `anycart serve` processes
//!    (the binary next to this one; skipped with a note when it is not built).
//!
//! ```sh
//! cargo build --release --bin anycart                                          # for the HTTP phase
//! cargo run --release -p anycart-bench --bin flash_sale                      # SQLite, durable
//! cargo run --release -p anycart-bench --bin flash_sale -- --postgres postgres://postgres@127.0.0.1/test
//! ```
//! Prints holds/s, p50/p99 latency, oversell and undersell for each path and the
//! ratio anycart/naive. Nothing here is a timed test: numbers are for humans.

use anycart_checkout::clock::{Clock, SystemClock};
use anycart_checkout::inventory::InventoryEngine;
use anycart_checkout::{CheckoutConfig, CheckoutService, HoldMode, SessionInput};
use anycart_core::Quantity;
use anycart_core::catalogue::{Location, Product, Sku, Variant};
use anycart_core::inventory::HoldRequest;
use anycart_core::session::CheckoutSession;
use anycart_core::{Currency, LocationId, MerchantId, Money, ProductId, SessionId, VariantId};
use anycart_store::{BatchItem, Store};
use anyhow::{Context, Result};
use clap::Parser;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Flash-sale benchmark: anycart's inventory engine vs the naive baseline.
#[derive(Parser, Debug)]
struct Args {
    /// Concurrent shoppers per run.
    #[arg(long, default_value_t = 2000)]
    shoppers: usize,
    /// Units of the hot SKU.
    #[arg(long, default_value_t = 500)]
    stock: i64,
    /// Engine-direct runs to average over (fresh shoppers each run).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Most HTTP requests in flight at once (a load balancer's connection limit).
    #[arg(long, default_value_t = 256)]
    http_concurrency: usize,
    /// Benchmark PostgreSQL at this server (a fresh database is created per phase)
    /// instead of the embedded SQLite file.
    #[arg(long)]
    postgres: Option<String>,
    /// Skip the HTTP phase.
    #[arg(long)]
    no_http: bool,
    /// The `anycart` binary the HTTP phase runs (default: next to this one).
    #[arg(long)]
    anycart_bin: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct Run {
    seconds: f64,
    latencies_ms: Vec<f64>,
    held: i64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.seconds.max(1e-9)
    }
    fn percentile(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        // Nearest rank: an index within 0..len, so the float cast cannot go wrong.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = ((v.len().saturating_sub(1) as f64) * p.clamp(0.0, 1.0)).round() as usize;
        v.get(rank).copied().unwrap_or(0.0)
    }
}

struct Fixture {
    store: Store,
    /// Where the store is (for the HTTP phase's server processes).
    url: String,
    merchant: MerchantId,
    publishable_key: String,
    variant: VariantId,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(args: &Args, stock: i64) -> Result<Fixture> {
    let (url, dir) = match &args.postgres {
        Some(admin) => (anycart_store::testing::create_database(admin).await?, None),
        None => {
            let dir = tempfile::tempdir()?;
            (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                Some(dir),
            )
        }
    };
    let store = Store::open(&url).await.context("open store")?;
    let created = anycart_checkout::merchants::create_merchant(&store, "Bench", 0).await?;
    let merchant = created.merchant_id;
    let location = LocationId::new();
    store
        .create_location(
            merchant,
            &Location {
                id: location,
                name: "Main".into(),
            },
            0,
        )
        .await?;
    let product = ProductId::new();
    let variant = VariantId::new();
    let usd = Currency::parse("usd")?;
    let p = Product {
        id: product,
        title: "Viral sneaker".into(),
        description: String::new(),
        images: vec![],
        active: true,
        variants: vec![Variant {
            id: variant,
            product_id: product,
            sku: Sku::parse("HOT-1")?,
            title: "Viral sneaker".into(),
            options: vec![],
            price: Money::new(9900, usd)?,
            max_quantity_per_order: None,
            image_url: None,
        }],
    };
    store.create_product(merchant, &p, 0).await?;
    store
        .set_on_hand(merchant, variant, location, stock)
        .await?;
    let publishable_key = created.publishable_key.expose_secret().to_string();
    Ok(Fixture {
        store,
        url,
        merchant,
        publishable_key,
        variant,
        _dir: dir,
    })
}

async fn held_in_db(f: &Fixture) -> Result<i64> {
    Ok(f.store
        .stock_levels(f.merchant, &[f.variant])
        .await?
        .iter()
        .map(|l| l.held)
        .sum())
}

/// Every shopper asks for one unit at once; `engine` = None is the naive path.
async fn engine_direct(
    f: &Fixture,
    shoppers: usize,
    engine: Option<&InventoryEngine>,
) -> Result<Run> {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(shoppers);
    let expires = SystemClock.now_ms() + 600_000;
    for _ in 0..shoppers {
        // The naive path pays one transaction (and fsync) per hold.
        let (store, engine) = (f.store.without_group_commit(), engine.cloned());
        let request = HoldRequest {
            session: SessionId::new(),
            variant: f.variant,
            quantity: 1,
        };
        let merchant = f.merchant;
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let held = match engine {
                Some(e) => e
                    .hold(merchant, request, expires)
                    .await
                    .map(|o| o.held)
                    .unwrap_or(0),
                None => store
                    .apply_hold_batch(
                        &[BatchItem {
                            merchant,
                            request,
                            expires_at_ms: expires,
                            new_session: false,
                        }],
                        SystemClock.now_ms(),
                    )
                    .await
                    .map(|b| b.outcomes[0].held)
                    .unwrap_or(0),
            };
            (t.elapsed().as_secs_f64() * 1e3, held)
        }));
    }
    let mut run = Run::default();
    for t in tasks {
        let (ms, held) = t.await?;
        run.latencies_ms.push(ms);
        run.held += held;
    }
    run.seconds = start.elapsed().as_secs_f64();
    Ok(run)
}

/// Open-loop load at `rate` holds/s for `duration`: latency when not saturated.
async fn paced(
    f: &Fixture,
    engine: &InventoryEngine,
    rate: f64,
    duration: Duration,
) -> Result<Run> {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let expires = SystemClock.now_ms() + 600_000;
    let mut next = Instant::now();
    while start.elapsed() < duration {
        // Issue every request that is due (timers are coarser than the interval).
        while next <= Instant::now() {
            let engine = engine.clone();
            let (merchant, variant) = (f.merchant, f.variant);
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let held = engine
                    .hold(
                        merchant,
                        HoldRequest {
                            session: SessionId::new(),
                            variant,
                            quantity: 1,
                        },
                        expires,
                    )
                    .await
                    .map(|o| o.held)
                    .unwrap_or(0);
                (t.elapsed().as_secs_f64() * 1e3, held)
            }));
            next += interval;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let mut run = Run::default();
    for t in tasks {
        let (ms, held) = t.await?;
        run.latencies_ms.push(ms);
        run.held += held;
    }
    run.seconds = duration.as_secs_f64();
    Ok(run)
}

/// Whether a new session holds its unit (no stock message blocks it).
fn holds_its_unit(session: &CheckoutSession) -> bool {
    use anycart_core::session::{ErrorCode, MessageKind};
    !session.quote.messages.iter().any(|m| {
        matches!(
            m.kind,
            MessageKind::Error(ErrorCode::OutOfStock | ErrorCode::QuantityExceeded)
        )
    })
}

/// Every shopper creates a one-unit checkout session through the checkout service
/// (no HTTP): anycart (engine + group commit) or naive (one transaction per write).
async fn service(args: &Args, mode: &str) -> Result<Run> {
    let f = fixture(args, args.stock).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (holds, store) = if mode == "anycart" {
        let engine = InventoryEngine::start(f.store.clone(), clock.clone());
        (HoldMode::Engine(engine), f.store.clone())
    } else {
        (HoldMode::PerRequest, f.store.without_group_commit())
    };
    let payments = Arc::new(anycart_payments::sandbox::SandboxProvider::new());
    let checkout = CheckoutService::new(store, payments, clock, CheckoutConfig::default(), holds);
    let usd = Currency::parse("usd")?;
    let one = Quantity::parse(1)?;
    let limit = Arc::new(Semaphore::new(args.http_concurrency));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.shoppers);
    for _ in 0..args.shoppers {
        let (checkout, limit, variant, merchant) =
            (checkout.clone(), limit.clone(), f.variant, f.merchant);
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            let t = Instant::now();
            let created = checkout
                .create(merchant, usd, vec![(variant, one)], SessionInput::default())
                .await;
            let held = created.as_ref().is_ok_and(holds_its_unit);
            (t.elapsed().as_secs_f64() * 1e3, i64::from(held))
        }));
    }
    let run = collect(tasks, start).await?;
    let db_held = held_in_db(&f).await?;
    anyhow::ensure!(
        db_held == run.held,
        "service {mode}: database holds {db_held} but shoppers were told {}",
        run.held
    );
    Ok(run)
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<(f64, i64)>>, start: Instant) -> Result<Run> {
    let mut run = Run::default();
    for t in tasks {
        let (ms, held) = t.await?;
        run.latencies_ms.push(ms);
        run.held += held;
    }
    run.seconds = start.elapsed().as_secs_f64();
    Ok(run)
}

/// An `anycart serve` process on a free port of 127.0.0.1, killed on drop.
struct ServerProcess {
    child: std::process::Child,
    base: String,
    _data_dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `anycart` binary: `--anycart-bin`, else the one built next to this bench.
fn anycart_bin(args: &Args) -> Option<std::path::PathBuf> {
    let path = match &args.anycart_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe().ok()?.parent()?.join("anycart"),
    };
    path.is_file().then_some(path)
}

/// Starts `anycart serve` on the fixture's store: anycart as configured by
/// default, or the naive baseline (holds per request, no group commit).
async fn start_server(bin: &std::path::Path, f: &Fixture, mode: &str) -> Result<ServerProcess> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let data_dir = tempfile::tempdir()?;
    let naive = mode != "anycart";
    let child = std::process::Command::new(bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--database-url", &f.url])
        .env("ANYCART_HOLD_ENGINE", (!naive).to_string())
        .env("ANYCART_GROUP_COMMIT", (!naive).to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let server = ServerProcess {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _data_dir: data_dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let up = client.get(format!("{}/healthz", server.base)).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("anycart serve did not become healthy at {}", server.base)
}

/// Shoppers create checkout sessions for one unit over HTTP through the real API
/// of a real `anycart serve` process.
async fn http(args: &Args, bin: &std::path::Path, mode: &str) -> Result<Run> {
    let f = fixture(args, args.stock).await?;
    // SQLite: one process at a time writes the file; the server takes over.
    f.store.close().await;
    let server = start_server(bin, &f, mode).await?;
    let (pk, variant) = (f.publishable_key.clone(), f.variant);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.http_concurrency)
        .build()?;
    let limit = Arc::new(Semaphore::new(args.http_concurrency));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.shoppers);
    for i in 0..args.shoppers {
        let (client, base, pk, limit) = (
            client.clone(),
            server.base.clone(),
            pk.clone(),
            limit.clone(),
        );
        let body = serde_json::json!({"currency": "usd", "line_items": [{"id": variant.to_string(), "quantity": 1}], "capabilities": {}});
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            let t = Instant::now();
            let r = client
                .post(format!("{base}/checkout_sessions"))
                .bearer_auth(&pk)
                .header("API-Version", "2026-04-17")
                .header("Idempotency-Key", format!("bench-{i}"))
                .json(&body)
                .send()
                .await;
            let held = match r {
                Ok(resp) if resp.status().as_u16() == 201 => {
                    let v: serde_json::Value = resp.json().await.unwrap_or_default();
                    i64::from(v["messages"].as_array().is_some_and(|m| {
                        !m.iter().any(|m| {
                            m["code"] == "out_of_stock" || m["code"] == "quantity_exceeded"
                        })
                    }))
                }
                _ => 0,
            };
            (t.elapsed().as_secs_f64() * 1e3, held)
        }));
    }
    let run = collect(tasks, start).await?;
    drop(server);
    let store = Store::open(&f.url).await?;
    let db_held: i64 = store
        .stock_levels(f.merchant, &[variant])
        .await?
        .iter()
        .map(|l| l.held)
        .sum();
    anyhow::ensure!(
        db_held == run.held,
        "HTTP {mode}: database holds {db_held} but shoppers were told {}",
        run.held
    );
    Ok(run)
}

fn row(label: &str, run: &Run, expected: i64) {
    let oversell = (run.held - expected).max(0);
    let undersell = (expected - run.held).max(0);
    println!(
        "{label:<34} {:>10.0} {:>9.2} {:>9.2} {:>6} {:>9} {:>10}",
        run.rate(),
        run.percentile(0.5),
        run.percentile(0.99),
        run.held,
        oversell,
        undersell
    );
}

fn merge(runs: Vec<Run>) -> Run {
    let mut total = Run::default();
    for r in runs {
        total.seconds += r.seconds;
        total.held += r.held;
        total.latencies_ms.extend(r.latencies_ms);
    }
    total
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let backend = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (WAL, synchronous=FULL: durable)"
    };
    let expected = args.stock.min(i64::try_from(args.shoppers)?);
    println!(
        "flash_sale: {} shoppers × 1 unit, one SKU with {} units, {backend}, {} core(s)",
        args.shoppers,
        args.stock,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>6} {:>9} {:>10}",
        "path", "holds/s", "p50 ms", "p99 ms", "held", "oversell", "undersell"
    );
    let engine_rate = engine_direct_phase(&args, expected).await?;
    half_load_phase(&args, engine_rate / 2.0).await?;
    service_phase(&args, expected).await?;
    match (args.no_http, anycart_bin(&args)) {
        (true, _) => {}
        (false, None) => println!(
            "HTTP phase skipped: no anycart binary next to this one (cargo build --release --bin anycart, or --anycart-bin PATH)"
        ),
        (false, Some(bin)) => http_phase(&args, &bin, expected).await?,
    }
    Ok(())
}

/// Hold requests straight into the engine vs one transaction each, `rounds`
/// times on fresh stock. Returns the engine's rate.
async fn engine_direct_phase(args: &Args, expected: i64) -> Result<f64> {
    let mut naive_runs = Vec::new();
    let mut engine_runs = Vec::new();
    for round in 0..args.rounds {
        eprintln!("… engine-direct round {}/{}", round + 1, args.rounds);
        let f = fixture(args, args.stock).await?;
        let run = engine_direct(&f, args.shoppers, None).await?;
        anyhow::ensure!(
            held_in_db(&f).await? == run.held,
            "naive: database disagrees with acknowledgements"
        );
        naive_runs.push(run);
        let f = fixture(args, args.stock).await?;
        let engine = InventoryEngine::start(f.store.clone(), Arc::new(SystemClock));
        let run = engine_direct(&f, args.shoppers, Some(&engine)).await?;
        anyhow::ensure!(
            held_in_db(&f).await? == run.held,
            "engine: database disagrees with acknowledgements"
        );
        engine_runs.push(run);
    }
    let (naive, engine) = (merge(naive_runs), merge(engine_runs));
    let expected_total = expected * i64::try_from(args.rounds)?;
    row("engine direct: naive baseline", &naive, expected_total);
    row("engine direct: anycart engine", &engine, expected_total);
    println!(
        "ratio anycart/naive (engine direct): {:.1}x",
        engine.rate() / naive.rate()
    );
    Ok(engine.rate())
}

/// Latency when not saturated: an open loop at `rate` holds/s for 2 s.
async fn half_load_phase(args: &Args, rate: f64) -> Result<()> {
    eprintln!("… latency at half the engine's measured throughput");
    let f = fixture(args, 10_000_000).await?;
    let e = InventoryEngine::start(f.store.clone(), Arc::new(SystemClock));
    let paced_run = paced(&f, &e, rate, Duration::from_secs(2)).await?;
    println!(
        "{:<34} {:>10.0} {:>9.2} {:>9.2}   (open loop at {:.0}/s)",
        "anycart engine at half load",
        paced_run.rate(),
        paced_run.percentile(0.5),
        paced_run.percentile(0.99),
        rate
    );
    Ok(())
}

async fn service_phase(args: &Args, expected: i64) -> Result<()> {
    eprintln!("… checkout service: naive");
    let naive = service(args, "naive").await?;
    eprintln!("… checkout service: anycart");
    let anycart = service(args, "anycart").await?;
    row("checkout service: naive baseline", &naive, expected);
    row("checkout service: anycart", &anycart, expected);
    println!(
        "ratio anycart/naive (checkout service): {:.1}x",
        anycart.rate() / naive.rate()
    );
    Ok(())
}

async fn http_phase(args: &Args, bin: &std::path::Path, expected: i64) -> Result<()> {
    eprintln!("… HTTP: naive ({})", bin.display());
    let naive = http(args, bin, "naive").await?;
    eprintln!("… HTTP: anycart");
    let anycart = http(args, bin, "anycart").await?;
    row("HTTP checkout: naive baseline", &naive, expected);
    row("HTTP checkout: anycart", &anycart, expected);
    println!(
        "ratio anycart/naive (HTTP): {:.1}x",
        anycart.rate() / naive.rate()
    );
    Ok(())
}
