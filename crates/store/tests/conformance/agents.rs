//! Agents: platforms and their keys, order webhooks written with the order and
//! with its status moves (forward only), feed marks moved once when nodes race,
//! and write-once records (intent traces, affiliate claims) with tokens sealed.

use super::{merchant, stocked, stores, try_complete_order};
use anycart_core::attribution::{AgentProtocol, Attribution};
use anycart_core::order::OrderStatus;
use anycart_core::{AgentPlatformId, ApiKeyId, MerchantId, ProductId, SessionId};
use anycart_store::{
    AffiliateClaim, AgentPlatform, AgentSecrets, ApiKeyKind, ApiKeyRecord, CredentialsKey,
    FeedChange, IntentTraceRecord, OUTBOX_KIND_AGENT_WEBHOOK, OutboxState, Secret, Store,
    StoreError, Touchpoint,
};

/// A platform of `m` named `name` taking webhooks, stored with its key.
async fn platform(store: &Store, m: MerchantId, name: &str) -> (AgentPlatform, ApiKeyRecord) {
    try_platform(store, m, name).await.unwrap()
}

async fn try_platform(
    store: &Store,
    m: MerchantId,
    name: &str,
) -> Result<(AgentPlatform, ApiKeyRecord), StoreError> {
    let key = ApiKeyRecord {
        id: ApiKeyId::new(),
        merchant_id: m,
        kind: ApiKeyKind::Publishable,
        key_hash: format!("hash-{}", ApiKeyId::new()),
        hint: "ak_…0001".into(),
        placement_id: None,
        created_at_ms: 1,
    };
    let p = AgentPlatform {
        id: AgentPlatformId::new(),
        merchant_id: m,
        name: name.into(),
        api_key_id: key.id,
        webhook_url: Some("https://agent.example/hooks".into()),
        feed_url: None,
        api_base_url: "https://checkout.example".into(),
        secrets: AgentSecrets {
            signing_secret: Secret::new("s".repeat(32)),
            feed_token: Some(Secret::new("feed-token")),
        },
        verify_signatures: true,
        created_at_ms: 1,
        updated_at_ms: 1,
        disabled_at_ms: None,
    };
    store.create_agent_platform(&p, &key).await?;
    Ok((p, key))
}

/// The merchant's outbox rows of `kind` in `state`.
async fn rows(store: &Store, m: MerchantId, state: OutboxState, kind: &str) -> Vec<String> {
    store
        .list_outbox(m, state, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.external_reference)
        .collect()
}

#[tokio::test]
async fn an_agent_order_s_webhooks_are_written_with_it_and_with_each_forward_move() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 10, 0).await;
        let (p, key) = platform(&store, m, "openai").await;
        assert!(
            matches!(
                try_platform(&store, m, "openai").await,
                Err(StoreError::Duplicate(_))
            ),
            "{name}: a second platform of the same name is refused"
        );
        let found = store.agent_platform_of_key(key.id).await.unwrap().unwrap();
        assert_eq!(found.id, p.id);
        assert_eq!(found.secrets.signing_secret.expose(), "s".repeat(32));
        assert!(found.verify_signatures);
        assert!(
            store
                .find_live_api_key(&key.key_hash)
                .await
                .unwrap()
                .unwrap()
                .agent_platform,
            "{name}: authentication reads that the key is the platform's"
        );

        let agent = Attribution::agent(AgentProtocol::Acp, Some(p.id.to_string()));
        let order = try_complete_order(&store, m, v, 1, &[], Some(agent.clone()))
            .await
            .unwrap();
        let create = format!("{order}:{}:order_create", p.id);
        assert_eq!(
            rows(&store, m, OutboxState::Pending, OUTBOX_KIND_AGENT_WEBHOOK).await,
            vec![create.clone()],
            "{name}: order_create written with the order"
        );
        assert_eq!(
            store.agent_create_state(m, order, p.id).await.unwrap(),
            Some(OutboxState::Pending)
        );

        // The order reaches the merchant's platform: processing, and an update.
        let push = store
            .list_outbox(m, OutboxState::Pending, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.external_reference == order.to_string())
            .unwrap();
        store
            .order_reached_platform(&push.id, &push.order().unwrap(), "gid://1", "sent", 5)
            .await
            .unwrap();
        let status = |s: &Store| {
            let s = s.clone();
            async move { s.get_order(m, order).await.unwrap().unwrap().order.status }
        };
        assert_eq!(status(&store).await, OrderStatus::Processing, "{name}");
        assert_eq!(
            rows(&store, m, OutboxState::Pending, OUTBOX_KIND_AGENT_WEBHOOK)
                .await
                .len(),
            2
        );
        // Forward only.
        assert!(
            !store
                .advance_order(m, order, OrderStatus::Confirmed, 6)
                .await
                .unwrap()
        );
        assert!(
            !store
                .advance_order(m, order, OrderStatus::Processing, 6)
                .await
                .unwrap()
        );
        assert!(
            store
                .advance_order(m, order, OrderStatus::Shipped, 6)
                .await
                .unwrap()
        );
        assert_eq!(status(&store).await, OrderStatus::Shipped);
        assert_eq!(
            rows(&store, m, OutboxState::Pending, OUTBOX_KIND_AGENT_WEBHOOK)
                .await
                .len(),
            3
        );

        // Disabled: its key is revoked and new orders send it nothing.
        store.disable_agent_platform(m, p.id, 7).await.unwrap();
        assert!(
            store.find_api_key(&key.key_hash).await.unwrap().is_none(),
            "{name}"
        );
        assert!(store.agent_platform_of_key(key.id).await.unwrap().is_none());
        try_complete_order(&store, m, v, 1, &[], Some(agent))
            .await
            .unwrap();
        assert_eq!(
            rows(&store, m, OutboxState::Pending, OUTBOX_KIND_AGENT_WEBHOOK)
                .await
                .len(),
            3,
            "{name}: nothing for a disabled platform"
        );
    }
}

#[tokio::test]
async fn feed_marks_move_once_when_nodes_race() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let (p, _) = platform(&store, m, "feeds").await;
        let product = ProductId::new();
        let change = |previous: Option<&str>, now: &str| FeedChange {
            product_id: product,
            previous: previous.map(String::from),
            fingerprint: now.into(),
        };
        let (a, b) = tokio::join!(
            store.queue_feed_push(m, p.id, vec![change(None, "f1")], 1),
            store.queue_feed_push(m, p.id, vec![change(None, "f1")], 1),
        );
        let queued = a.unwrap().len() + b.unwrap().len();
        assert_eq!(queued, 1, "{name}: one node queues a change");
        // A node that read an old mark loses; one that read the current wins.
        let stale = store
            .queue_feed_push(m, p.id, vec![change(Some("f0"), "f2")], 2)
            .await
            .unwrap();
        assert!(stale.is_empty());
        let moved = store
            .queue_feed_push(m, p.id, vec![change(Some("f1"), "f2")], 2)
            .await
            .unwrap();
        assert_eq!(moved, vec![product]);
        assert_eq!(store.feed_marks(p.id).await.unwrap()[&product], "f2");
        let pushes = rows(&store, m, OutboxState::Pending, "agent.feed").await;
        assert_eq!(pushes.len(), 2, "{name}");
    }
}

pub(crate) fn claim(touchpoint: Touchpoint, publisher: &str) -> AffiliateClaim {
    AffiliateClaim {
        touchpoint,
        provider: "impact.com".into(),
        token: Some(Secret::new("atp_sealed_token")),
        publisher_id: Some(publisher.into()),
        campaign_id: None,
        creative_id: None,
        sub_id: None,
        source_type: Some("url".into()),
        source_url: Some("https://publisher.example/review".into()),
        issued_at: None,
        expires_at: None,
        metadata: serde_json::Map::new(),
    }
}

#[tokio::test]
async fn write_only_records_keep_the_first_claim_and_seal_tokens() {
    for (name, store, _dir) in stores().await {
        let key = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let store = store.with_credentials_key(key);
        let m = merchant(&store).await;
        let session = SessionId::new();
        let trace = |code: &str| IntentTraceRecord {
            reason_code: code.into(),
            trace_summary: Some("too dear".into()),
            metadata: serde_json::Map::new(),
            agent: None,
            created_at_ms: 1,
        };
        assert!(
            store
                .record_intent_trace(m, session, &trace("shipping_cost"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_intent_trace(m, session, &trace("other"))
                .await
                .unwrap()
        );
        let kept = store.intent_trace(m, session).await.unwrap().unwrap();
        assert_eq!(kept.reason_code, "shipping_cost", "{name}");
        assert!(
            store
                .intent_trace(merchant(&store).await, session)
                .await
                .unwrap()
                .is_none()
        );

        let first = claim(Touchpoint::First, "pub_first");
        assert!(
            store
                .record_affiliate_claim(m, session, &first, 1)
                .await
                .unwrap()
        );
        let hijack = claim(Touchpoint::First, "pub_hijack");
        assert!(
            !store
                .record_affiliate_claim(m, session, &hijack, 2)
                .await
                .unwrap()
        );
        let last = claim(Touchpoint::Last, "pub_last");
        assert!(
            store
                .record_affiliate_claim(m, session, &last, 3)
                .await
                .unwrap()
        );
        let claims = store.affiliate_claims(m, session).await.unwrap();
        let publishers: Vec<_> = claims
            .iter()
            .map(|c| c.publisher_id.clone().unwrap())
            .collect();
        assert_eq!(publishers, ["pub_first", "pub_last"], "{name}");
        assert_eq!(
            claims[0].token.as_ref().unwrap().expose(),
            "atp_sealed_token"
        );
    }
}

/// A node keeps the keys it has seen under the merchant's configuration
/// generation: whatever changes what a key read says must move it (migration
/// 0026), and the read returns the generation it saw.
#[tokio::test]
async fn changes_to_a_key_or_its_platform_move_the_generation() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let at = |store: Store| async move { store.config_generation(m).await.unwrap() };
        let before = at(store.clone()).await;
        let (p, key) = platform(&store, m, "Agent").await;
        let registered = at(store.clone()).await;
        assert!(registered > before, "{name}: a platform's registration");
        let live = store.find_live_api_key(&key.key_hash).await.unwrap();
        assert_eq!(
            live.map(|k| (k.agent_platform, k.generation)),
            Some((true, registered)),
            "{name}: the key is read with the generation"
        );

        store.disable_agent_platform(m, p.id, 7).await.unwrap();
        let disabled = at(store.clone()).await;
        assert!(disabled > registered, "{name}: a platform's disabling");

        let own = ApiKeyRecord {
            id: ApiKeyId::new(),
            key_hash: format!("hash-{}", ApiKeyId::new()),
            ..key
        };
        store.add_api_key(&own).await.unwrap();
        assert_eq!(
            at(store.clone()).await,
            disabled,
            "{name}: a new key needs no bump (an unseen key is read)"
        );
        store.revoke_api_key(m, own.id, 8).await.unwrap();
        assert!(
            at(store.clone()).await > disabled,
            "{name}: a key's revocation"
        );
    }
}
