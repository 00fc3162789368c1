//! Funnel events: append-only, counted once per view and step, rolled up by hour.

use super::{stocked, stores};
use anycart_core::funnel::{DropReason, FunnelEvent, FunnelStep};
use anycart_store::{EventContext, HOUR_MS, RollupFilter};

#[tokio::test]
async fn events_count_once_per_view_and_roll_up_by_hour() {
    for (engine, store, _dir) in stores().await {
        let (m, _variant, _) = stocked(&store, 5, 0).await;
        let product = store.list_products(m, None, 10).await.unwrap()[0].id;
        let p = super::placements::placement(&store, m, product).await;
        let ctx = |view: &str| EventContext {
            merchant_id: m,
            placement_id: p.id,
            channel: "display_ad".into(),
            campaign: "spring".into(),
            view_id: view.into(),
        };
        let t0 = 10 * HOUR_MS + 5;
        let imp = FunnelEvent::Step(FunnelStep::Impression);
        let opened = FunnelEvent::Step(FunnelStep::Opened);
        let declined = FunnelEvent::Left(DropReason::Declined);
        let n = store
            .record_funnel_events(
                ctx("v1"),
                vec![(imp, t0), (opened, t0 + 1), (declined, t0 + 2)],
            )
            .await
            .unwrap();
        assert_eq!(n, 3, "{engine}");
        // A replay of the same view counts nothing; another view counts.
        let n = store
            .record_funnel_events(ctx("v1"), vec![(imp, t0), (opened, t0)])
            .await
            .unwrap();
        assert_eq!(n, 0, "{engine}: replay");
        let n = store
            .record_funnel_events(ctx("v2"), vec![(imp, t0 + HOUR_MS)])
            .await
            .unwrap();
        assert_eq!(n, 1);

        let rows = store
            .funnel_rollups(m, 0, 100 * HOUR_MS, &RollupFilter::default())
            .await
            .unwrap();
        let count = |hour: i64, e: FunnelEvent| {
            rows.iter()
                .filter(|r| r.hour_ms == hour && r.event == e)
                .map(|r| r.count)
                .sum::<u64>()
        };
        assert_eq!(count(10 * HOUR_MS, imp), 1, "{engine}");
        assert_eq!(count(11 * HOUR_MS, imp), 1);
        assert_eq!(count(10 * HOUR_MS, declined), 1);
        assert!(
            rows.iter()
                .all(|r| r.placement_id == p.id && r.campaign == "spring")
        );

        // Filters and ranges.
        let none = RollupFilter {
            channel: Some("social".into()),
            ..RollupFilter::default()
        };
        assert!(
            store
                .funnel_rollups(m, 0, 100 * HOUR_MS, &none)
                .await
                .unwrap()
                .is_empty()
        );
        let late = store
            .funnel_rollups(m, 11 * HOUR_MS, 12 * HOUR_MS, &RollupFilter::default())
            .await
            .unwrap();
        assert_eq!(late.len(), 1);
        // Another merchant sees nothing of it.
        let (other, _, _) = stocked(&store, 1, 0).await;
        assert!(
            store
                .funnel_rollups(other, 0, 100 * HOUR_MS, &RollupFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
}
