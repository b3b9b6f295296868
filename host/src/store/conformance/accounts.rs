//! Conformance: agents and supervisors added through the admin API.

use std::sync::Arc;

use crate::store::StoredAccount;
use crate::store::api::Store;

fn account(id: &str, role: &str, profile: &str, hash: &str, at: i64) -> StoredAccount {
    StoredAccount {
        id: id.into(),
        role: role.into(),
        profile: profile.into(),
        token_hash: hash.into(),
        updated_at: at,
    }
}

pub async fn accounts_are_saved_replaced_and_deleted(store: Arc<dyn Store>) {
    assert!(store.accounts().await.unwrap().is_empty());
    let bob = account(
        "bob",
        "agent",
        r#"{"queues":["support"]}"#,
        "$argon2id$h1",
        1,
    );
    let sue = account("sue", "supervisor", r#"{"queues":[]}"#, "$argon2id$h2", 2);
    store.save_account(&sue).await.unwrap();
    store.save_account(&bob).await.unwrap();
    assert_eq!(
        store.accounts().await.unwrap(),
        vec![bob.clone(), sue.clone()]
    );

    // Replaced whole: new queues, new hash, even a new role.
    let bob2 = account(
        "bob",
        "supervisor",
        r#"{"queues":["billing"]}"#,
        "$argon2id$h3",
        3,
    );
    store.save_account(&bob2).await.unwrap();
    assert_eq!(store.accounts().await.unwrap(), vec![bob2, sue.clone()]);

    assert!(store.delete_account("bob").await.unwrap());
    assert!(!store.delete_account("bob").await.unwrap());
    assert_eq!(store.accounts().await.unwrap(), vec![sue]);
}

pub async fn a_stream_ticket_opens_one_stream_before_it_expires(store: Arc<dyn Store>) {
    use crate::store::StreamTicket;
    let ticket = |sha: &str, expires_at: i64| StreamTicket {
        sha256: sha.into(),
        role: "agent".into(),
        member: "bob".into(),
        expires_at,
    };
    store
        .issue_ticket(&ticket("t1", 1_060), 1_000)
        .await
        .unwrap();
    store
        .issue_ticket(&ticket("t2", 1_060), 1_000)
        .await
        .unwrap();
    assert_eq!(
        store.redeem_ticket("t1", 1_010).await.unwrap(),
        Some(ticket("t1", 1_060))
    );
    // Single use.
    assert_eq!(store.redeem_ticket("t1", 1_011).await.unwrap(), None);
    assert_eq!(store.redeem_ticket("unknown", 1_011).await.unwrap(), None);
    // Expired.
    assert_eq!(store.redeem_ticket("t2", 1_060).await.unwrap(), None);
    // Issuing forgets expired tickets (t3 expired before it could be used).
    store
        .issue_ticket(&ticket("t3", 1_100), 1_050)
        .await
        .unwrap();
    store
        .issue_ticket(&ticket("t4", 2_200), 2_000)
        .await
        .unwrap();
    assert_eq!(store.redeem_ticket("t3", 1_090).await.unwrap(), None);
    assert!(store.redeem_ticket("t4", 2_100).await.unwrap().is_some());
}
