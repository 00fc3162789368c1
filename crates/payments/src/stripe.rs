//! The `stripe` provider: card payments on the merchant's own Stripe account
//! (the merchant stays the merchant of record), over PaymentIntents.
//!
//! Transport only: URLs, headers, idempotency keys, error mapping. The JSON is in
//! [`wire`], the pure mapping in [`convert`]. Plain reqwest rather than a generated
//! client: anycart calls a handful of endpoints, and the tests point `api_base` at a
//! local fake that speaks Stripe's wire format.
//!
//! Every POST carries an `Idempotency-Key` derived from what it does (the checkout's
//! `{session}-{attempt}` for a charge), so a retry after a timeout gets Stripe's
//! first answer instead of a second charge.

pub mod convert;
pub mod webhook;
pub mod wire;

use crate::{AuthorizeOutcome, AuthorizeRequest, PaymentError, PaymentProvider, Refunded};
use anycart_core::Money;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use wire::{ErrorEnvelope, GrantedToken, PaymentIntent, Refund};

/// Stripe's API origin; tests and proxies override it.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
/// The API version anycart is written against (sent on every request, so a change
/// of the account's default version changes nothing here).
pub const STRIPE_API_VERSION: &str = "2026-04-22.dahlia";
/// Longest one Stripe request may take. Below the checkout's request budget, so a
/// slow Stripe yields a clear "retry" rather than a timed-out request.
pub const STRIPE_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Longest a TCP connect to Stripe may take.
pub const STRIPE_CONNECT_TIMEOUT_MS: u64 = 3_000;
/// Metadata key on the refunds anycart makes: the refund's idempotency key
/// (`refund-{id}`, or `void-{payment}` for a payment given back), so a webhook
/// tells anycart's own refunds from those made in the Stripe dashboard.
pub const REFUND_METADATA_KEY: &str = "anycart_refund";
/// Most refunds read for one payment (Stripe's largest page).
pub const REFUNDS_PER_PAYMENT_MAX: usize = 100;

/// How to reach a merchant's Stripe account.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `sk_live_…` / `sk_test_…` (or a restricted key).
    pub secret_key: SecretString,
    /// [`STRIPE_API_BASE`] unless overridden.
    pub api_base: String,
}

/// The `stripe` payment provider of one merchant.
#[derive(Clone, Debug)]
pub struct StripeProvider {
    config: StripeConfig,
    client: reqwest::Client,
}

/// A Stripe answer: the object, or the error Stripe sent with its status.
type Answer<T> = Result<Result<T, (u16, wire::StripeError)>, PaymentError>;

impl StripeProvider {
    pub fn new(config: StripeConfig) -> Result<Self, PaymentError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(STRIPE_REQUEST_TIMEOUT_MS))
            .connect_timeout(Duration::from_millis(STRIPE_CONNECT_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("anycart/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PaymentError::Unavailable(format!("http client: {e}")))?;
        Ok(StripeProvider { config, client })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Answer<T> {
        let response = request
            .bearer_auth(self.config.secret_key.expose_secret())
            .header("Stripe-Version", STRIPE_API_VERSION)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("stripe unreachable: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("stripe answer cut short: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map(Ok)
                .map_err(|e| PaymentError::Unavailable(format!("unreadable stripe answer: {e}")));
        }
        match serde_json::from_slice::<ErrorEnvelope>(&body) {
            Ok(envelope) => Ok(Err((status, envelope.error))),
            Err(_) => Err(PaymentError::Unavailable(format!(
                "stripe answered {status}"
            ))),
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(String, String)],
        idempotency_key: &str,
    ) -> Answer<T> {
        let request = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", idempotency_key)
            .form(params);
        self.send(request).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.send(self.client.get(self.url(path))).await
    }

    /// A PaymentIntent, with its payment method expanded.
    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent, PaymentError> {
        let path = format!("/v1/payment_intents/{id}?expand[]=payment_method");
        match self.get::<PaymentIntent>(&path).await? {
            Ok(pi) => Ok(pi),
            Err((404, _)) => Err(PaymentError::UnknownReference),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// The account of the secret key: proves the key works, and names the account
    /// agents scope their shared payment tokens to.
    pub async fn retrieve_account(&self) -> Result<wire::Account, PaymentError> {
        match self.get::<wire::Account>("/v1/account").await? {
            Ok(account) => Ok(account),
            Err((401 | 403, e)) => Err(PaymentError::Refused(
                e.message
                    .unwrap_or_else(|| "Stripe refused the secret key".into()),
            )),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// What a shared payment token granted by an agent allows.
    pub async fn granted_token(&self, id: &str) -> Result<GrantedToken, PaymentError> {
        match self
            .get::<GrantedToken>(&format!("/v1/shared_payment/granted_tokens/{id}"))
            .await?
        {
            Ok(t) => Ok(t),
            Err((400 | 404, _)) => Err(PaymentError::InvalidToken),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// The refunds of a PaymentIntent, newest first (at most
    /// [`REFUNDS_PER_PAYMENT_MAX`]; anycart's orders never have that many).
    pub async fn list_refunds(&self, payment_intent: &str) -> Result<Vec<Refund>, PaymentError> {
        let path =
            format!("/v1/refunds?payment_intent={payment_intent}&limit={REFUNDS_PER_PAYMENT_MAX}");
        match self.get::<wire::List<Refund>>(&path).await? {
            Ok(list) => Ok(list.data),
            Err((404, _)) => Err(PaymentError::UnknownReference),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// Creates the Customer a returning shopper's cards are saved on. The caller's
    /// `idempotency_key` (derived from merchant and email) makes a retry find the
    /// first one instead of a twin.
    pub async fn create_customer(
        &self,
        email: &str,
        idempotency_key: &str,
    ) -> Result<wire::Customer, PaymentError> {
        let params = [("email".to_string(), email.to_string())];
        match self
            .post::<wire::Customer>("/v1/customers", &params, idempotency_key)
            .await?
        {
            Ok(c) => Ok(c),
            Err((400, e)) => Err(PaymentError::Refused(
                e.message.unwrap_or_else(|| "customer refused".into()),
            )),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// Detaches a saved card from its customer (a shopper forgot their details):
    /// it can never be charged again. Already detached or unknown is done too.
    pub async fn detach_payment_method(&self, id: &str) -> Result<(), PaymentError> {
        match self
            .post::<serde_json::Value>(
                &format!("/v1/payment_methods/{id}/detach"),
                &[],
                &format!("detach-{id}"),
            )
            .await?
        {
            Ok(_) | Err((400 | 404, _)) => Ok(()),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// Registers a domain for Apple Pay and Google Pay (the widget's origin).
    pub async fn register_payment_method_domain(&self, domain: &str) -> Result<(), PaymentError> {
        let params = [("domain_name".to_string(), domain.to_string())];
        match self
            .post::<serde_json::Value>(
                "/v1/payment_method_domains",
                &params,
                &format!("pmd-{domain}"),
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// Refunds `amount` of a captured PaymentIntent; `idempotency_key` names this
    /// refund, so a retry never refunds twice.
    pub async fn refund_with_key(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Refund, PaymentError> {
        let params = [
            ("payment_intent".to_string(), reference.to_string()),
            ("amount".to_string(), amount.amount_minor.to_string()),
            (
                format!("metadata[{REFUND_METADATA_KEY}]"),
                idempotency_key.to_string(),
            ),
        ];
        match self
            .post::<Refund>("/v1/refunds", &params, idempotency_key)
            .await?
        {
            Ok(r) => Ok(r),
            Err((404, _)) => Err(PaymentError::UnknownReference),
            // `charge_already_refunded`, an amount above what is left, …
            Err((400, e)) if e.kind == "invalid_request_error" => Err(PaymentError::Refused(
                e.message.unwrap_or_else(|| "refund refused".into()),
            )),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }
}

fn unavailable(status: u16, e: &wire::StripeError) -> PaymentError {
    PaymentError::Unavailable(format!(
        "stripe {status} {} {}: {}",
        e.kind,
        e.code.as_deref().unwrap_or(""),
        e.message.as_deref().unwrap_or("")
    ))
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn authorize(
        &self,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        let params = convert::payment_intent_params(request);
        match self
            .post::<PaymentIntent>("/v1/payment_intents", &params, &request.idempotency_key)
            .await?
        {
            Ok(pi) => convert::outcome_of(&pi),
            Err((status, e)) => convert::error_outcome(status, &e),
        }
    }

    /// After the shopper's 3-D Secure in Stripe.js, the PaymentIntent has moved on
    /// by itself: read where it stands.
    async fn confirm_authentication(
        &self,
        reference: &str,
        _authenticated: bool,
        _capture: bool,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        let pi = self.retrieve_payment_intent(reference).await?;
        convert::outcome_of(&pi)
    }

    async fn capture(&self, reference: &str, amount: Money) -> Result<(), PaymentError> {
        let params = [(
            "amount_to_capture".to_string(),
            amount.amount_minor.to_string(),
        )];
        match self
            .post::<PaymentIntent>(
                &format!("/v1/payment_intents/{reference}/capture"),
                &params,
                &format!("capture-{reference}"),
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err((404, _)) => Err(PaymentError::UnknownReference),
            Err((status, e)) => Err(unavailable(status, &e)),
        }
    }

    /// Cancels an uncaptured PaymentIntent, or refunds a captured one in full.
    async fn void(&self, reference: &str) -> Result<(), PaymentError> {
        let pi = self.retrieve_payment_intent(reference).await?;
        match pi.status.as_str() {
            "canceled" => Ok(()),
            "succeeded" => {
                let currency = anycart_core::Currency::parse(&pi.currency)
                    .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
                let amount = Money::new(pi.amount_received, currency)
                    .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
                self.refund_with_key(reference, amount, &format!("void-{reference}"))
                    .await
                    .map(|_| ())
            }
            _ => {
                let params = [("cancellation_reason".to_string(), "abandoned".to_string())];
                match self
                    .post::<PaymentIntent>(
                        &format!("/v1/payment_intents/{reference}/cancel"),
                        &params,
                        &format!("void-{reference}"),
                    )
                    .await?
                {
                    Ok(_) => Ok(()),
                    Err((404, _)) => Err(PaymentError::UnknownReference),
                    Err((status, e)) => Err(unavailable(status, &e)),
                }
            }
        }
    }

    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Refunded, PaymentError> {
        let refund = self
            .refund_with_key(reference, amount, idempotency_key)
            .await?;
        match refund.status.as_str() {
            "failed" | "canceled" => Err(PaymentError::Refused(format!(
                "stripe refund {} {}",
                refund.id, refund.status
            ))),
            status => Ok(Refunded {
                pending: status != "succeeded",
                reference: refund.id,
            }),
        }
    }
}
