//! What the admin grants one plugin (`[[plugin]]`), and the syntax of its `http_hosts`: a host
//! or `host:port`, nothing more. The configuration checks the entries when it is read; the
//! runtime parses them into [`HostRule`]s when it loads the plugin, and a plugin's manifest is
//! read with the same rules, so a grant means the same wherever it is checked.

use reqwest::Url;
use serde::Deserialize;

/// What one flow plugin is granted (`[[plugin]]`). The default grants nothing: no outbound
/// HTTP, and the `[plugins]` deadline and memory limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginGrant {
    /// The plugin's name (its component's file stem).
    pub name: String,
    /// Hosts the plugin may reach through its `http` import: `host` (any port) or `host:port`.
    /// Loopback hosts (`127.0.0.1`, `localhost`, `[::1]`) must be listed like any other.
    #[serde(default)]
    pub http_hosts: Vec<String>,
    /// Overrides `plugins.deadline_ms` for this plugin's calls (time spent in `http` counts).
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Overrides `plugins.memory_mib` for this plugin; at most `plugins.memory_mib`.
    #[serde(default)]
    pub memory_mib: Option<u64>,
    /// Overrides `plugins.max_output_bytes` for this adapter's calls.
    #[serde(default)]
    pub max_output_bytes: Option<usize>,
}

impl PluginGrant {
    /// Nothing granted, for the plugin `name`.
    pub fn none(name: &str) -> PluginGrant {
        PluginGrant {
            name: name.to_string(),
            ..PluginGrant::default()
        }
    }
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
}
