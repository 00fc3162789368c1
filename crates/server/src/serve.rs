//! The listener loop, with limits that slow or greedy clients cannot turn into a
//! stall for everybody else.
//!
//! - **Connections** are bounded ([`ServeLimits::connections_max`]); past the
//!   bound a new connection is closed at once (counted in
//!   `anycart_connections_refused_total`) instead of queueing behind the others.
//! - **Slow headers** (slowloris): a connection that has not sent a whole request
//!   head within [`ServeLimits::header_read_timeout_ms`] is closed. The same
//!   timer bounds an idle keep-alive connection waiting for its next request.
//! - **Slow bodies**: a body that stops arriving for
//!   [`ServeLimits::body_read_timeout_ms`] ends the request with 408.
//! - **Requests in flight** are bounded by an adaptive limit
//!   ([`crate::admission`]): past it a request waits in line, payments first, for
//!   at most [`ServeLimits::queue_wait_ms_max`], then gets a fast
//!   `503 overloaded` with `Retry-After` rather than a slow answer for all.
//!   `/healthz` and `/metrics` are never shed, so an operator (or a load
//!   balancer) can always see the node.
//! - **Long URIs**: past [`URI_BYTES_MAX`] a request gets a JSON 414. (Past 64 KiB
//!   hyper itself answers an empty 414 before anything of ours runs.)

use crate::admission::{Admission, Priority, Refused};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
pub use crate::state::ServeLimits;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tower::Service;

/// Longest request target (path and query) the API reads.
pub const URI_BYTES_MAX: usize = 8 * 1024;
/// How long in-flight requests may take to finish after shutdown begins.
pub const SHUTDOWN_GRACE_MS: u64 = 30_000;
/// Pause after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_RETRY_MS: u64 = 50;

/// Paths answered even when the node is shedding load.
fn never_shed(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics")
}

/// Admission as a middleware: a place per request (waiting in line for one if
/// need be), or a fast 503.
pub(crate) async fn shed_load(
    axum::extract::State(admission): axum::extract::State<Arc<Admission>>,
    req: Request,
    next: Next,
) -> Response {
    if never_shed(req.uri().path()) {
        return next.run(req).await;
    }
    let priority = Priority::of(req.method(), req.uri().path());
    let place = match admission.admit(priority).await {
        Ok(place) => place,
        Err(refused) => {
            let reason = match refused {
                Refused::Waited => "waited",
                Refused::LineFull => "line_full",
            };
            metrics::counter!("anycart_requests_shed_total", "reason" => reason).increment(1);
            return ApiError::new(ErrorCode::Overloaded, "The service is busy; retry shortly.")
                .retry_after(1)
                .into_response();
        }
    };
    let response = next.run(req).await;
    place.finish();
    response
}

/// Refuses request targets longer than [`URI_BYTES_MAX`], in the API's shape.
pub(crate) async fn bound_uri(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > URI_BYTES_MAX {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!("The request target is longer than {URI_BYTES_MAX} bytes."),
        )
        .into_response();
    }
    next.run(req).await
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains
/// in-flight requests (for at most [`SHUTDOWN_GRACE_MS`]) and stops the workers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.limits;
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = state.checkout.spawn_workers(stop_rx.clone());
    let ucp_webhooks = crate::routes::ucp::spawn_webhook_worker(&state, stop_rx);
    let mut make_service =
        crate::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let connections = Arc::new(Semaphore::new(limits.connections_max));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            metrics::counter!("anycart_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.call(peer).await;
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    if tokio::time::timeout(
        Duration::from_millis(SHUTDOWN_GRACE_MS),
        graceful.shutdown(),
    )
    .await
    .is_err()
    {
        tracing::warn!("requests still running after the grace period; stopping anyway");
    }
    let _ = stop_tx.send(true);
    let _ = workers.await;
    let _ = ucp_webhooks.await;
    state.store.close().await;
    Ok(())
}
