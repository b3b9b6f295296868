//! What one plugin may do, decided by the admin: the limits its calls run under (`[plugins]`,
//! overridden by its `[[plugin]]` grant), the hosts its `http` import may reach, and the check,
//! at load, that its manifest asks for no more than that.
//!
//! Every world goes through here when it loads, so a grant means the same for an adapter and a
//! flow plugin; the capabilities in `host/` only apply what was resolved here.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use super::error::PluginError;
use super::manifest::{Granted, Manifest};
use crate::config::PluginGrant;

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The wall time one call may take before it is interrupted.
    pub deadline: Duration,
    /// The most linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// The most one adapter call may return.
    pub max_output_bytes: usize,
}

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

/// One entry of a grant's `http_hosts`: a host and, optionally, the only port allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostRule {
    host: String,
    port: Option<u16>,
}

impl HostRule {
    pub(crate) fn parse(entry: &str) -> Result<HostRule, String> {
        let entry = entry.trim();
        let url = Url::parse(&format!("http://{entry}/"))
            .map_err(|e| format!("`{entry}` is not a host or host:port: {e}"))?;
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(format!("`{entry}` is not a host or host:port"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{entry}` has no host"))?
            .to_string();
        // `Url` hides a port equal to the scheme's default, so read an explicit one ourselves.
        let port = match entry.rsplit_once(':') {
            Some((before, digits))
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (before.ends_with(']') || !before.contains(':')) =>
            {
                Some(
                    digits
                        .parse::<u16>()
                        .map_err(|_| format!("`{entry}` has an invalid port"))?,
                )
            }
            _ => None,
        };
        Ok(HostRule { host, port })
    }

    /// Whether this grant covers everything `asked` asks for (a rule without a port covers
    /// every port; one with a port covers only that port).
    pub(crate) fn covers(&self, asked: &HostRule) -> bool {
        self.host == asked.host && (self.port.is_none() || self.port == asked.port)
    }

    /// Whether a request to `host:port` is allowed by this rule.
    pub(crate) fn allows(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

/// Checks one `http_hosts` entry of a grant: a host or `host:port`, no scheme, path or wildcard.
pub fn check_http_host(entry: &str) -> Result<(), String> {
    let bad = entry.is_empty()
        || entry.contains("://")
        || entry.contains('/')
        || entry.contains('*')
        || entry.chars().any(char::is_whitespace);
    if bad {
        return Err(format!(
            "`{entry}` must be a host or host:port (no scheme, path or wildcard)"
        ));
    }
    HostRule::parse(entry).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(entries: &[&str]) -> Vec<HostRule> {
        entries
            .iter()
            .map(|e| HostRule::parse(e).unwrap())
            .collect()
    }

    #[test]
    fn rules_match_host_and_optional_port() {
        let r = rules(&[
            "api.example.com",
            "127.0.0.1:9000",
            "[::1]:80",
            "Example.ORG:443",
        ]);
        let ok = |h: &str, p: u16| r.iter().any(|x| x.allows(h, p));
        assert!(ok("api.example.com", 443));
        assert!(ok("api.example.com", 8080));
        assert!(ok("127.0.0.1", 9000));
        assert!(!ok("127.0.0.1", 9001));
        assert!(ok("[::1]", 80));
        assert!(ok("example.org", 443));
        assert!(!ok("example.org", 80));
        assert!(!ok("sub.api.example.com", 443));
        assert!(HostRule::parse("a.com/path").is_err());
    }

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
