//! `fake-stripe [--addr 127.0.0.1:0] [--webhook-url URL] [--state FILE]`: runs the
//! fake Stripe until interrupted. Once listening it prints one JSON line,
//! `{"base_url", "secret_key", "publishable_key", "webhook_secret"}`, on stdout.

use anycart_fake_stripe::{FakeStripe, Options};
use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "fake-stripe",
    about = "A fake Stripe API (and Stripe.js stand-in) for tests."
)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Deliver webhook events to this URL.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Keep the state in this JSON file (written after every change, read at start).
    #[arg(long)]
    state: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let stripe = FakeStripe::start_with(Options {
        addr: args.addr,
        webhook_url: args.webhook_url,
        state_file: args.state,
    })
    .await?;
    let line = serde_json::json!({
        "base_url": stripe.base_url,
        "secret_key": stripe.secret_key,
        "publishable_key": stripe.publishable_key,
        "webhook_secret": stripe.webhook_secret,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    drop(out);
    shutdown_signal().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
