//! A checkout as the agent's version shows it: the session with its handlers,
//! links and order, in 2026-01-11's shape or 2026-04-08's.

use super::convert::{self, View};
use super::door::Admitted;
use super::error::{InVersion, UcpResult};
use super::payment::{self, Handler};
use super::version::UcpVersion;
use super::wire::{CheckoutWire, LinkWire, OrderConfirmationWire};
use crate::error::ApiError;
use crate::routes::acp::convert::order_url;
use crate::state::AppState;
use anycart_checkout::payment_providers::LiveProvider;
use anycart_checkout::ucp::DoorSettings;
use anycart_core::OrderId;
use anycart_core::session::CheckoutSession;
use anycart_store::OrderRecord;
use serde_json::{Value, json};

/// The page that follows a checkout session: links, handlers, the order.
pub struct Context {
    pub handlers: Vec<Handler>,
    pub links: Vec<LinkWire>,
    pub provider: LiveProvider,
}

pub async fn context(state: &AppState, adm: &Admitted) -> UcpResult<Context> {
    let provider = state
        .checkout
        .live_provider(adm.merchant)
        .await
        .in_version(adm.version)?;
    let handlers = payment::handlers(
        &provider,
        &state.config.base_url,
        adm.merchant,
        state.ucp.settings.test_mode,
    );
    let settings = DoorSettings::of(&adm.door);
    let mut links = vec![];
    if let Some(url) = settings.terms_of_service_url {
        links.push(LinkWire {
            kind: "terms_of_service",
            url,
        });
    }
    if let Some(url) = settings.privacy_policy_url {
        links.push(LinkWire {
            kind: "privacy_policy",
            url,
        });
    }
    Ok(Context {
        handlers,
        links,
        provider,
    })
}

/// The session in 2026-01-11's shape (typed, for the order snapshot).
pub async fn wire(
    state: &AppState,
    adm: &Admitted,
    ctx: &Context,
    session: &CheckoutSession,
) -> UcpResult<CheckoutWire> {
    wire_with_order(state, adm, ctx, session, None).await
}

/// [`wire`], with the session's order when the caller just wrote it (not read back).
pub async fn wire_with_order(
    state: &AppState,
    adm: &Admitted,
    ctx: &Context,
    session: &CheckoutSession,
    written: Option<&OrderRecord>,
) -> UcpResult<CheckoutWire> {
    let order = match session.order_id {
        Some(id) => order_of(state, adm, id, written)
            .await?
            .map(|o| OrderConfirmationWire {
                id: o.order.id.to_string(),
                permalink_url: order_url(&state.config.base_url, &o.access_token),
            }),
        None => None,
    };
    Ok(convert::checkout_wire(
        session,
        &View {
            handlers: &ctx.handlers,
            links: ctx.links.clone(),
            order,
        },
    ))
}

/// Order `id`: `written` when it is that order, else read from the store.
pub async fn order_of(
    state: &AppState,
    adm: &Admitted,
    id: OrderId,
    written: Option<&OrderRecord>,
) -> UcpResult<Option<OrderRecord>> {
    match written {
        Some(o) if o.order.id == id => Ok(Some(o.clone())),
        _ => state
            .store
            .get_order(adm.merchant, id)
            .await
            .in_version(adm.version),
    }
}

/// The session as the agent's version shows it.
pub fn shaped(adm: &Admitted, ctx: &Context, wire: &CheckoutWire) -> Value {
    let body = serde_json::to_value(wire).unwrap_or_default();
    match adm.version {
        UcpVersion::V2026_01_11 => body,
        UcpVersion::V2026_04_08 => convert::checkout_to_2026_04_08(body, &ctx.handlers),
    }
}

pub async fn render(
    state: &AppState,
    adm: &Admitted,
    session: &CheckoutSession,
) -> UcpResult<Value> {
    let ctx = context(state, adm).await?;
    let w = wire(state, adm, &ctx, session).await?;
    Ok(shaped(adm, &ctx, &w))
}

/// 2026-04-08's envelope for a business outcome with no checkout to show.
pub fn error_envelope(e: &ApiError, v: UcpVersion) -> Value {
    let mut message = json!({
        "type": "error",
        "code": e.code.as_str(),
        "content": e.message,
        "severity": "unrecoverable",
    });
    if let Some(p) = &e.param {
        message["path"] = json!(p);
    }
    json!({ "ucp": { "version": v.as_str(), "status": "error" }, "messages": [message] })
}
