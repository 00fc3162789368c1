//! The OpenAPI document: built from the handlers' own annotations (utoipa), so it
//! describes exactly the routes that run. Served at `/openapi.json`, rendered at
//! `/docs`, and the widget's API types are generated from it.

use crate::routes;
use crate::state::AppState;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "anycart", description = "Distributed checkout: the ACP 2026-04-17 checkout API (root paths), the embeddable widget (/embed.js, /widget, /availability), platform webhooks (/webhooks), the merchant admin API (/v1), and the pages and operator endpoints. Every route the server answers is here."),
    modifiers(&BearerAuth),
    components(schemas(crate::routes::widget::page::WidgetConfig)),
    tags(
        (name = "Checkout", description = "Agentic Commerce Protocol checkout sessions (publishable or secret key)"),
        (name = "Widget", description = "What the embeddable checkout calls besides the checkout API: returning shoppers, sandbox card tokens, live stock (publishable key)"),
        (name = "Webhooks", description = "Platform webhooks in (signed by the platform)"),
        (name = "Admin", description = "Merchant back office (secret key, or a dashboard session cookie with its X-CSRF-Token), mounted under /v1"),
        (name = "Dashboard", description = "The merchant dashboard: its page and assets, and sign-in (session cookie)"),
        (name = "Analytics", description = "Funnel events in (the widget, with the placement's publishable key) and the numbers out (admin)"),
        (name = "Pages", description = "What people open in a browser: the landing page, order pages, this reference, the manual"),
        (name = "Operations", description = "For load balancers and monitoring"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_… or sk_…")
                    .build(),
            ),
        );
    }
}

/// The documented routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::acp::router())
        .merge(routes::widget::router())
        .merge(routes::webhooks::router())
        .merge(routes::pages::router())
        .merge(routes::ops::router())
        .merge(routes::dashboard::router())
        .merge(routes::events::router())
        .nest(
            "/v1",
            routes::admin::router().merge(routes::widget::v1_router()),
        )
        .split_for_parts()
}

/// The document alone (for the committed snapshot).
pub fn document() -> utoipa::openapi::OpenApi {
    api().1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `openapi.json` (the widget's types are generated from it) must
    /// be the document the server serves. `ANYCART_UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        let current = document()
            .to_pretty_json()
            .expect("the document serialises")
            + "\n";
        if std::env::var_os("ANYCART_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &current).expect("write openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "{} is stale: run `ANYCART_UPDATE_OPENAPI=1 cargo test -p anycart-server openapi`, \
             then `npm run gen:api` in web/widget, and commit both",
            path.display()
        );
    }

    /// Generated clients (the widget's, the dashboard's) name operations by id:
    /// two handlers with one name would make one of them unreachable.
    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(document()).expect("the document serialises");
        let mut seen = std::collections::BTreeSet::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("path item").values() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    assert!(
                        seen.insert(id.to_string()),
                        "operationId `{id}` is used twice"
                    );
                }
            }
        }
    }

    #[test]
    fn every_route_is_documented() {
        let doc = document();
        for path in [
            "/checkout_sessions",
            "/checkout_sessions/{checkout_session_id}/complete",
            "/widget/shoppers/codes",
            "/widget/shoppers/verify",
            "/widget/shoppers/prefill",
            "/widget/shoppers/remember",
            "/widget/shoppers/sign_out",
            "/widget/shoppers/forget",
            "/availability/stream",
            "/webhooks/{platform}/{merchant_id}",
            "/v1/sandbox/tokens",
            "/v1/placements",
            "/embed.js",
            "/widget/checkout/{placement}",
            "/orders/{token}",
            "/docs",
            "/manual/{page}",
            "/openapi.json",
            "/healthz",
            "/metrics",
            "/dashboard/",
            "/dashboard/session",
            "/dashboard/sign_in",
            "/events",
            "/v1/analytics/funnel",
            "/v1/analytics/funnel.csv",
            "/v1/analytics/sales",
        ] {
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} is not documented"
            );
        }
        let schemas = &doc.components.as_ref().expect("components").schemas;
        assert!(schemas.contains_key("WidgetConfig"));
    }
}
