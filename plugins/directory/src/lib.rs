//! A customer directory (`switchboard:flow/data-action`) kept in the plugin's key-value store.
//!
//! - `lookup-customer` {handle} → {found: "true"/"false", name, tier, customer_id} (empty
//!   strings when not found).
//! - `upsert-customer` {handle, name?, tier?, customer_id?} → {handle, created: "true"/"false"}:
//!   creates the entry or updates the fields given.
//!
//! Entries live under kv key `customer/<handle>` as JSON `{"name", "tier", "customer_id"}`; an
//! admin can seed them through the host. Handles are compared without a leading `@` and case.

use serde::{Deserialize, Serialize};
use switchboard_sdk::flow::{
    ActionError, ActionInfo, DataAction, Fields, field, kv, require_field,
};

/// A directory entry, as stored.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub customer_id: String,
}

/// The longest handle kept: platform handles are far shorter.
const MAX_HANDLE_BYTES: usize = 256;

/// `@Alice ` → `alice`.
pub fn normalize_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

fn key(handle: &str) -> String {
    format!("customer/{handle}")
}

fn load(handle: &str) -> Result<Option<Customer>, ActionError> {
    match kv::get(&key(handle)) {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            ActionError::Failed(format!("the entry of `{handle}` is not valid JSON: {e}"))
        }),
    }
}

fn handle_of(input: &[(String, String)]) -> Result<String, ActionError> {
    let handle = normalize_handle(&require_field(input, "handle")?);
    if handle.is_empty() {
        return Err(ActionError::InvalidInput("input `handle` is empty".into()));
    }
    // The handle is part of a kv key, which the host caps at 1 KiB (a longer key traps).
    if handle.len() > MAX_HANDLE_BYTES {
        return Err(ActionError::InvalidInput(format!(
            "input `handle` is longer than {MAX_HANDLE_BYTES} bytes"
        )));
    }
    Ok(handle)
}

pub fn lookup_customer(input: &[(String, String)]) -> Result<Fields, ActionError> {
    let handle = handle_of(input)?;
    let (found, c) = match load(&handle)? {
        Some(c) => ("true", c),
        None => ("false", Customer::default()),
    };
    Ok(vec![
        ("found".into(), found.into()),
        ("name".into(), c.name),
        ("tier".into(), c.tier),
        ("customer_id".into(), c.customer_id),
    ])
}

pub fn upsert_customer(input: &[(String, String)]) -> Result<Fields, ActionError> {
    let handle = handle_of(input)?;
    let existing = load(&handle)?;
    let created = existing.is_none();
    let mut c = existing.unwrap_or_default();
    if let Some(v) = field(input, "name") {
        c.name = v.trim().to_string();
    }
    if let Some(v) = field(input, "tier") {
        c.tier = v.trim().to_string();
    }
    if let Some(v) = field(input, "customer_id") {
        c.customer_id = v.trim().to_string();
    }
    kv::set_json(&key(&handle), &c);
    Ok(vec![
        ("handle".into(), handle),
        ("created".into(), created.to_string()),
    ])
}

fn info(name: &str, inputs: &[&str], outputs: &[&str]) -> ActionInfo {
    ActionInfo {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
    }
}

struct Directory;

impl DataAction for Directory {
    fn describe() -> Vec<ActionInfo> {
        vec![
            info(
                "lookup-customer",
                &["handle"],
                &["found", "name", "tier", "customer_id"],
            ),
            info(
                "upsert-customer",
                &["handle", "name", "tier", "customer_id"],
                &["handle", "created"],
            ),
        ]
    }

    fn call(action: String, input: Fields) -> Result<Fields, ActionError> {
        match action.as_str() {
            "lookup-customer" => lookup_customer(&input),
            "upsert-customer" => upsert_customer(&input),
            other => Err(ActionError::NotFound(other.to_string())),
        }
    }
}

switchboard_sdk::export_data_action!(Directory);

// What the data action asks the host for: its data lives in the host's key-value store.
switchboard_sdk::manifest!("memory_mib = 16\n");

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn get<'a>(f: &'a Fields, name: &str) -> &'a str {
        field(f, name).unwrap_or_else(|| panic!("no field {name} in {f:?}"))
    }

    #[test]
    fn lookup_reads_seeded_entries() {
        kv::set(
            "customer/alice",
            r#"{"name":"Alice A.","tier":"gold","customer_id":"C-1"}"#,
        );
        let out = lookup_customer(&fields(&[("handle", "@Alice")])).unwrap();
        assert_eq!(get(&out, "found"), "true");
        assert_eq!(get(&out, "name"), "Alice A.");
        assert_eq!(get(&out, "tier"), "gold");
        assert_eq!(get(&out, "customer_id"), "C-1");
        let out = lookup_customer(&fields(&[("handle", "bob")])).unwrap();
        assert_eq!(get(&out, "found"), "false");
        assert_eq!(get(&out, "name"), "");
    }

    #[test]
    fn upsert_creates_then_updates_given_fields() {
        let out = upsert_customer(&fields(&[
            ("handle", "Carol"),
            ("name", "Carol C."),
            ("tier", "silver"),
        ]))
        .unwrap();
        assert_eq!(get(&out, "created"), "true");
        assert_eq!(get(&out, "handle"), "carol");
        let out = upsert_customer(&fields(&[("handle", "@carol"), ("tier", "gold")])).unwrap();
        assert_eq!(get(&out, "created"), "false");
        let c: Customer = kv::get_json("customer/carol").unwrap();
        assert_eq!(c.name, "Carol C.");
        assert_eq!(c.tier, "gold");
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(
            lookup_customer(&fields(&[])),
            Err(ActionError::InvalidInput(_))
        ));
        assert!(matches!(
            lookup_customer(&fields(&[("handle", "@")])),
            Err(ActionError::InvalidInput(_))
        ));
        // A handle too long for a kv key is refused, not a trap in the host's kv.
        let long = "a".repeat(MAX_HANDLE_BYTES + 1);
        assert!(matches!(
            upsert_customer(&fields(&[("handle", long.as_str())])),
            Err(ActionError::InvalidInput(_))
        ));
        kv::set("customer/broken", "{not json");
        assert!(matches!(
            lookup_customer(&fields(&[("handle", "broken")])),
            Err(ActionError::Failed(_))
        ));
        assert!(matches!(
            Directory::call("nope".into(), vec![]),
            Err(ActionError::NotFound(n)) if n == "nope"
        ));
    }
}
