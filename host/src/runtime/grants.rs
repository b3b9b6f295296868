//! What one plugin may do, decided by the admin: the limits its calls run under (`[plugins]`,
//! overridden by its `[[plugin]]` grant), the hosts its `http` import may reach (written as the
//! configuration's `http_hosts`, `config/grants.rs`), and the check, at load, that its manifest
//! asks for no more than that.
//!
//! Every world goes through here when it loads, so a grant means the same for an adapter and a
//! flow plugin; the capabilities in `host/` only apply what was resolved here.

use std::sync::Arc;
use std::time::Duration;

use super::error::PluginError;
use super::limits::Limits;
use super::manifest::{Granted, Manifest};
use crate::config::{HostRule, PluginGrant, check_http_host};

/// The limits a plugin's calls run under: `base` (`[plugins]`), overridden by its grant. A
/// grant may lower the memory but not raise it past `base`, which sizes the engine's pool.
pub(crate) fn limits(base: Limits, name: &str, grant: &PluginGrant) -> Result<Limits, PluginError> {
    let memory_bytes = match grant.memory_mib {
        None => base.memory_bytes,
        Some(mib) => {
            let bytes = (mib as usize).saturating_mul(1024 * 1024);
            if bytes == 0 || bytes > base.memory_bytes {
                return Err(PluginError::load(
                    name,
                    format!(
                        "its grant asks for {mib} MiB of memory; allowed: 1 to {} MiB",
                        base.memory_bytes / (1024 * 1024)
                    ),
                ));
            }
            bytes
        }
    };
    let deadline = match grant.deadline_ms {
        None => base.deadline,
        Some(0) => {
            return Err(PluginError::load(name, "its grant has a deadline of 0 ms"));
        }
        Some(ms) => Duration::from_millis(ms),
    };
    Ok(Limits {
        deadline,
        memory_bytes,
        max_output_bytes: grant.max_output_bytes.unwrap_or(base.max_output_bytes),
    })
}

/// Refuses a plugin whose manifest asks for more than it is granted, saying what to change.
/// `http_hosts` is `None` for a world without the `http` import (channel adapters).
pub(crate) fn check_manifest(
    name: &str,
    manifest: Option<&Manifest>,
    limits: Limits,
    http_hosts: Option<&[String]>,
) -> Result<(), PluginError> {
    let Some(manifest) = manifest else {
        return Ok(());
    };
    let where_granted = match http_hosts {
        // An adapter's limits may come from `[plugins]` alone; hosts only from `[[plugin]]`.
        None => format!(
            "the [[plugin]] entry with name = \"{name}\" (or the [plugins] table) of \
             switchboard.toml"
        ),
        Some(_) => format!("the [[plugin]] entry with name = \"{name}\""),
    };
    let granted = Granted {
        http_hosts,
        limits,
        where_granted: &where_granted,
    };
    manifest
        .check(&granted)
        .map_err(|m| PluginError::load(name, m))
}

/// The grant's `http_hosts`, checked and parsed for the `http` capability.
pub(crate) fn http_rules(name: &str, grant: &PluginGrant) -> Result<Arc<[HostRule]>, PluginError> {
    grant
        .http_hosts
        .iter()
        .map(|h| check_http_host(h).and_then(|()| HostRule::parse(h)))
        .collect::<Result<Vec<_>, _>>()
        .map(Arc::from)
        .map_err(|m| PluginError::load(name, format!("invalid grant: {m}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Limits {
        Limits {
            deadline: Duration::from_millis(1000),
            memory_bytes: 64 << 20,
            max_output_bytes: 4 << 20,
        }
    }

    #[test]
    fn a_grant_overrides_the_base_limits_within_the_pool() {
        let grant = PluginGrant {
            memory_mib: Some(16),
            deadline_ms: Some(250),
            max_output_bytes: Some(1 << 20),
            ..PluginGrant::none("p")
        };
        let limits = limits(base(), "p", &grant).unwrap();
        assert_eq!(limits.memory_bytes, 16 << 20);
        assert_eq!(limits.deadline, Duration::from_millis(250));
        assert_eq!(limits.max_output_bytes, 1 << 20);

        let greedy = PluginGrant {
            memory_mib: Some(128),
            ..PluginGrant::none("p")
        };
        let error = super::limits(base(), "p", &greedy).unwrap_err().to_string();
        assert!(
            error.contains("128 MiB of memory; allowed: 1 to 64 MiB"),
            "{error}"
        );
        let stuck = PluginGrant {
            deadline_ms: Some(0),
            ..PluginGrant::none("p")
        };
        assert!(super::limits(base(), "p", &stuck).is_err());
    }

    #[test]
    fn bad_http_grants_are_refused() {
        let grant = PluginGrant {
            http_hosts: vec!["https://api.example.com".into()],
            ..PluginGrant::none("p")
        };
        let error = http_rules("p", &grant).unwrap_err().to_string();
        assert!(error.contains("invalid grant"), "{error}");
        let grant = PluginGrant {
            http_hosts: vec!["api.example.com".into(), "127.0.0.1:9000".into()],
            ..PluginGrant::none("p")
        };
        assert_eq!(http_rules("p", &grant).unwrap().len(), 2);
    }
}
