//! `checkout`: full guest checkouts over HTTP, the way a shopper makes them
//! (create a session with buyer and address, then complete it with a card),
//! against an anycart server started in this process on a fresh database with a
//! demo merchant.
//!
//! ```sh
//! cargo run --release -p anycart-bench --bin checkout                 # SQLite, durable
//! cargo run --release -p anycart-bench --bin checkout -- --postgres postgres://postgres@127.0.0.1:5432/test
//! bench/vendure/run.sh --seconds 8                                   # the Vendure peer (see its README)
//! ```
//!
//! It first runs checkouts one at a time with sqlx's statements counted per
//! request, then, after a warm-up, closed-loop phases (N shoppers back to back)
//! and open-loop phases (a fixed start rate, latency from the intended start).
//! The server runs on its own runtime threads; its CPU is the process's minus
//! the load generator's threads. `shed c/p` counts checkouts the server refused
//! with `503 overloaded` (its admission line, see `anycart_server::admission`)
//! at their create / at their payment; they are not errors, and latency
//! quantiles are of finished checkouts. Numbers are for humans: nothing here is
//! a test.
//!
//! With `--vendure <shop-api-url>` it drives the same load generators against a
//! Vendure server instead (`vendure.rs`, set up by `bench/vendure/run.sh`): no
//! server in this process, no counted phase, and the server CPU and RSS are
//! those of the process `--vendure-pid` names.

mod load;
mod probes;
mod vendure;

use anycart_checkout::clock::{Clock, SystemClock};
use anycart_checkout::inventory::InventoryEngine;
use anycart_checkout::throttle::{Rate, ThrottleConfig};
use anycart_checkout::{CheckoutConfig, CheckoutService, HoldMode};
use anycart_core::{MerchantId, VariantId};
use anycart_server::state::{AppState, ServeLimits, ServerConfig};
use anycart_store::Store;
use anyhow::{Context, Result};
use clap::Parser;
use load::{Outcome, Shopper, Target};
use probes::{PgCpu, StatementCounter, Statements};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Full-checkout benchmark over HTTP.
#[derive(Parser, Debug)]
struct Args {
    /// Benchmark PostgreSQL at this server (a fresh database is created) instead
    /// of the embedded SQLite file.
    #[arg(long)]
    postgres: Option<String>,
    /// Seconds per load phase.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Seconds of warm-up (closed loop, 8 shoppers) before the load phases.
    #[arg(long, default_value_t = 3.0)]
    warmup_seconds: f64,
    /// Closed-loop phases: concurrent shoppers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Open-loop phases: checkouts started per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000")]
    rates: Vec<f64>,
    /// Checkouts run one at a time with their statements counted.
    #[arg(long, default_value_t = 200)]
    counted: u64,
    /// Print every statement counted (sqlx's summary) with its count.
    #[arg(long)]
    statements: bool,
    /// Only the counted phase (for profiling under callgrind: a fixed number of
    /// checkouts at c=1, no warm-up, no timed phases).
    #[arg(long)]
    counted_only: bool,
    /// Skip the counted phase's same-run baseline (the merchant configuration
    /// read on every request, as before its cache).
    #[arg(long)]
    no_baseline: bool,
    /// Run every phase with the merchant configuration cache off (the old path).
    #[arg(long)]
    no_config_cache: bool,
    /// Worker threads of the server's runtime (default: the cores).
    #[arg(long)]
    server_threads: Option<usize>,
    /// The server's admission latency target (`latency_target_ms`; default: the
    /// server's own default).
    #[arg(long)]
    latency_target_ms: Option<u64>,
    /// The longest a request waits in the server's admission line
    /// (`queue_wait_ms_max`; default: the server's own default).
    #[arg(long)]
    queue_wait_ms_max: Option<u64>,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Benchmark the Vendure peer at this Shop API URL (e.g.
    /// `http://127.0.0.1:3100/shop-api`) instead of an anycart server started
    /// here: guest checkouts over GraphQL, same load phases, no counted phase.
    #[arg(long, conflicts_with = "postgres", requires = "vendure_variant")]
    vendure: Option<String>,
    /// The Vendure product variant id the shoppers buy.
    #[arg(long)]
    vendure_variant: Option<String>,
    /// Process id of the Vendure server, for its CPU and RSS (from `/proc`).
    #[arg(long)]
    vendure_pid: Option<u32>,
    /// The Vendure server's PostgreSQL database (URL), for PostgreSQL CPU.
    #[arg(long)]
    vendure_database: Option<String>,
}

/// Units on hand of the benchmark's product: more than any run can sell.
const STOCK_UNITS: i64 = 1_000_000_000;
/// Per-client throttles out of the way: every shopper here is one address and key.
const THROTTLE_LENIENT: Rate = Rate {
    per_minute: u32::MAX / 2,
    burst: u32::MAX / 2,
};

/// The server under test and what the load needs to reach it.
struct Server {
    store: Store,
    /// The service the server runs (shares its caches), to switch them.
    checkout: CheckoutService,
    merchant: MerchantId,
    variant: VariantId,
    /// Units on hand of the variant (all locations) before any checkout.
    on_hand_before: i64,
    base: String,
    publishable_key: String,
    database_url: String,
    stop: tokio::sync::watch::Sender<bool>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

async fn database(args: &Args) -> Result<(String, Option<tempfile::TempDir>)> {
    Ok(match &args.postgres {
        Some(admin) => (anycart_store::testing::create_database(admin).await?, None),
        None => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (url, Some(dir))
        }
    })
}

/// Opens a fresh store, seeds the demo merchant (its shipping zones and tax),
/// stocks one variant for the whole run and serves the API on a free port, the
/// way `anycart serve` does (hold engine, group commit, sandbox payments).
async fn start_server(args: &Args) -> Result<Server> {
    let (database_url, dir) = database(args).await?;
    let store = Store::open(&database_url).await.context("open store")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let demo = anycart_checkout::demo::seed(&store, &base, clock.now_ms()).await?;
    let merchant = MerchantId::parse(&demo.merchant_id).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let variant: VariantId = demo
        .variants
        .first()
        .context("the demo has no variant")?
        .id
        .parse()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let location = store
        .list_locations(merchant)
        .await?
        .first()
        .context("the demo has no location")?
        .id;
    store
        .set_on_hand(merchant, variant, location, STOCK_UNITS)
        .await?;
    let on_hand_before = on_hand(&store, merchant, variant).await?;
    let config = CheckoutConfig {
        throttles: ThrottleConfig {
            create: THROTTLE_LENIENT,
            complete: THROTTLE_LENIENT,
            ..ThrottleConfig::default()
        },
        ..CheckoutConfig::default()
    };
    let holds = HoldMode::Engine(InventoryEngine::start(store.clone(), clock.clone()));
    let payments = Arc::new(anycart_payments::sandbox::SandboxProvider::new());
    let checkout = CheckoutService::new(store.clone(), payments, clock, config, holds);
    let defaults = ServeLimits::default();
    let state = AppState::new(
        checkout.clone(),
        ServerConfig {
            base_url: base.clone(),
            limits: ServeLimits {
                latency_target_ms: args.latency_target_ms.unwrap_or(defaults.latency_target_ms),
                queue_wait_ms_max: args.queue_wait_ms_max.unwrap_or(defaults.queue_wait_ms_max),
                ..defaults
            },
            ..ServerConfig::default()
        },
    );
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let serving = tokio::spawn(anycart_server::serve(listener, state, shutdown));
    Ok(Server {
        store,
        checkout,
        merchant,
        variant,
        on_hand_before,
        base,
        publishable_key: demo.publishable_key,
        database_url,
        stop,
        serving,
        _dir: dir,
    })
}

/// Resources one phase used, per checkout. The server's CPU and RSS are
/// unknown for a Vendure server whose pid was not given.
struct Costs {
    server_cpu_ms: Option<f64>,
    client_cpu_ms: f64,
    pg_cpu_ms: Option<f64>,
    rss_mib: Option<f64>,
}

/// Where the server under test runs, for its CPU and RSS.
#[derive(Clone, Copy)]
enum ServerProcess {
    /// In this process (anycart): its threads apart from the load generator's.
    This,
    /// Another process (the Vendure peer): all of its CPU.
    Pid(u32),
    /// Another process, not named: not measured.
    Unknown,
}

impl ServerProcess {
    /// The CPU split now; without a server process, all of it is the client's.
    fn cpu(self) -> Result<probes::CpuSplit> {
        match self {
            ServerProcess::This => probes::cpu_split(),
            ServerProcess::Pid(pid) => probes::cpu_split_external(pid),
            ServerProcess::Unknown => Ok(probes::CpuSplit {
                server_ms: f64::NAN,
                client_ms: probes::cpu_split().map(|c| c.server_ms + c.client_ms)?,
            }),
        }
    }

    fn rss_mib(self) -> Option<f64> {
        match self {
            ServerProcess::This => Some(probes::rss_mib()),
            ServerProcess::Pid(pid) => Some(probes::process_rss_mib(pid)),
            ServerProcess::Unknown => None,
        }
    }
}

/// Samples the CPU counters around a phase.
struct Meter<'a> {
    pg: Option<&'a PgCpu>,
    server: ServerProcess,
    cpu: probes::CpuSplit,
    pg_before: std::collections::HashMap<i32, f64>,
}

impl<'a> Meter<'a> {
    async fn start(pg: Option<&'a PgCpu>, server: ServerProcess) -> Result<Meter<'a>> {
        let pg_before = match pg {
            Some(pg) => pg.sample().await?,
            None => Default::default(),
        };
        Ok(Meter {
            pg,
            server,
            cpu: server.cpu()?,
            pg_before,
        })
    }

    async fn stop(self, checkouts: u64) -> Result<Costs> {
        let cpu = self.server.cpu()?;
        let n = checkouts.max(1) as f64;
        let pg_cpu_ms = match self.pg {
            Some(pg) => Some(probes::pg_cpu_delta_ms(&self.pg_before, &pg.sample().await?) / n),
            None => None,
        };
        let server_cpu_ms = (cpu.server_ms - self.cpu.server_ms) / n;
        Ok(Costs {
            server_cpu_ms: server_cpu_ms.is_finite().then_some(server_cpu_ms),
            client_cpu_ms: (cpu.client_ms - self.cpu.client_ms) / n,
            pg_cpu_ms,
            rss_mib: self.server.rss_mib(),
        })
    }
}

/// What `n` checkouts made one at a time cost.
struct Counted {
    n: u64,
    create: Statements,
    complete: Statements,
    seconds: f64,
    costs: Costs,
}

impl Counted {
    fn total(&self) -> Statements {
        let mut total = self.create;
        add(&mut total, self.complete);
        total
    }

    fn per(&self, count: u64) -> f64 {
        count as f64 / self.n as f64
    }
}

/// Runs `n` checkouts one at a time with their statements counted.
async fn count_checkouts(
    n: u64,
    target: &Target,
    counter: &StatementCounter,
    pg: Option<&PgCpu>,
) -> Result<Counted> {
    let (mut create, mut complete) = (Statements::default(), Statements::default());
    let meter = Meter::start(pg, ServerProcess::This).await?;
    let started = Instant::now();
    counter.take();
    counter.set_counting(true);
    for _ in 0..n {
        let shopper = target
            .next_shopper
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = load::create(target, shopper).await?;
        add(&mut create, counter.take());
        load::complete(target, shopper, &session).await?;
        add(&mut complete, counter.take());
    }
    counter.set_counting(false);
    let seconds = started.elapsed().as_secs_f64();
    let costs = meter.stop(n).await?;
    Ok(Counted {
        n,
        create,
        complete,
        seconds,
        costs,
    })
}

/// Checkouts one at a time, statements counted per request: first the old path
/// (merchant configuration read on every request) as the same-run baseline,
/// then as configured. Returns how many checkouts it made.
async fn counted_phase(
    args: &Args,
    server: &Server,
    target: &Target,
    counter: &StatementCounter,
    pg: Option<&PgCpu>,
) -> Result<u64> {
    let n = args.counted.max(1);
    let baseline = if args.no_baseline || args.no_config_cache {
        None
    } else {
        server.checkout.set_config_cache(false);
        let counted = count_checkouts(n, target, counter, pg).await?;
        server.checkout.set_config_cache(true);
        Some(counted)
    };
    server.checkout.set_config_cache(!args.no_config_cache);
    let counted = count_checkouts(n, target, counter, pg).await?;
    let mut summaries: Vec<(&str, Vec<(String, u64)>)> = Vec::new();
    if args.statements {
        // One more checkout, its statements listed by request.
        counter.set_counting(true);
        counter.take_summaries();
        let shopper = target
            .next_shopper
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = load::create(target, shopper).await?;
        summaries.push(("create", counter.take_summaries()));
        load::complete(target, shopper, &session).await?;
        summaries.push(("complete", counter.take_summaries()));
        counter.set_counting(false);
        counter.take();
    }
    println!(
        "\nSQL per checkout, counted over {n} checkouts one at a time (sqlx statement events;\n\
         on SQLite a hand-off is one message to the connection's thread, which may carry a\n\
         script of several statements; BEGIN and COMMIT are not seen there):"
    );
    let pg_columns = args.postgres.is_some();
    if pg_columns {
        println!(
            "{:<28} {:>10} {:>13} {:>12}",
            "request", "statements", "transactions", "round trips"
        );
    } else {
        println!("{:<28} {:>10} {:>10}", "request", "statements", "hand-offs");
    }
    let mut runs = Vec::new();
    if let Some(b) = &baseline {
        runs.push(("baseline (no config cache)", b));
    }
    let label = if args.no_config_cache {
        "no config cache"
    } else {
        "anycart"
    };
    runs.push((label, &counted));
    for (run, c) in &runs {
        for (request, s) in [
            ("create", c.create),
            ("complete", c.complete),
            ("checkout", c.total()),
        ] {
            let label = format!("{run}: {request}");
            if pg_columns {
                println!(
                    "{label:<28} {:>10.2} {:>13.2} {:>12.2}",
                    c.per(s.queries),
                    c.per(s.commits),
                    c.per(s.pg_round_trips())
                );
            } else {
                println!(
                    "{label:<28} {:>10.2} {:>10.2}",
                    c.per(s.queries),
                    c.per(s.sent)
                );
            }
        }
        println!(
            "{run}: one at a time {:.0} checkouts/s, server CPU {:.2} ms, load generator {:.2} ms{} per checkout",
            c.n as f64 / c.seconds,
            c.costs.server_cpu_ms.unwrap_or(f64::NAN),
            c.costs.client_cpu_ms,
            c.costs
                .pg_cpu_ms
                .map(|ms| format!(", PostgreSQL CPU {ms:.2} ms"))
                .unwrap_or_default()
        );
    }
    if let Some(b) = &baseline {
        let ratio = |new: f64, old: f64| if old > 0.0 { new / old } else { f64::NAN };
        println!(
            "ratio anycart/baseline: statements {:.2}, round trips {:.2}, server CPU {:.2}",
            ratio(
                counted.per(counted.total().queries),
                b.per(b.total().queries)
            ),
            ratio(
                counted.per(counted.total().pg_round_trips()),
                b.per(b.total().pg_round_trips())
            ),
            ratio(
                counted.costs.server_cpu_ms.unwrap_or(f64::NAN),
                b.costs.server_cpu_ms.unwrap_or(f64::NAN)
            )
        );
    }
    for (request, list) in summaries {
        println!("\nstatements of one {request}:");
        for (summary, count) in list {
            println!("  {count:>3} × {summary}");
        }
    }
    let baseline_n = baseline.as_ref().map_or(0, |b| b.n);
    Ok(baseline_n + n + u64::from(args.statements))
}

fn add(total: &mut Statements, s: Statements) {
    total.queries += s.queries;
    total.sent += s.sent;
    total.commits += s.commits;
}

fn header() {
    println!(
        "\n{:<22} {:>11} {:>8} {:>8} {:>9} {:>11} {:>9} {:>11} {:>8} {:>7} {:>11}",
        "phase",
        "checkouts/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "server CPU",
        "PG CPU",
        "client CPU",
        "RSS MiB",
        "errors",
        "shed c/p"
    );
}

fn row(label: &str, o: &Outcome, c: &Costs) {
    println!(
        "{label:<22} {:>11.0} {:>8.2} {:>8.2} {:>9.2} {:>11} {:>9} {:>8.3} ms {:>8} {:>7} {:>11}",
        o.rate(),
        o.quantile_ms(0.5),
        o.quantile_ms(0.99),
        o.quantile_ms(0.999),
        c.server_cpu_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{ms:.3} ms")),
        c.pg_cpu_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{ms:.3} ms")),
        c.client_cpu_ms,
        c.rss_mib
            .map_or_else(|| "-".to_string(), |mib| format!("{mib:.0}")),
        o.errors,
        format!("{}/{}", o.shed_creates, o.shed_completes)
    );
    if let Some(e) = &o.first_error {
        println!("  first error: {e}");
    }
}

async fn load_phases(
    args: &Args,
    target: &Shopper,
    pg: Option<&PgCpu>,
    server: ServerProcess,
) -> Result<(u64, u64)> {
    let run = Duration::from_secs_f64(args.seconds);
    let warm = load::closed_loop(target, 8, Duration::from_secs_f64(args.warmup_seconds)).await?;
    let (mut ok, mut errors) = (warm.ok, warm.errors);
    header();
    for &c in &args.concurrency {
        let meter = Meter::start(pg, server).await?;
        let o = load::closed_loop(target, c.max(1), run).await?;
        row(&format!("closed loop, c={c}"), &o, &meter.stop(o.ok).await?);
        (ok, errors) = (ok + o.ok, errors + o.errors);
    }
    for &rate in &args.rates {
        let meter = Meter::start(pg, server).await?;
        let o = load::open_loop(target, rate.max(1.0), run).await?;
        row(
            &format!("open loop, {rate:.0}/s"),
            &o,
            &meter.stop(o.ok).await?,
        );
        (ok, errors) = (ok + o.ok, errors + o.errors);
    }
    Ok((ok, errors))
}

/// Units on hand of `variant`, summed over its locations.
async fn on_hand(store: &Store, merchant: MerchantId, variant: VariantId) -> Result<i64> {
    Ok(store
        .stock_levels(merchant, &[variant])
        .await?
        .iter()
        .map(|l| l.on_hand)
        .sum())
}

/// Every unit sold was sold once: the units the orders took off the shelf are
/// the orders shoppers were told about, give or take the checkouts that failed.
async fn check_sold(server: &Server, ok: u64, errors: u64) -> Result<()> {
    let now = on_hand(&server.store, server.merchant, server.variant).await?;
    let sold = u64::try_from(server.on_hand_before - now)?;
    anyhow::ensure!(
        (ok..=ok + errors).contains(&sold),
        "the database sold {sold} units for {ok} orders ({errors} failed checkouts)"
    );
    println!("\n{ok} orders, {sold} units sold in the database: none lost, none doubled");
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(shop_api) = &args.vendure {
        return run_vendure(&args, shop_api);
    }
    let counter = StatementCounter::install()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.unwrap_or(cores))
        .thread_name("anycart-server")
        .enable_all()
        .build()?;
    let client_rt = client_runtime(&args)?;
    let server = server_rt.block_on(start_server(&args))?;
    let backend = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (WAL, synchronous=FULL)"
    };
    println!(
        "checkout: full guest checkouts over HTTP (create with buyer and address, complete with a sandbox card), {backend}, {cores} core(s)"
    );
    println!("load average at start: {}", load_average());
    let result = client_rt.block_on(async {
        let pg = match &args.postgres {
            Some(_) => Some(PgCpu::connect(&server.database_url).await?),
            None => None,
        };
        let target = Target {
            client: http_client()?,
            base: server.base.clone(),
            publishable_key: server.publishable_key.clone(),
            variant: server.variant.to_string(),
            next_shopper: Arc::new(AtomicU64::new(0)),
        };
        let counted = counted_phase(&args, &server, &target, counter, pg.as_ref()).await?;
        if args.counted_only {
            return Ok((counted, 0));
        }
        let shopper = Shopper::Anycart(target);
        let (ok, errors) = load_phases(&args, &shopper, pg.as_ref(), ServerProcess::This).await?;
        anyhow::Ok((ok + counted, errors))
    });
    println!("load average at end: {}", load_average());
    let _ = server.stop.send(true);
    let checked = server_rt.block_on(async {
        let (ok, errors) = result?;
        check_sold(&server, ok, errors).await
    });
    server_rt.block_on(async {
        let _ = (&mut { server.serving }).await;
        server.store.close().await;
    });
    checked
}

/// The same load phases against the Vendure peer's Shop API.
fn run_vendure(args: &Args, shop_api: &str) -> Result<()> {
    let variant = args
        .vendure_variant
        .clone()
        .context("--vendure needs --vendure-variant")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let client_rt = client_runtime(args)?;
    let server = args
        .vendure_pid
        .map_or(ServerProcess::Unknown, ServerProcess::Pid);
    println!(
        "checkout: Vendure guest checkouts over its Shop API at {shop_api} (7 GraphQL requests: addItemToOrder to addPaymentToOrder), variant {variant}, {cores} core(s)"
    );
    println!("load average at start: {}", load_average());
    let result = client_rt.block_on(async {
        let pg = match &args.vendure_database {
            Some(url) => Some(PgCpu::connect(url).await?),
            None => None,
        };
        let shopper = Shopper::Vendure(vendure::VendureTarget {
            client: http_client()?,
            shop_api: shop_api.to_string(),
            variant,
            next_shopper: Arc::new(AtomicU64::new(0)),
        });
        load_phases(args, &shopper, pg.as_ref(), server).await
    });
    println!("load average at end: {}", load_average());
    let (ok, errors) = result?;
    println!("\n{ok} Vendure orders paid, {errors} checkouts failed");
    Ok(())
}

/// The load generator's runtime: its threads are named so their CPU can be
/// told apart from the server's.
fn client_runtime(args: &Args) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name(probes::CLIENT_THREAD_PREFIX)
        .enable_all()
        .build()?)
}

/// The shoppers' HTTP client: connections kept for every concurrent shopper.
fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
