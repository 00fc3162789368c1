//! Magento's region ids, read through the directory API
//! (`GET /V1/directory/countries/{id}`) and cached per store and country for the
//! whole process: connectors are built per delivery, and a store's region list
//! changes only when its merchant edits the directory.

use super::{AdobeConnector, convert, wire};
use crate::ConnectorError;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a country's region list is trusted.
const REGION_CACHE_TTL: Duration = Duration::from_secs(60 * 60);
/// Stores × countries kept; past it the cache starts over (a bound, not an LRU:
/// a refill is one small request per country).
const REGION_CACHE_ENTRIES_MAX: usize = 4_096;

type Key = (String, String);
type Cached = (Instant, Arc<wire::CountryInformation>);

static REGIONS: LazyLock<Mutex<HashMap<Key, Cached>>> = LazyLock::new(Default::default);

impl AdobeConnector {
    /// The country's directory entry, from the cache while it is fresh.
    async fn country(
        &self,
        country_id: &str,
    ) -> Result<Arc<wire::CountryInformation>, ConnectorError> {
        let key = (self.api_base.clone(), country_id.to_string());
        if let Some((at, info)) = REGIONS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < REGION_CACHE_TTL
        {
            return Ok(info.clone());
        }
        let info: wire::CountryInformation = self
            .get(&["directory", "countries", country_id], &[])
            .await?;
        if !info.id.eq_ignore_ascii_case(country_id) {
            return Err(ConnectorError::Malformed(format!(
                "asked Adobe Commerce for country {country_id}, got {}",
                info.id
            )));
        }
        let info = Arc::new(info);
        let mut cache = REGIONS.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= REGION_CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), info.clone()));
        Ok(info)
    }

    /// Fills `region_id` (with the region's code and name) in every address of the plan.
    pub(super) async fn resolve_regions(
        &self,
        plan: &mut convert::OrderPlan,
    ) -> Result<(), ConnectorError> {
        let country_id = plan.payment.billing_address.country_id.clone();
        let country = self.country(&country_id).await?;
        let info = &mut plan.shipping.address_information;
        for address in [
            &mut info.shipping_address,
            &mut info.billing_address,
            &mut plan.payment.billing_address,
        ] {
            debug_assert_eq!(address.country_id, country_id, "one address, three copies");
            convert::resolve_region(address, &country)?;
        }
        Ok(())
    }
}
