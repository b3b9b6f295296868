//! Conformance: flow and plugin versions.

use std::sync::Arc;

use crate::store::api::Store;

pub async fn flows_and_plugins_keep_every_version(store: Arc<dyn Store>) {
    assert_eq!(
        store.publish_flow("support", "a", "h1", 1).await.unwrap(),
        (1, true)
    );
    assert_eq!(
        store.publish_flow("support", "a", "h1", 2).await.unwrap(),
        (1, false)
    );
    assert_eq!(
        store.publish_flow("support", "b", "h2", 3).await.unwrap(),
        (2, true)
    );
    assert_eq!(
        store.active_flow("support").await.unwrap().unwrap().source,
        "b"
    );
    assert_eq!(
        store
            .activate_flow("support", 1)
            .await
            .unwrap()
            .unwrap()
            .source,
        "a"
    );
    assert!(store.activate_flow("support", 9).await.unwrap().is_none());
    assert_eq!(
        store.active_flow("support").await.unwrap().unwrap().version,
        1
    );
    // Publishing the rolled-back-from source again is a new version, not a silent no-op.
    assert_eq!(
        store.publish_flow("support", "b", "h2", 4).await.unwrap(),
        (3, true)
    );
    let versions: Vec<i64> = store
        .flow_versions("support")
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(
        store
            .flow_version("support", 2)
            .await
            .unwrap()
            .unwrap()
            .source,
        "b"
    );
    store
        .publish_flow("after-hours", "c", "h3", 5)
        .await
        .unwrap();
    let names: Vec<String> = store
        .active_flows()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["after-hours", "support"]);

    assert_eq!(
        store
            .publish_plugin("x", "p1", "adapter", b"one", 1)
            .await
            .unwrap(),
        (1, true)
    );
    assert_eq!(
        store
            .publish_plugin("x", "p1", "adapter", b"one", 2)
            .await
            .unwrap(),
        (1, false)
    );
    assert_eq!(
        store
            .publish_plugin("x", "p2", "adapter", b"two", 3)
            .await
            .unwrap(),
        (2, true)
    );
    store.activate_plugin("x", 1).await.unwrap();
    let active = store.active_plugin("x").await.unwrap().unwrap();
    assert_eq!(
        (active.version, active.bytes.as_slice()),
        (1, b"one".as_slice())
    );
    assert_eq!(
        store.plugin_version("x", 2).await.unwrap().unwrap().hash,
        "p2"
    );
    assert!(store.active_plugin("y").await.unwrap().is_none());
    let listed: Vec<(i64, bool)> = store
        .plugin_versions("x")
        .await
        .unwrap()
        .iter()
        .map(|v| (v.version, v.active))
        .collect();
    assert_eq!(listed, [(1, true), (2, false)]);
    assert!(store.plugin_versions("y").await.unwrap().is_empty());
}

pub async fn schedule_overrides_are_kept(store: Arc<dyn Store>) {
    use crate::model::ScheduleOverride;
    assert!(store.schedule_overrides().await.unwrap().is_empty());
    let value = ScheduleOverride {
        group: "support-hours".into(),
        emergency: Some(true),
        holidays: vec!["2026-12-31".into()],
    };
    store.save_schedule_override(&value, 1).await.unwrap();
    let cleared = ScheduleOverride {
        emergency: None,
        ..value.clone()
    };
    store.save_schedule_override(&cleared, 2).await.unwrap();
    assert_eq!(store.schedule_overrides().await.unwrap(), [cleared]);
}
