//! A plugin's manifest: what it asks the host for, carried inside the component as the custom
//! section `switchboard-manifest` (TOML). The admin's configuration grants; a plugin that asks
//! for more than it is granted is refused at load with what to change, so a partner learns at
//! publish time, not from a denied call in production.
//!
//! A component without a manifest asks for nothing beyond the defaults and gets what the
//! configuration grants. Rust plugins write one with `switchboard_sdk::manifest!`.

use serde::{Deserialize, Serialize};

use super::limits::Limits;
use crate::config::HostRule;

/// The custom section that holds the manifest, in the component or in one of its core modules.
pub const SECTION: &str = "switchboard-manifest";

/// What a plugin asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Hosts its `http` import must reach (`host` or `host:port`); flow plugins only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_hosts: Vec<String>,
    /// The linear memory it needs, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// The time one call needs, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// The largest answer one call returns, in bytes (adapters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<usize>,
}

/// What the configuration grants one plugin.
pub struct Granted<'a> {
    /// `None` for a channel adapter, which has no `http` import.
    pub http_hosts: Option<&'a [String]>,
    pub limits: Limits,
    /// Where the admin changes the grant, for the error message.
    pub where_granted: &'a str,
}

/// Reads the manifest from a component's bytes: `Ok(None)` when it has none.
pub fn read(bytes: &[u8]) -> Result<Option<Manifest>, String> {
    let mut found = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        // A malformed component is reported by compilation, with a better message.
        let Ok(payload) = payload else {
            return Ok(None);
        };
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == SECTION
        {
            if found.is_some() {
                return Err(format!("it has more than one `{SECTION}` section"));
            }
            let text = std::str::from_utf8(section.data())
                .map_err(|_| format!("its `{SECTION}` section is not UTF-8"))?;
            let manifest: Manifest = toml::from_str(text)
                .map_err(|e| format!("its manifest (`{SECTION}` section) is invalid: {e}"))?;
            found = Some(manifest);
        }
    }
    Ok(found)
}

impl Manifest {
    /// Every way this manifest asks for more than `granted`, or `Ok` when the grant covers it.
    pub fn check(&self, granted: &Granted<'_>) -> Result<(), String> {
        let mut problems = Vec::new();
        let where_granted = granted.where_granted;
        match granted.http_hosts {
            None if !self.http_hosts.is_empty() => problems.push(format!(
                "it asks for HTTP access to {}, but a channel adapter has no `http` import \
                 (the host performs the requests it encodes)",
                self.http_hosts.join(", ")
            )),
            None => {}
            Some(grants) => {
                let rules: Vec<HostRule> = grants
                    .iter()
                    .filter_map(|g| HostRule::parse(g).ok())
                    .collect();
                for asked in &self.http_hosts {
                    match HostRule::parse(asked) {
                        Err(e) => problems.push(format!("its manifest's http_hosts: {e}")),
                        Ok(rule) if !rules.iter().any(|g| g.covers(&rule)) => {
                            problems.push(format!(
                                "it asks for HTTP access to `{asked}`, which is not granted: add \
                                 it to `http_hosts` in {where_granted}"
                            ))
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
        let limits = granted.limits;
        let granted_mib = (limits.memory_bytes / (1024 * 1024)) as u64;
        if let Some(mib) = self.memory_mib
            && mib > granted_mib
        {
            problems.push(format!(
                "it asks for {mib} MiB of memory; {granted_mib} MiB is granted (`memory_mib` in \
                 {where_granted})"
            ));
        }
        let granted_ms = limits.deadline.as_millis() as u64;
        if let Some(ms) = self.deadline_ms
            && ms > granted_ms
        {
            problems.push(format!(
                "it asks for a {ms} ms call deadline; {granted_ms} ms is granted (`deadline_ms` \
                 in {where_granted})"
            ));
        }
        if let Some(bytes) = self.max_output_bytes
            && bytes > limits.max_output_bytes
        {
            problems.push(format!(
                "it asks to return up to {bytes} bytes per call; {} bytes are granted \
                 (`max_output_bytes` in {where_granted})",
                limits.max_output_bytes
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "it asks for more than it is granted: {}",
                problems.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> Limits {
        Limits {
            deadline: Duration::from_millis(1000),
            memory_bytes: 64 << 20,
            max_output_bytes: 4 << 20,
        }
    }

    #[test]
    fn a_manifest_within_its_grant_passes() {
        let manifest: Manifest =
            toml::from_str("http_hosts = [\"api.example.com:8443\"]\nmemory_mib = 16\n").unwrap();
        let grants = vec!["api.example.com".to_string()];
        let granted = Granted {
            http_hosts: Some(&grants),
            limits: limits(),
            where_granted: "[[plugin]] name = \"lookup\"",
        };
        assert_eq!(manifest.check(&granted), Ok(()));
    }

    #[test]
    fn every_over_ask_is_named() {
        let manifest: Manifest = toml::from_str(
            "http_hosts = [\"api.example.com\", \"crm.example.com\"]\nmemory_mib = 128\n\
             deadline_ms = 5000\n",
        )
        .unwrap();
        // A grant of one port does not cover a plugin that asks for any port.
        let grants = vec!["api.example.com:443".to_string()];
        let granted = Granted {
            http_hosts: Some(&grants),
            limits: limits(),
            where_granted: "[[plugin]] name = \"lookup\"",
        };
        let error = manifest.check(&granted).unwrap_err();
        assert!(
            error.contains("`api.example.com`, which is not granted"),
            "{error}"
        );
        assert!(
            error.contains("`crm.example.com`, which is not granted"),
            "{error}"
        );
        assert!(
            error.contains("128 MiB of memory; 64 MiB is granted"),
            "{error}"
        );
        assert!(
            error.contains("5000 ms call deadline; 1000 ms is granted"),
            "{error}"
        );
    }

    #[test]
    fn an_adapter_cannot_ask_for_http() {
        let manifest = Manifest {
            http_hosts: vec!["api.example.com".into()],
            ..Manifest::default()
        };
        let granted = Granted {
            http_hosts: None,
            limits: limits(),
            where_granted: "[plugins]",
        };
        assert!(
            manifest
                .check(&granted)
                .unwrap_err()
                .contains("a channel adapter has no `http` import")
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = toml::from_str::<Manifest>("sockets = true\n").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `sockets`"),
            "{error}"
        );
    }
}
