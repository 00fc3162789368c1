//! `native`: anycart is the merchant's system of record, so "pushing" an order
//! means sending the shopper's confirmation email ourselves, over the merchant's
//! SMTP server (lettre does the protocol, TLS and MIME).
//!
//! Delivery is at least once: if the email went out but recording it failed, the
//! retry sends it again. A duplicate confirmation is the lesser evil next to a lost
//! one.

use crate::{
    Confirmation, Connector, ConnectorError, OrderPush, Platform, PushedOrder, RefundPush,
    WebhookEvent,
};
use anycart_core::order::Order;
use anycart_core::text::escape_html;
use anycart_store::NativeSettings;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Longest one SMTP conversation may take.
pub const SMTP_TIMEOUT_MS: u64 = 15_000;
/// Longest shop name put in a subject line.
const SHOP_NAME_CHARS_MAX: usize = 80;

/// Branding and sender for the confirmation email (non-secret connection settings).
#[derive(Clone, Debug)]
pub struct Branding {
    pub shop_name: String,
    pub from_address: String,
    /// CSS colour for the header band (validated to `#rrggbb`).
    pub brand_color: String,
}

/// anycart as its own platform.
pub struct NativeConnector {
    smtp: Option<(SecretString, Branding)>,
}

impl NativeConnector {
    /// A merchant without a connection: orders are recorded, no email is sent.
    pub fn without_smtp() -> Self {
        NativeConnector { smtp: None }
    }

    /// From a `native` connection: `smtp_url` (e.g.
    /// `smtps://user:pass@mail.example.com` or `smtp://127.0.0.1:2525`) and the
    /// `from_address`, `shop_name`, `brand_color` settings.
    pub fn from_settings(c: &NativeSettings) -> Result<Self, ConnectorError> {
        let Some(url) = c.smtp_url.as_ref().map(|u| u.to_secret_string()) else {
            return Ok(Self::without_smtp());
        };
        let setting = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_string);
        let from_address = setting(&c.from_address)
            .ok_or_else(|| ConnectorError::Misconfigured("from_address missing".into()))?;
        from_address
            .parse::<Mailbox>()
            .map_err(|e| ConnectorError::Misconfigured(format!("from_address: {e}")))?;
        let brand_color = setting(&c.brand_color)
            .filter(|c| {
                c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|h| h.is_ascii_hexdigit())
            })
            .unwrap_or_else(|| "#111827".into());
        let shop_name: String = setting(&c.shop_name)
            .unwrap_or_else(|| c.shop_domain.clone())
            .chars()
            .take(SHOP_NAME_CHARS_MAX)
            .collect();
        // Fail at connect time, not at the first order, when the URL is unusable.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| ConnectorError::Misconfigured(format!("smtp_url: {e}")))?;
        Ok(NativeConnector {
            smtp: Some((
                url,
                Branding {
                    shop_name,
                    from_address,
                    brand_color,
                },
            )),
        })
    }
}

impl NativeConnector {
    /// Emails a returning shopper's one-time sign-in code over the merchant's SMTP
    /// server. `Ok(false)` when the merchant has no SMTP configured (nothing sent).
    pub async fn send_sign_in_code(
        &self,
        to: &str,
        code: &SecretString,
        valid_minutes: i64,
    ) -> Result<bool, ConnectorError> {
        let Some((url, branding)) = &self.smtp else {
            return Ok(false);
        };
        send(url, sign_in_code_email(branding, to, code, valid_minutes)?).await?;
        Ok(true)
    }
}

/// One SMTP conversation through the merchant's server (lettre: protocol, TLS, MIME).
async fn send(url: &SecretString, message: Message) -> Result<(), ConnectorError> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
        .map_err(|e| ConnectorError::Misconfigured(format!("smtp_url: {e}")))?
        .timeout(Some(Duration::from_millis(SMTP_TIMEOUT_MS)))
        .build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(ConnectorError::Permanent(format!("smtp: {e}"))),
        Err(e) => Err(ConnectorError::Transient(format!("smtp: {e}"))),
    }
}

/// The plain-text email carrying a sign-in code. It says who asked (the shop) and
/// what to do if it was not the reader, and nothing about any saved details.
pub fn sign_in_code_email(
    branding: &Branding,
    to: &str,
    code: &SecretString,
    valid_minutes: i64,
) -> Result<Message, ConnectorError> {
    let (from, to) = mailboxes(branding, to)?;
    let text = format!(
        "Your code for a faster checkout at {shop} is {code}.\n\n\
It expires in {valid_minutes} minutes. If you did not ask for it, ignore this email: \
nobody can use your saved details without the code.\n",
        shop = branding.shop_name,
        code = code.expose_secret(),
    );
    Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "Your checkout code - {}",
            sanitize_display(&branding.shop_name)
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| ConnectorError::Permanent(format!("email: {e}")))
}

#[async_trait]
impl Connector for NativeConnector {
    fn platform(&self) -> Platform {
        Platform::Native
    }

    async fn push_order(&self, push: &OrderPush) -> Result<PushedOrder, ConnectorError> {
        let order = &push.order;
        let done = |confirmation| PushedOrder {
            platform_order_id: order.id.to_string(),
            confirmation,
        };
        let Some((url, branding)) = &self.smtp else {
            return Ok(done(Confirmation::SmtpNotConfigured));
        };
        let Some(email) = order.email.as_ref().or(order.fulfillment.email.as_ref()) else {
            return Ok(done(Confirmation::NoEmailAddress));
        };
        let message = confirmation_email(order, branding, email.as_ref())?;
        send(url, message).await?;
        Ok(done(Confirmation::SentByAnycart))
    }

    /// anycart is the system of record: the refund is already recorded; the
    /// shopper gets a refund email.
    async fn push_refund(&self, push: &RefundPush) -> Result<PushedOrder, ConnectorError> {
        let order = &push.notice.order;
        let done = |confirmation| PushedOrder {
            platform_order_id: push.notice.refund_id.to_string(),
            confirmation,
        };
        let Some((url, branding)) = &self.smtp else {
            return Ok(done(Confirmation::SmtpNotConfigured));
        };
        let Some(email) = order.email.as_ref().or(order.fulfillment.email.as_ref()) else {
            return Ok(done(Confirmation::NoEmailAddress));
        };
        let message = refund_email(&push.notice, branding, email.as_ref())?;
        send(url, message).await?;
        Ok(done(Confirmation::SentByAnycart))
    }

    async fn import_page(&self, _: Option<&str>) -> Result<crate::CataloguePage, ConnectorError> {
        // The catalogue is anycart's own: it is edited through the admin API.
        Err(ConnectorError::Misconfigured(
            "native merchants have no platform catalogue to import".into(),
        ))
    }

    fn verify_webhook(&self, _: &HeaderMap, _: &[u8]) -> Result<WebhookEvent, ConnectorError> {
        // anycart is the system of record: there is no platform to hear from.
        Err(ConnectorError::Misconfigured(
            "native merchants receive no platform webhooks".into(),
        ))
    }
}

/// Builds the confirmation (plain text + HTML alternative) for `order`.
pub fn confirmation_email(
    order: &Order,
    branding: &Branding,
    to: &str,
) -> Result<Message, ConnectorError> {
    let (from, to) = mailboxes(branding, to)?;
    let (text, rows) = receipt(order, branding);
    let html = confirmation_html(order, branding, &rows);
    Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "Order {} confirmed - {}",
            order.display_number(),
            sanitize_display(&branding.shop_name)
        ))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| ConnectorError::Permanent(format!("email: {e}")))
}

/// Builds the refund email (plain text) for a refund of an order.
pub fn refund_email(
    notice: &anycart_store::RefundNotice,
    branding: &Branding,
    to: &str,
) -> Result<Message, ConnectorError> {
    let order = &notice.order;
    let (from, to) = mailboxes(branding, to)?;
    let money = |minor| order.currency.format_minor(minor);
    let mut text = format!(
        "We have refunded {} for your order {} at {}.\n",
        money(notice.amount_minor),
        order.display_number(),
        branding.shop_name
    );
    for line in &notice.lines {
        if let Some(l) = order.lines.iter().find(|l| l.variant_id == line.variant_id) {
            text.push_str(&format!("\n{} x {} ({})", line.quantity, l.title, l.sku));
        }
    }
    text.push_str(
        "\n\nThe money goes back to the card you paid with; banks usually show it within 5 to 10 days.\n",
    );
    Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "Refund for order {} - {}",
            order.display_number(),
            sanitize_display(&branding.shop_name)
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| ConnectorError::Permanent(format!("email: {e}")))
}

/// The receipt twice, built in one pass so both list the same lines and totals:
/// the whole plain-text body, and the HTML table rows (escaped).
fn receipt(order: &Order, branding: &Branding) -> (String, String) {
    let money = |minor| order.currency.format_minor(minor);
    let mut text = format!(
        "Thank you for your order!\n\nOrder {} at {}\n\n",
        order.display_number(),
        branding.shop_name
    );
    let mut rows = String::new();
    for line in &order.lines {
        let qty = i64::from(line.quantity.get());
        let amount = money(line.unit_price.amount_minor.saturating_mul(qty));
        text.push_str(&format!(
            "{} x {} ({})  {}\n",
            qty, line.title, line.sku, amount
        ));
        rows.push_str(&format!(
            "<tr><td>{} &times; {}</td><td style=\"text-align:right\">{}</td></tr>",
            qty,
            escape_html(&line.title),
            escape_html(&amount)
        ));
    }
    let t = &order.totals;
    let summary = [
        ("Subtotal", t.subtotal_minor),
        ("Shipping", t.fulfillment_minor),
        ("Tax", t.tax_minor),
        ("Total", t.total_minor),
    ];
    text.push('\n');
    for (label, minor) in summary {
        text.push_str(&format!("{label}: {}\n", money(minor)));
        rows.push_str(&format!(
            "<tr><td>{label}</td><td style=\"text-align:right\">{}</td></tr>",
            escape_html(&money(minor))
        ));
    }
    (text, rows)
}

/// The HTML body around the receipt rows, in the shop's colour.
fn confirmation_html(order: &Order, branding: &Branding, rows: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><div style=\"background:{color};color:#fff;padding:16px\"><h1 style=\"margin:0\">{shop}</h1></div><p>Thank you for your order!</p><p>Order <strong>{number}</strong></p><table style=\"width:100%\">{rows}</table></body></html>",
        color = branding.brand_color,
        shop = escape_html(&branding.shop_name),
        number = escape_html(&order.display_number()),
    )
}

/// The shop as sender (its name as display name) and the recipient. A bad sender
/// is the merchant's configuration; a bad recipient will never be deliverable.
fn mailboxes(branding: &Branding, to: &str) -> Result<(Mailbox, Mailbox), ConnectorError> {
    let from: Mailbox = format!(
        "{} <{}>",
        sanitize_display(&branding.shop_name),
        branding.from_address
    )
    .parse()
    .map_err(|e| ConnectorError::Misconfigured(format!("from: {e}")))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| ConnectorError::Permanent(format!("recipient: {e}")))?;
    Ok((from, to))
}

/// Drops characters that would break a mailbox display name or a header line.
fn sanitize_display(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | ','))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_headers_are_sanitized() {
        assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(sanitize_display("Evil\r\nBcc: x <y>"), "EvilBcc: x y");
    }
}
