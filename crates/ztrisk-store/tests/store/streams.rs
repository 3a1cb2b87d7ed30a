//! SSF streams in the store (spec 4.5): one per SSF integration; their SETs are outbox
//! deliveries, pushed by the worker or handed out by polls, each to one poll at a time.

use crate::{Harness, signal, update};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_store::model::{
    AttemptResult, DeliveryRecord, DeliveryStatus, DeliveryTask, Destination, IntegrationFields,
    IntegrationType, Paging, PollOutcome, PollRequest, StreamDelivery, StreamEvent, StreamFields,
    StreamStatus, Target,
};
use ztrisk_store::prelude::*;
use ztrisk_store::{Store, StoreError};

type R = Result<(), StoreError>;

const LEASE: Duration = Duration::from_secs(30);
const TENANT: &str = "https://receiver.example";
const RISK: &str = ztrisk_types::ssf::CAEP_RISK_LEVEL_CHANGE;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// An account with two custom behaviors, `sig_low` (low) and `sig_high` (high).
async fn account(store: &dyn Store, name: &str) -> Result<AccountId, StoreError> {
    let a = store.create_account(name, &Actor::Cli).await?.id;
    store
        .update_behaviors(
            a,
            update(json!({"behaviors": {
                "sig_low": {"enabled": true, "risk_level": "low"},
                "sig_high": {"enabled": true, "risk_level": "high"}
            }})),
            &Actor::Cli,
        )
        .await?;
    Ok(a)
}

async fn integration(
    store: &dyn Store,
    a: AccountId,
    integration_type: IntegrationType,
) -> Result<Uuid, StoreError> {
    Ok(store
        .create_integration(
            a,
            IntegrationFields {
                integration_type,
                active: true,
                reference_id: String::new(),
                tenant_url: TENANT.into(),
            },
            &Actor::Cli,
        )
        .await?
        .id)
}

fn push() -> StreamFields {
    StreamFields {
        delivery: StreamDelivery::Push {
            endpoint_url: "https://receiver.example/events".into(),
            authorization_header: Some("Bearer r".into()),
        },
        events_requested: vec![RISK.into()],
        description: None,
    }
}

fn poll() -> StreamFields {
    StreamFields {
        delivery: StreamDelivery::Poll,
        ..push()
    }
}

/// An SSF integration of `a` with a stream.
async fn ssf_stream(
    store: &dyn Store,
    a: AccountId,
    fields: StreamFields,
) -> Result<Uuid, StoreError> {
    let id = integration(store, a, IntegrationType::Ssf).await?;
    store.create_stream(a, id, fields, &Actor::Cli).await?;
    Ok(id)
}

async fn deliveries(
    store: &dyn Store,
    a: AccountId,
    id: Uuid,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let page = store
        .deliveries(
            a,
            Destination::Integration(id),
            Paging {
                page: 1,
                per_page: 1000,
            },
        )
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    Ok(page.items)
}

fn stream_updates(records: &[DeliveryRecord]) -> usize {
    records
        .iter()
        .filter(|d| d.cause == StreamEvent::UPDATED)
        .count()
}

fn request(ack: &[&str], max_events: usize) -> PollRequest {
    PollRequest {
        ack: ack.iter().map(|s| (*s).to_owned()).collect(),
        refused: Vec::new(),
        max_events,
        lease: LEASE,
    }
}

async fn served(
    store: &dyn Store,
    a: AccountId,
    id: Uuid,
    request: PollRequest,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<DeliveryTask>, bool), StoreError> {
    match store.poll_stream(a, id, request, at).await? {
        PollOutcome::Served {
            sets,
            more_available,
        } => Ok((sets, more_available)),
        other => panic!("not served: {other:?}"),
    }
}

fn jtis(sets: &[DeliveryTask]) -> Vec<&str> {
    sets.iter().map(|t| t.record.id.as_str()).collect()
}

pub async fn streams_are_created_once_per_ssf_integration(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let other = account(&*store, "b").await?;
    let okta = integration(&*store, a, IntegrationType::Okta).await?;
    let ssf = integration(&*store, a, IntegrationType::Ssf).await?;
    let foreign = integration(&*store, other, IntegrationType::Ssf).await?;
    for not_ssf in [okta, foreign, Uuid::new_v4()] {
        let err = store.create_stream(a, not_ssf, push(), &Actor::Cli).await;
        assert!(
            matches!(err, Err(StoreError::NotFound("integration"))),
            "{err:?}"
        );
    }
    assert!(store.stream(a, ssf).await?.is_none());
    let created = store.create_stream(a, ssf, push(), &Actor::Cli).await?;
    assert_eq!(created.integration_id, ssf);
    assert_eq!(created.account, a);
    assert_eq!(created.status, StreamStatus::Enabled);
    assert_eq!(created.fields, push());
    assert!(Uuid::parse_str(&created.stream_id).is_ok());
    assert_eq!(store.stream(a, ssf).await?, Some(created.clone()));
    assert!(store.stream(other, ssf).await?.is_none());
    let again = store.create_stream(a, ssf, poll(), &Actor::Cli).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    // Update replaces what the receiver configures, nothing else.
    let fields = StreamFields {
        description: Some("mine".into()),
        events_requested: vec!["urn:example:other".into()],
        ..poll()
    };
    let updated = store
        .update_stream(a, ssf, fields.clone(), &Actor::Cli)
        .await?
        .unwrap_or_else(|| panic!("no stream"));
    assert_eq!(updated.fields, fields);
    assert_eq!(updated.stream_id, created.stream_id);
    assert_eq!(updated.status, StreamStatus::Enabled);
    assert!(
        store
            .update_stream(a, okta, push(), &Actor::Cli)
            .await?
            .is_none()
    );
    assert!(
        store
            .update_stream(other, ssf, push(), &Actor::Cli)
            .await?
            .is_none()
    );

    // Removed subjects show on the stream.
    assert!(
        store
            .set_subject_removed(a, ssf, "b@x.io", true, &Actor::Cli)
            .await?
    );
    assert!(
        store
            .set_subject_removed(a, ssf, "a@x.io", true, &Actor::Cli)
            .await?
    );
    assert!(
        store
            .set_subject_removed(a, ssf, "a@x.io", true, &Actor::Cli)
            .await?
    );
    let stream = store
        .stream(a, ssf)
        .await?
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(stream.removed_subjects, ["a@x.io", "b@x.io"]);
    assert!(
        !store
            .set_subject_removed(a, okta, "a@x.io", true, &Actor::Cli)
            .await?
    );

    // Deleted once; then a new one may be created.
    assert!(!store.delete_stream(other, ssf, &Actor::Cli).await?);
    assert!(store.delete_stream(a, ssf, &Actor::Cli).await?);
    assert!(!store.delete_stream(a, ssf, &Actor::Cli).await?);
    assert!(store.stream(a, ssf).await?.is_none());
    let fresh = store.create_stream(a, ssf, push(), &Actor::Cli).await?;
    assert_ne!(fresh.stream_id, created.stream_id);
    assert!(fresh.removed_subjects.is_empty());
    Ok(())
}

pub async fn stream_status_changes_queue_one_event(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let id = ssf_stream(&*store, a, push()).await?;
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_high", None)], &Actor::Cli)
        .await?;
    let records = deliveries(&*store, a, id).await?;
    assert_eq!(records.len(), 1);
    assert_eq!(stream_updates(&records), 0);

    // Same status: nothing queued.
    let same = store
        .set_stream_status(a, id, StreamStatus::Enabled, None, &Actor::Cli)
        .await?
        .unwrap_or_else(|| panic!("no stream"));
    assert_eq!(same.status, StreamStatus::Enabled);
    assert_eq!(stream_updates(&deliveries(&*store, a, id).await?), 0);

    let paused = store
        .set_stream_status(
            a,
            id,
            StreamStatus::Paused,
            Some("maintenance".into()),
            &Actor::Cli,
        )
        .await?
        .unwrap_or_else(|| panic!("no stream"));
    assert_eq!(paused.status, StreamStatus::Paused);
    assert_eq!(paused.reason.as_deref(), Some("maintenance"));
    let records = deliveries(&*store, a, id).await?;
    assert_eq!(stream_updates(&records), 1);
    let update = records
        .iter()
        .find(|d| d.cause == StreamEvent::UPDATED)
        .unwrap_or_else(|| panic!("no update"));
    assert_eq!(update.status, DeliveryStatus::Pending);
    assert_eq!(update.user_id.to_string(), paused.stream_id);
    // Paused again: nothing more.
    store
        .set_stream_status(a, id, StreamStatus::Paused, None, &Actor::Cli)
        .await?;
    assert_eq!(stream_updates(&deliveries(&*store, a, id).await?), 1);

    // Disabling fails the level changes not delivered, not the stream's own events.
    store
        .set_stream_status(a, id, StreamStatus::Disabled, None, &Actor::Cli)
        .await?;
    let records = deliveries(&*store, a, id).await?;
    assert_eq!(stream_updates(&records), 2);
    for d in &records {
        if d.cause == StreamEvent::UPDATED {
            assert_eq!(d.status, DeliveryStatus::Pending, "{d:?}");
        } else {
            assert_eq!(d.status, DeliveryStatus::Failed, "{d:?}");
            assert_eq!(d.last_error.as_deref(), Some("the stream was disabled"));
        }
    }
    // What is pushed of it: the two updates, in order, with their members.
    let mut events = Vec::new();
    for _ in 0..5 {
        for task in store.claim_deliveries(now(), LEASE, 10).await? {
            events.push(task.stream_event.clone());
            store
                .finish_delivery(task.seq, now(), AttemptResult::Delivered, None)
                .await?;
        }
    }
    assert_eq!(
        events,
        [
            Some(StreamEvent::Updated {
                status: StreamStatus::Paused,
                reason: Some("maintenance".into())
            }),
            Some(StreamEvent::Updated {
                status: StreamStatus::Disabled,
                reason: None
            }),
        ]
    );
    assert!(
        store
            .set_stream_status(a, Uuid::new_v4(), StreamStatus::Paused, None, &Actor::Cli)
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn level_changes_reach_streams_that_want_them(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let enabled = ssf_stream(&*store, a, poll()).await?;
    let disabled = ssf_stream(&*store, a, poll()).await?;
    store
        .set_stream_status(a, disabled, StreamStatus::Disabled, None, &Actor::Cli)
        .await?;
    let no_risk = ssf_stream(
        &*store,
        a,
        StreamFields {
            events_requested: vec![ztrisk_types::ssf::SSF_VERIFICATION.into()],
            ..poll()
        },
    )
    .await?;
    let no_stream = integration(&*store, a, IntegrationType::Ssf).await?;
    for email in ["gone@x.io", "back@x.io"] {
        store
            .set_subject_removed(a, enabled, email, true, &Actor::Cli)
            .await?;
    }
    let out = store
        .ingest(
            a,
            vec![
                signal("a@x.io", 0, "sig_high", None),
                signal("gone@x.io", 1, "sig_high", None),
            ],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(out.deliveries_queued, 1);
    let to_enabled = deliveries(&*store, a, enabled).await?;
    assert_eq!(to_enabled.len(), 1);
    assert_eq!(to_enabled[0].email, "a@x.io");
    assert_eq!(to_enabled[0].status, DeliveryStatus::Pending);
    // The disabled stream has its stream-updated event only.
    let to_disabled = deliveries(&*store, a, disabled).await?;
    assert_eq!(to_disabled.len(), 1);
    assert_eq!(stream_updates(&to_disabled), 1);
    assert!(deliveries(&*store, a, no_risk).await?.is_empty());
    assert!(deliveries(&*store, a, no_stream).await?.is_empty());

    // Added back, the subject's changes come again.
    store
        .set_subject_removed(a, enabled, "back@x.io", false, &Actor::Cli)
        .await?;
    store
        .ingest(
            a,
            vec![signal("back@x.io", 2, "sig_low", None)],
            &Actor::Cli,
        )
        .await?;
    let to_enabled = deliveries(&*store, a, enabled).await?;
    assert_eq!(to_enabled.len(), 2);
    assert!(to_enabled.iter().any(|d| d.email == "back@x.io"));
    Ok(())
}

pub async fn polls_hand_out_each_set_until_acknowledged(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let id = ssf_stream(&*store, a, poll()).await?;
    let stream_id = store
        .stream(a, id)
        .await?
        .unwrap_or_else(|| panic!("no stream"))
        .stream_id;
    // a: low, then high (two rows: the older is superseded when the newer is handed out).
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_low", None)], &Actor::Cli)
        .await?;
    store
        .ingest(
            a,
            vec![
                signal("a@x.io", 1, "sig_high", None),
                signal("b@x.io", 2, "sig_low", None),
            ],
            &Actor::Cli,
        )
        .await?;
    assert!(
        store
            .queue_stream_event(
                a,
                id,
                StreamEvent::Verification {
                    state: Some("s1".into())
                },
                &Actor::Cli
            )
            .await?
    );
    assert_eq!(store.stream_backlog(a, id).await?.pending, 4);

    let t0 = now();
    let (first, more) = served(&*store, a, id, request(&[], 2), t0).await?;
    assert_eq!(first.len(), 2);
    assert!(more);
    let (second, more) = served(&*store, a, id, request(&[], 10), t0).await?;
    assert_eq!(second.len(), 1);
    assert!(!more);
    let all: Vec<&DeliveryTask> = first.iter().chain(&second).collect();
    for task in &all {
        assert!(
            matches!(&task.target, Target::SsfPoll { integration_id, audience, stream_id: s }
                if *integration_id == id && audience == TENANT && *s == stream_id),
            "{:?}",
            task.target
        );
        // As it was before this hand-out (as the push worker gets it).
        assert_eq!(task.record.attempts, 0);
        assert_eq!(task.payload, None);
    }
    let records = deliveries(&*store, a, id).await?;
    for task in &all {
        let stored = records.iter().find(|d| d.id == task.record.id);
        assert_eq!(stored.map(|d| d.attempts), Some(1));
        assert!(stored.is_some_and(|d| d.last_attempt_at.is_some()));
    }
    let a_set = all
        .iter()
        .find(|t| t.record.email == "a@x.io")
        .unwrap_or_else(|| panic!("no a"));
    assert_eq!(a_set.record.cause, "sig_high");
    assert_eq!(a_set.stream_event, None);
    let verification = all
        .iter()
        .find(|t| t.stream_event.is_some())
        .unwrap_or_else(|| panic!("no verification"));
    assert_eq!(
        verification.stream_event,
        Some(StreamEvent::Verification {
            state: Some("s1".into())
        })
    );
    let records = deliveries(&*store, a, id).await?;
    let superseded: Vec<_> = records
        .iter()
        .filter(|d| d.status == DeliveryStatus::Superseded)
        .collect();
    assert_eq!(superseded.len(), 1);
    assert_eq!(superseded[0].cause, "sig_low");
    assert_eq!(superseded[0].email, "a@x.io");

    // Within the lease, nothing more.
    let (none, more) = served(&*store, a, id, request(&[], 10), t0).await?;
    assert!(none.is_empty() && !more);

    // An unknown jti changes nothing, even beside a known one.
    let a_jti = a_set.record.id.clone();
    let unknown = store
        .poll_stream(a, id, request(&[&a_jti, "f00"], 10), t0)
        .await?;
    assert_eq!(unknown, PollOutcome::UnknownJti("f00".into()));
    let refused = PollRequest {
        refused: vec![("f01".into(), "bad".into())],
        ..request(&[], 10)
    };
    assert_eq!(
        store.poll_stream(a, id, refused, t0).await?,
        PollOutcome::UnknownJti("f01".into())
    );
    // A SET of another stream is unknown here too.
    let elsewhere = ssf_stream(&*store, a, poll()).await?;
    assert_eq!(
        store
            .poll_stream(a, elsewhere, request(&[&a_jti], 0), t0)
            .await?,
        PollOutcome::UnknownJti(a_jti.clone())
    );
    let records = deliveries(&*store, a, id).await?;
    assert!(
        records
            .iter()
            .any(|d| d.id == a_jti && d.status == DeliveryStatus::Pending)
    );

    // The bytes signed for a SET are kept for its next hand-out.
    store
        .keep_payloads(vec![(a_set.seq, b"set-a".to_vec())])
        .await?;
    store
        .keep_payloads(vec![(a_set.seq, b"other".to_vec())])
        .await?;

    // Acknowledged (or refused) SETs never come back; the others do after the lease.
    let v_jti = verification.record.id.clone();
    let b_jti = all
        .iter()
        .find(|t| t.record.email == "b@x.io")
        .map(|t| t.record.id.clone())
        .unwrap_or_else(|| panic!("no b"));
    let answer = PollRequest {
        refused: vec![(b_jti.clone(), "invalid_audience".into())],
        ..request(&[&v_jti], 0)
    };
    let (none, more) = served(&*store, a, id, answer, t0).await?;
    assert!(none.is_empty() && !more);
    let records = deliveries(&*store, a, id).await?;
    let status = |jti: &str| {
        records
            .iter()
            .find(|d| d.id == jti)
            .map(|d| (d.status, d.last_error.clone()))
    };
    assert_eq!(status(&v_jti), Some((DeliveryStatus::Delivered, None)));
    assert_eq!(
        status(&b_jti),
        Some((DeliveryStatus::Failed, Some("invalid_audience".into())))
    );
    let later = t0 + chrono::Duration::seconds(60);
    let (again, _) = served(&*store, a, id, request(&[], 10), later).await?;
    assert_eq!(jtis(&again), [a_jti.as_str()]);
    assert_eq!(again[0].payload.as_deref(), Some(&b"set-a"[..]));
    assert_eq!(again[0].record.attempts, 1);
    // Acknowledging it; acknowledging again, or a superseded one, is known and harmless.
    let (none, _) = served(&*store, a, id, request(&[&a_jti], 10), later).await?;
    assert!(none.is_empty());
    let superseded_jti = superseded[0].id.clone();
    let (none, _) = served(
        &*store,
        a,
        id,
        request(&[&a_jti, &v_jti, &superseded_jti], 10),
        later + chrono::Duration::seconds(60),
    )
    .await?;
    assert!(none.is_empty());
    assert_eq!(store.stream_backlog(a, id).await?.pending, 0);
    assert_eq!(
        store
            .poll_stream(
                a,
                integration(&*store, a, IntegrationType::Ssf).await?,
                request(&[], 1),
                t0
            )
            .await?,
        PollOutcome::NoStream
    );
    Ok(())
}

pub async fn paused_streams_hold_level_changes(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let id = ssf_stream(&*store, a, poll()).await?;
    store
        .set_stream_status(a, id, StreamStatus::Paused, None, &Actor::Cli)
        .await?;
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_high", None)], &Actor::Cli)
        .await?;
    let t0 = now();
    let (sets, more) = served(&*store, a, id, request(&[], 10), t0).await?;
    assert!(!more);
    let events: Vec<_> = sets.iter().map(|t| t.stream_event.clone()).collect();
    assert_eq!(
        events,
        [Some(StreamEvent::Updated {
            status: StreamStatus::Paused,
            reason: None
        })]
    );
    let paused_jti = sets[0].record.id.clone();
    store
        .set_stream_status(a, id, StreamStatus::Enabled, None, &Actor::Cli)
        .await?;
    let (sets, _) = served(&*store, a, id, request(&[&paused_jti], 10), t0).await?;
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].record.email, "a@x.io");
    assert_eq!(sets[0].stream_event, None);
    assert_eq!(
        sets[1].stream_event,
        Some(StreamEvent::Updated {
            status: StreamStatus::Enabled,
            reason: None
        })
    );
    Ok(())
}

pub async fn push_streams_are_claimed_poll_streams_are_not(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store, "a").await?;
    let pushed = ssf_stream(&*store, a, push()).await?;
    let polled = ssf_stream(&*store, a, poll()).await?;
    let stream_id = store
        .stream(a, pushed)
        .await?
        .unwrap_or_else(|| panic!("no stream"))
        .stream_id;
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_high", None)], &Actor::Cli)
        .await?;
    assert_eq!(deliveries(&*store, a, polled).await?.len(), 1);
    assert!(store.next_delivery_due().await?.is_some());
    let claimed = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(claimed.len(), 1);
    let task = &claimed[0];
    assert_eq!(task.record.destination, Destination::Integration(pushed));
    assert_eq!(task.stream_event, None);
    assert!(
        matches!(
            &task.target,
            Target::SsfPush { integration_id, audience, stream_id: s, endpoint_url, authorization_header }
                if *integration_id == pushed && audience == TENANT && *s == stream_id
                    && endpoint_url == "https://receiver.example/events"
                    && authorization_header.as_deref() == Some("Bearer r")
        ),
        "{:?}",
        task.target
    );
    // The poll stream's row is not due for the worker.
    assert_eq!(store.next_delivery_due().await?, None);
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());

    // Paused: its own events go out, level changes wait (and are not due).
    store
        .set_stream_status(a, pushed, StreamStatus::Paused, None, &Actor::Cli)
        .await?;
    store
        .ingest(a, vec![signal("b@x.io", 1, "sig_high", None)], &Actor::Cli)
        .await?;
    assert!(store.next_delivery_due().await?.is_some());
    let claimed = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed[0].stream_event,
        Some(StreamEvent::Updated {
            status: StreamStatus::Paused,
            reason: None
        })
    );
    assert_eq!(store.next_delivery_due().await?, None);
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());
    store
        .finish_delivery(claimed[0].seq, now(), AttemptResult::Delivered, None)
        .await?;
    store
        .set_stream_status(a, pushed, StreamStatus::Enabled, None, &Actor::Cli)
        .await?;
    let claimed = store.claim_deliveries(now(), LEASE, 10).await?;
    let emails: Vec<_> = claimed.iter().map(|t| t.record.email.as_str()).collect();
    assert_eq!(emails, ["b@x.io", ""]);
    Ok(())
}

pub async fn replicas_poll_each_set_once(h: &Harness) -> R {
    let one = h.open().await;
    let two = h.open().await;
    let a = account(&*one, "a").await?;
    let id = ssf_stream(&*one, a, poll()).await?;
    let events = (0..50)
        .map(|i| signal(&format!("u{i}@x.io"), i, "sig_low", None))
        .collect();
    assert_eq!(
        one.ingest(a, events, &Actor::Cli).await?.deliveries_queued,
        50
    );
    for i in 0..10 {
        one.queue_stream_event(
            a,
            id,
            StreamEvent::Verification {
                state: Some(i.to_string()),
            },
            &Actor::Cli,
        )
        .await?;
    }
    let t0 = now();
    let poll = |store: std::sync::Arc<dyn Store>| async move {
        let mut ids = Vec::new();
        for _ in 0..30 {
            let (sets, _) = served(&*store, a, id, request(&[], 3), t0).await?;
            ids.extend(sets.into_iter().map(|t| t.record.id));
        }
        Ok::<_, StoreError>(ids)
    };
    let (from_one, from_two) = tokio::try_join!(poll(one.clone()), poll(two.clone()))?;
    let all: Vec<String> = from_one.into_iter().chain(from_two).collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a SET was handed out twice");
    assert_eq!(all.len(), 60);
    Ok(())
}
