//! Failures to inject into the next matching API requests.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Faults queued with `fail_next`, each consumed by the first later API request
/// whose path starts with its `path_prefix` (e.g. `/v1/payment_intents`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` with Stripe's error body for it (429 carries `Retry-After`),
    /// before the endpoint runs: nothing changes and nothing is stored for the
    /// request's idempotency key, so a retry runs it for real.
    Status { path_prefix: String, status: u16 },
    /// Answer only after `duration` (a client with a shorter timeout gives up). The
    /// request then runs as usual, even if the client has gone; while it waits its
    /// idempotency key is taken, so a retry with the same key gets Stripe's 409.
    Hang {
        path_prefix: String,
        duration: Duration,
    },
    /// Run the request (the charge happens) and store its response for the
    /// idempotency key, then answer 500: a retry with the same key gets the stored
    /// success.
    LoseAnswer { path_prefix: String },
    /// Like `LoseAnswer`, but the connection is broken instead of answered.
    DropConnection { path_prefix: String },
}

impl Fault {
    pub fn path_prefix(&self) -> &str {
        match self {
            Fault::Status { path_prefix, .. }
            | Fault::Hang { path_prefix, .. }
            | Fault::LoseAnswer { path_prefix }
            | Fault::DropConnection { path_prefix } => path_prefix,
        }
    }
}

/// A fault as the control API takes it:
/// `{"kind": "status", "path_prefix": "/v1/payment_intents", "status": 500}`,
/// `{"kind": "hang", "path_prefix": …, "duration_ms": 3000}`,
/// `{"kind": "lose_answer", "path_prefix": …}`, `{"kind": "drop_connection", …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultSpec {
    Status {
        path_prefix: String,
        status: u16,
    },
    Hang {
        path_prefix: String,
        duration_ms: u64,
    },
    LoseAnswer {
        path_prefix: String,
    },
    DropConnection {
        path_prefix: String,
    },
}

impl From<FaultSpec> for Fault {
    fn from(s: FaultSpec) -> Fault {
        match s {
            FaultSpec::Status {
                path_prefix,
                status,
            } => Fault::Status {
                path_prefix,
                status,
            },
            FaultSpec::Hang {
                path_prefix,
                duration_ms,
            } => Fault::Hang {
                path_prefix,
                duration: Duration::from_millis(duration_ms),
            },
            FaultSpec::LoseAnswer { path_prefix } => Fault::LoseAnswer { path_prefix },
            FaultSpec::DropConnection { path_prefix } => Fault::DropConnection { path_prefix },
        }
    }
}

impl From<&Fault> for FaultSpec {
    fn from(f: &Fault) -> FaultSpec {
        match f.clone() {
            Fault::Status {
                path_prefix,
                status,
            } => FaultSpec::Status {
                path_prefix,
                status,
            },
            Fault::Hang {
                path_prefix,
                duration,
            } => FaultSpec::Hang {
                path_prefix,
                duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::LoseAnswer { path_prefix } => FaultSpec::LoseAnswer { path_prefix },
            Fault::DropConnection { path_prefix } => FaultSpec::DropConnection { path_prefix },
        }
    }
}
