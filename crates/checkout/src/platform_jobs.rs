//! What the dashboard's Connections page runs on demand: test the connection
//! (read the platform's first catalogue page), import the catalogue in the
//! background with progress to poll, and reconcile stock now. The import's
//! cursor is saved page by page in the store, so a stopped import resumes; its
//! progress is kept on the node that runs it (a poll landing on another node of
//! a cluster sees no job there).

use crate::{CheckoutError, CheckoutResult, CheckoutService};
use anycart_connectors::import::{ImportProgress, import_catalogue};
use anycart_connectors::reconcile::reconcile_stock;
use anycart_connectors::{Connector, connector_for};
use anycart_core::MerchantId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Most import jobs remembered per node (finished ones are dropped first).
pub const IMPORT_JOBS_MAX: usize = 1024;

/// Where an import stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    Done,
    /// Stopped with the platform's (or the store's) reason; running it again resumes.
    Failed(String),
}

/// One import run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportJob {
    pub started_at_ms: i64,
    pub progress: ImportProgress,
    pub state: JobState,
}

/// What testing a connection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// Products on the platform's first catalogue page (when `ok`).
    pub products_seen: usize,
    /// The platform's words when not `ok`.
    pub message: Option<String>,
}

/// The imports this node runs or ran, per merchant.
#[derive(Debug, Default)]
pub struct PlatformJobs {
    imports: Mutex<HashMap<MerchantId, ImportJob>>,
}

impl PlatformJobs {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<MerchantId, ImportJob>) -> T) -> T {
        // A panic while holding the lock leaves plain data behind: keep using it.
        let mut map = self.imports.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut map)
    }
}

impl CheckoutService {
    async fn connector(&self, merchant: MerchantId) -> CheckoutResult<Box<dyn Connector>> {
        let connection = self
            .store
            .get_connection(merchant)
            .await?
            .ok_or_else(|| CheckoutError::invalid("connection", "no platform is connected"))?;
        connector_for(Some(&connection))
            .map_err(|e| CheckoutError::invalid("connection", e.to_string()))
    }

    /// Reads the platform's first catalogue page: are the address and the
    /// credentials right? Changes nothing.
    pub async fn test_connection(&self, merchant: MerchantId) -> CheckoutResult<ConnectionCheck> {
        let connector = self.connector(merchant).await?;
        Ok(match connector.import_page(None).await {
            Ok(page) => ConnectionCheck {
                ok: true,
                products_seen: page.products.len(),
                message: None,
            },
            Err(e) => ConnectionCheck {
                ok: false,
                products_seen: 0,
                message: Some(e.to_string()),
            },
        })
    }

    /// Starts importing the catalogue in the background (or returns the import
    /// already running). `restart` starts over instead of resuming.
    pub async fn start_import(
        &self,
        merchant: MerchantId,
        restart: bool,
    ) -> CheckoutResult<ImportJob> {
        let connector = self.connector(merchant).await?;
        let job = ImportJob {
            started_at_ms: self.now_ms(),
            progress: ImportProgress::default(),
            state: JobState::Running,
        };
        let running = self.platform_jobs.with(|map| {
            if let Some(current) = map.get(&merchant).filter(|j| j.state == JobState::Running) {
                return Some(current.clone());
            }
            if map.len() >= IMPORT_JOBS_MAX {
                map.retain(|_, j| j.state == JobState::Running);
            }
            map.insert(merchant, job.clone());
            None
        });
        if let Some(current) = running {
            return Ok(current);
        }
        let service = self.clone();
        tokio::spawn(async move {
            let result = import_catalogue(
                &service.store,
                merchant,
                connector.as_ref(),
                restart,
                service.now_ms(),
                |p| {
                    service.platform_jobs.with(|map| {
                        if let Some(j) = map.get_mut(&merchant) {
                            j.progress = p;
                        }
                    });
                },
            )
            .await;
            service.platform_jobs.with(|map| {
                if let Some(j) = map.get_mut(&merchant) {
                    match result {
                        Ok(p) => {
                            j.progress = p;
                            j.state = JobState::Done;
                        }
                        Err(e) => j.state = JobState::Failed(e.to_string()),
                    }
                }
            });
            tracing::info!(merchant_id = %merchant, "catalogue import ended");
        });
        Ok(job)
    }

    /// The merchant's latest import on this node.
    pub fn import_status(&self, merchant: MerchantId) -> Option<ImportJob> {
        self.platform_jobs.with(|map| map.get(&merchant).cloned())
    }

    /// Re-reads stock from the platform now: `(pages read, stock rows written)`.
    pub async fn reconcile_now(&self, merchant: MerchantId) -> CheckoutResult<(usize, usize)> {
        let connector = self.connector(merchant).await?;
        let report = reconcile_stock(&self.store, merchant, connector.as_ref(), self.now_ms())
            .await
            .map_err(|e| {
                CheckoutError::invalid("connection", format!("the platform refused: {e}"))
            })?;
        Ok((report.pages, report.rows))
    }
}
