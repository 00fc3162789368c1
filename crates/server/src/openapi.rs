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
    info(title = "anycart", description = "Distributed checkout: the ACP 2026-04-17 checkout API (root paths, discovery at /.well-known/acp.json, the same API as MCP tools at /mcp), the UCP REST binding (/ucp, /.well-known/ucp), the embeddable widget (/embed.js, /widget, /availability), platform webhooks (/webhooks), the merchant admin API (/v1), and the pages and operator endpoints. Every route the server answers is here."),
    modifiers(&BearerAuth),
    components(schemas(
        crate::routes::widget::page::WidgetConfig,
        crate::error::ErrorWire,
        crate::routes::ucp::error::UcpErrorWire
    )),
    tags(
        (name = "Checkout", description = "Agentic Commerce Protocol checkout sessions (publishable or secret key)"),
        (name = "UCP", description = "Universal Commerce Protocol REST binding (2026-01-11 and 2026-04-08), one door per merchant under /ucp/{merchant_id}: open, signed or keyed as the merchant chooses"),
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
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::acp::router())
        .merge(routes::ucp::router())
        .merge(routes::acp::discovery::router())
        .merge(routes::mcp::router())
        .merge(routes::widget::router())
        .merge(routes::tv::router())
        .merge(routes::webhooks::router())
        .merge(routes::pages::router())
        .merge(routes::shopify_app::router())
        .merge(routes::ops::router())
        .merge(routes::dashboard::router())
        .merge(routes::events::router())
        .nest(
            "/v1",
            routes::admin::router()
                .merge(routes::widget::v1_router())
                .merge(routes::ucp::admin::router())
                .merge(routes::feeds::router()),
        )
        .split_for_parts();
    document_refusals(&mut doc);
    (router, allow_enum_tags(doc))
}

/// A serde-tagged enum (`{"provider": "stripe", …}`) is documented as `oneOf` of
/// `allOf[variant, {tag}]`; a variant struct that refuses unknown fields says
/// `additionalProperties: false`, which would forbid the tag itself, so no request
/// could match. The tag is allowed: those variant schemas drop the flag (the
/// server still refuses unknown fields).
fn allow_enum_tags(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    let Some(components) = doc.components.as_mut() else {
        return doc;
    };
    let mut variants = Vec::new();
    for schema in components.schemas.values() {
        let RefOr::T(Schema::OneOf(one_of)) = schema else {
            continue;
        };
        for alternative in &one_of.items {
            let RefOr::T(Schema::AllOf(all_of)) = alternative else {
                continue;
            };
            for part in &all_of.items {
                if let RefOr::Ref(r) = part
                    && let Some(name) = r.ref_location.strip_prefix("#/components/schemas/")
                {
                    variants.push(name.to_string());
                }
            }
        }
    }
    for name in variants {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
            object.additional_properties = None;
        }
    }
    doc
}

/// The refusals any operation can answer (the framework's, the listener's, the
/// limits', a failing database), added to each operation that does not document
/// that status itself, as the API's JSON error: so the document lists every status
/// an operation can return. Authenticated operations add 401 and 403; ones with a
/// body add 409 (a key in flight), 415 and 422 (a key reused with another body).
/// The UCP door answers in UCP's error shape, or the flat one when a refusal
/// comes before the door (see [`crate::routes::ucp::error::UcpErrorWire`]).
fn document_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::HttpMethod;
    use utoipa::openapi::schema::AnyOfBuilder;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    const EVERY: [(&str, &str); 8] = [
        (
            "400",
            "The request cannot be read (body, query string, path segment)",
        ),
        ("404", "No such resource for this caller"),
        ("408", "The request or its body took too long"),
        ("413", "The body is too large"),
        ("414", "The request target is too long"),
        ("429", "The caller is sending too much; see Retry-After"),
        ("500", "Something failed on the server"),
        (
            "503",
            "The service is busy or a dependency is down; see Retry-After",
        ),
    ];
    const AUTHENTICATED: [(&str, &str); 2] = [
        ("401", "No key, or a key that is not valid"),
        ("403", "The key may not do this (a secret key is required)"),
    ];
    const WITH_BODY: [(&str, &str); 3] = [
        (
            "409",
            "A request with this Idempotency-Key is still running, or the resource's state refuses it",
        ),
        ("415", "The body is not JSON"),
        ("422", "This Idempotency-Key was used with another body"),
    ];
    let error = |ucp: bool| {
        let flat = Ref::from_schema_name("ErrorWire");
        let content = ContentBuilder::new();
        if ucp {
            let either = AnyOfBuilder::new()
                .item(Ref::from_schema_name("UcpErrorWire"))
                .item(flat);
            content.schema(Some(either)).build()
        } else {
            content.schema(Some(flat)).build()
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ucp = path.starts_with("/ucp/");
        let methods = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Patch, &mut item.patch),
            (HttpMethod::Delete, &mut item.delete),
        ];
        for (method, operation) in methods {
            let Some(op) = operation.as_mut() else {
                continue;
            };
            let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let with_body = method != HttpMethod::Get && method != HttpMethod::Delete;
            let extra = EVERY
                .iter()
                .chain(
                    authenticated
                        .then_some(AUTHENTICATED.iter())
                        .into_iter()
                        .flatten(),
                )
                .chain(with_body.then_some(WITH_BODY.iter()).into_iter().flatten());
            for (status, description) in extra {
                op.responses
                    .responses
                    .entry((*status).to_string())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(*description)
                            .content("application/json", error(ucp))
                            .build()
                            .into()
                    });
            }
        }
    }
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
            "/.well-known/ucp",
            "/ucp/{merchant_id}/.well-known/ucp",
            "/ucp/{merchant_id}/checkout-sessions",
            "/ucp/{merchant_id}/checkout-sessions/{id}/complete",
            "/ucp/{merchant_id}/orders/{order_id}",
            "/v1/ucp",
            "/v1/ucp/orders/{order_id}/events",
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
            "/.well-known/acp.json",
            "/mcp",
            "/v1/agent_platforms",
            "/v1/agent_platforms/{id}",
            "/v1/feeds/products.jsonl",
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
