//! Pause points for crash tests: `ANYCART_TEST_PAUSE_AT=<point>` makes a request
//! that reaches `<point>` log a line and wait forever, so a test can `kill -9`
//! the process exactly there (`crates/cli/tests/crash.rs`). Unset, a pause point
//! costs one comparison. Pausing never writes anything: it can only make a
//! request hang, which is what a crash looks like from outside.
//!
//! Points: `after_payment_answer` (the provider charged; the order is not
//! written yet).

use std::sync::OnceLock;

/// The environment variable naming the point to pause at.
pub const PAUSE_ENV: &str = "ANYCART_TEST_PAUSE_AT";

fn armed() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(PAUSE_ENV).ok()).as_deref()
}

/// Waits forever if the process was started to pause at `point`.
pub(crate) async fn pause_point(point: &'static str) {
    if armed() == Some(point) {
        tracing::warn!(
            point,
            "{PAUSE_ENV}: paused here until the process is killed"
        );
        eprintln!("anycart: paused at {point}");
        std::future::pending::<()>().await;
    }
}
