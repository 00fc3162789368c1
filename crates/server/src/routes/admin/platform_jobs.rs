//! Running the platform connection from the dashboard (owners only): test it,
//! import the catalogue in the background with progress to poll, reconcile
//! stock now. The work is in [`anycart_checkout::platform_jobs`].

use crate::auth::OwnerCaller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::platform_jobs::{ImportJob, JobState};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/connection/test`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTestWire {
    /// The platform answered with its catalogue.
    pub ok: bool,
    /// Products on its first catalogue page.
    pub products_seen: usize,
    /// What the platform said, when not `ok` (always sent).
    #[schema(required = true)]
    pub message: Option<String>,
}

/// An import and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportWire {
    /// `running`, `done` or `failed`.
    pub state: String,
    pub started_at: String,
    pub pages: usize,
    pub products: usize,
    pub variants: usize,
    /// Why it stopped, when `failed` (run it again to resume; always sent).
    #[schema(required = true)]
    pub error: Option<String>,
}

/// `POST /v1/connection/import?restart=true` starts over instead of resuming.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    pub restart: Option<bool>,
}

/// `POST /v1/connection/reconcile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcileWire {
    pub pages: usize,
    /// Stock rows rewritten from the platform's figures.
    pub rows: usize,
}

fn import_wire(j: ImportJob) -> ImportWire {
    let (state, error) = match j.state {
        JobState::Running => ("running", None),
        JobState::Done => ("done", None),
        JobState::Failed(why) => ("failed", Some(why)),
    };
    ImportWire {
        state: state.into(),
        started_at: rfc3339(j.started_at_ms),
        pages: j.progress.pages,
        products: j.progress.products,
        variants: j.progress.variants,
        error,
    }
}

/// Test the connection: read the platform's first catalogue page, change nothing.
#[utoipa::path(post, path = "/connection/test", tag = "Admin", responses((status = 200, body = ConnectionTestWire), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn test_connection(
    State(state): State<AppState>,
    caller: OwnerCaller,
) -> Result<Json<ConnectionTestWire>, ApiError> {
    let check = state.checkout.test_connection(caller.0.merchant).await?;
    Ok(Json(ConnectionTestWire {
        ok: check.ok,
        products_seen: check.products_seen,
        message: check.message,
    }))
}

/// Start importing the platform's catalogue (resuming a stopped import); poll
/// `GET /v1/connection/import` for progress.
#[utoipa::path(post, path = "/connection/import", tag = "Admin", params(ImportQuery), responses((status = 202, body = ImportWire), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn start_import(
    State(state): State<AppState>,
    caller: OwnerCaller,
    Query(q): Query<ImportQuery>,
) -> Result<(StatusCode, Json<ImportWire>), ApiError> {
    let job = state
        .checkout
        .start_import(caller.0.merchant, q.restart.unwrap_or(false))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(import_wire(job))))
}

/// The latest import started on this node, or 404.
#[utoipa::path(get, path = "/connection/import", tag = "Admin", responses((status = 200, body = ImportWire), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn get_import(
    State(state): State<AppState>,
    caller: OwnerCaller,
) -> Result<Json<ImportWire>, ApiError> {
    state
        .checkout
        .import_status(caller.0.merchant)
        .map(|j| Json(import_wire(j)))
        .ok_or_else(|| ApiError::not_found("import"))
}

/// Re-read stock from the platform now (also runs every 15 minutes by itself).
#[utoipa::path(post, path = "/connection/reconcile", tag = "Admin", responses((status = 200, body = ReconcileWire), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn reconcile_now(
    State(state): State<AppState>,
    caller: OwnerCaller,
) -> Result<Json<ReconcileWire>, ApiError> {
    let (pages, rows) = state.checkout.reconcile_now(caller.0.merchant).await?;
    Ok(Json(ReconcileWire { pages, rows }))
}
