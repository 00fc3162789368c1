//! `GET /v1/data_requests`: the platforms' customer data requests (Shopify's
//! `customers/data_request` compliance webhook) for the merchant to answer.

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_store::DataRequest;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Requests listed when no `limit` is given.
const DATA_REQUESTS_PAGE_DEFAULT: i64 = 50;

/// A customer's request, through the merchant's platform, for the data held
/// about them. anycart holds their orders and, if they opted in, saved checkout
/// details (keyed by email): send them these, through the platform or directly.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataRequestWire {
    /// `shopify`.
    pub platform: String,
    pub shop_domain: String,
    /// The platform's customer id.
    pub customer_id: String,
    /// The email the platform names, if any.
    pub customer_email: Option<String>,
    /// The platform's id of the request (Shopify: `data_request.id`).
    pub data_request_id: String,
    /// The delivery it came in (`X-Shopify-Webhook-Id`).
    pub event_id: String,
    pub received_at: String,
}

/// `?limit=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DataRequestsQuery {
    /// At most this many, newest first (default 50, at most 100).
    pub limit: Option<i64>,
}

fn wire(r: DataRequest) -> DataRequestWire {
    DataRequestWire {
        platform: r.platform,
        shop_domain: r.shop_domain,
        customer_id: r.customer_id,
        customer_email: r.customer_email,
        data_request_id: r.data_request_id,
        event_id: r.event_id,
        received_at: rfc3339(r.received_at_ms),
    }
}

/// Customer data requests received from the platform (Shopify's
/// `customers/data_request`), newest first. Each is recorded once, however
/// often the platform delivers it. Answer them within the platform's deadline
/// (Shopify: 30 days).
#[utoipa::path(get, path = "/data_requests", tag = "Admin", params(DataRequestsQuery),
    responses((status = 200, body = Vec<DataRequestWire>)), security(("bearer" = [])))]
pub async fn list_data_requests(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<DataRequestsQuery>,
) -> Result<Json<Vec<DataRequestWire>>, ApiError> {
    let requests = state
        .store
        .data_requests(
            caller.0.merchant,
            q.limit.unwrap_or(DATA_REQUESTS_PAGE_DEFAULT),
        )
        .await?;
    Ok(Json(requests.into_iter().map(wire).collect()))
}
