//! A small Stripe client for the tests, and a webhook endpoint that records what it
//! is sent.

use anycart_fake_stripe::FakeStripe;
use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A fake and a client for it.
pub struct Api {
    pub stripe: FakeStripe,
    pub http: reqwest::Client,
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code`, for short assertions.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Api {
    pub async fn start() -> Api {
        Api {
            stripe: FakeStripe::start().await,
            http: reqwest::Client::new(),
        }
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        Call::new(self, reqwest::Method::POST, path)
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        Call::new(self, reqwest::Method::GET, path)
    }

    /// A PaymentIntent paid with `pm`, confirmed now, with no redirects allowed.
    pub async fn pay(&self, amount: i64, pm: &str, extra: &[(&str, &str)]) -> Resp {
        let amount = amount.to_string();
        let mut call = self
            .post("/v1/payment_intents")
            .params(&[
                ("amount", &amount),
                ("currency", "usd"),
                ("payment_method", pm),
                ("confirm", "true"),
            ])
            .params(&[
                ("automatic_payment_methods[enabled]", "true"),
                ("automatic_payment_methods[allow_redirects]", "never"),
            ]);
        call = call.params(extra);
        call.send().await
    }
}

/// One request being built.
pub struct Call<'a> {
    api: &'a Api,
    method: reqwest::Method,
    path: String,
    pairs: Vec<(String, String)>,
    key: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl<'a> Call<'a> {
    fn new(api: &'a Api, method: reqwest::Method, path: &str) -> Call<'a> {
        Call {
            api,
            method,
            path: path.to_string(),
            pairs: Vec::new(),
            key: Some(api.stripe.secret_key.clone()),
            headers: Vec::new(),
            timeout: None,
        }
    }

    pub fn param(mut self, k: &str, v: &str) -> Self {
        self.pairs.push((k.to_string(), v.to_string()));
        self
    }

    pub fn params(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            self.pairs.push((k.to_string(), v.to_string()));
        }
        self
    }

    /// The API key (`None`: no Authorization header).
    pub fn key(mut self, key: Option<&str>) -> Self {
        self.key = key.map(str::to_string);
        self
    }

    pub fn idempotency(self, key: &str) -> Self {
        self.header("Idempotency-Key", key)
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    fn encoded(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// Sends; a transport error (timeout, dropped connection) is an `Err`.
    pub async fn try_send(self) -> Result<Resp, reqwest::Error> {
        let mut url = format!("{}{}", self.api.stripe.base_url, self.path);
        let form = self.encoded();
        let mut req = if self.method == reqwest::Method::GET {
            if !form.is_empty() {
                url = format!("{url}?{form}");
            }
            self.api.http.get(url)
        } else {
            self.api
                .http
                .request(self.method.clone(), url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)
        };
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(t) = self.timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn send(self) -> Resp {
        self.try_send().await.expect("the fake answers")
    }
}

/// One delivery a webhook endpoint received.
#[derive(Clone, Debug)]
pub struct Received {
    pub signature: Option<String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook endpoint answering `statuses` in turn (then 200), recording deliveries.
pub struct Endpoint {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Endpoint {
    pub async fn start(statuses: Vec<u16>) -> Endpoint {
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(statuses.into_iter()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/stripe", listener.local_addr().unwrap());
        let rec = received.clone();
        let app = axum::Router::new().route(
            "/webhooks/stripe",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let rec = rec.clone();
                let statuses = statuses.clone();
                async move {
                    rec.lock().unwrap().push(Received {
                        signature: headers
                            .get("stripe-signature")
                            .map(|v| v.to_str().unwrap().to_string()),
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    let status = statuses.lock().unwrap().next().unwrap_or(200);
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Endpoint { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The event types received, in order (raw deliveries without one are skipped).
    pub fn types(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter_map(|r| r.json()["type"].as_str().map(str::to_string))
            .collect()
    }
}

/// Stripe's verification, written from its documentation: split the header, check
/// the timestamp tolerance, compare HMAC-SHA256(secret, "t.body") with each v1.
pub fn verify(
    secret: &str,
    header: &str,
    body: &str,
    tolerance_s: i64,
) -> Result<(), &'static str> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v.to_string()),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp")?;
    if (now() - t).abs() > tolerance_s {
        return Err("timestamp outside the tolerance");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if v1.contains(&expected) {
        Ok(())
    } else {
        Err("no matching signature")
    }
}
