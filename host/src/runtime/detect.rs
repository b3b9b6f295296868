//! Which world a component implements, and in which WIT version, read from its exports.
//!
//! Each world is known by the interface it exports: `switchboard:channel/handler@V` (a channel
//! adapter), `switchboard:flow/bot@V` (a bot), `switchboard:flow/data-action@V` (a data
//! action). [`WORLDS`] is the one list of them: loading picks the world from it
//! ([`PluginRuntime::load`](super::PluginRuntime::load)), `plugin inspect` names the world with
//! it ([`outline`](super::outline)), and a component that matches none is refused with every
//! world and version this host runs. Nothing here needs wasmtime: it reads export names.

use std::fmt;

/// WIT versions of `switchboard:channel` this host can run, newest first.
pub const SUPPORTED_CHANNEL_VERSIONS: &[&str] = &["0.2.0", "0.1.0"];

/// WIT versions of `switchboard:flow` this host can run, newest first.
pub const SUPPORTED_FLOW_VERSIONS: &[&str] = &["0.1.0"];

/// What the host does with a component: which of its worlds it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorldKind {
    /// `switchboard:channel/adapter`: answers webhooks and encodes sends for an integration.
    Adapter,
    /// `switchboard:flow/bot-plugin`: one call per customer turn.
    Bot,
    /// `switchboard:flow/data-action-plugin`: named actions a flow calls.
    DataAction,
}

impl WorldKind {
    /// Bots and data actions are both flow plugins: one name is one kind of plugin.
    pub(crate) fn is_flow_plugin(self) -> bool {
        matches!(self, WorldKind::Bot | WorldKind::DataAction)
    }
}

/// A world the host runs, and how a component shows it implements it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct KnownWorld {
    pub kind: WorldKind,
    /// The WIT package, e.g. `switchboard:channel`.
    pub package: &'static str,
    /// The world's full name, e.g. `switchboard:channel/adapter`.
    pub world: &'static str,
    /// The export that identifies it; the version follows the `@`.
    pub export: &'static str,
    /// The versions this host runs, newest first.
    pub versions: &'static [&'static str],
}

/// The export that identifies a channel adapter.
pub(crate) const HANDLER_EXPORT: &str = "switchboard:channel/handler@";
/// The export that identifies a bot.
pub(crate) const BOT_EXPORT: &str = "switchboard:flow/bot@";
/// The export that identifies a data-action plugin.
pub(crate) const DATA_ACTION_EXPORT: &str = "switchboard:flow/data-action@";

/// Every world the host knows. When a component exports more than one, the first listed wins.
pub(crate) const WORLDS: &[KnownWorld] = &[
    KnownWorld {
        kind: WorldKind::Adapter,
        package: "switchboard:channel",
        world: "switchboard:channel/adapter",
        export: HANDLER_EXPORT,
        versions: SUPPORTED_CHANNEL_VERSIONS,
    },
    KnownWorld {
        kind: WorldKind::Bot,
        package: "switchboard:flow",
        world: "switchboard:flow/bot-plugin",
        export: BOT_EXPORT,
        versions: SUPPORTED_FLOW_VERSIONS,
    },
    KnownWorld {
        kind: WorldKind::DataAction,
        package: "switchboard:flow",
        world: "switchboard:flow/data-action-plugin",
        export: DATA_ACTION_EXPORT,
        versions: SUPPORTED_FLOW_VERSIONS,
    },
];

/// The world a component implements, in a version this host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detected {
    pub world: &'static KnownWorld,
    pub version: &'static str,
}

impl Detected {
    pub(crate) fn kind(&self) -> WorldKind {
        self.world.kind
    }
}

impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.world.world, self.version)
    }
}

/// The first known world among `exports`, whatever its version, e.g.
/// `switchboard:channel/adapter@0.3.0` (`plugin inspect` names it even when this host cannot
/// run it).
pub(crate) fn name_world(exports: &[String]) -> Option<String> {
    exports.iter().find_map(|export| {
        WORLDS.iter().find_map(|known| {
            export
                .strip_prefix(known.export)
                .map(|version| format!("{}@{version}", known.world))
        })
    })
}

/// The world, and the newest version of it this host runs, that a component with these
/// top-level exports implements; or why there is none.
pub(crate) fn detect(exports: &[String]) -> Result<Detected, String> {
    let mut unsupported: Vec<(&KnownWorld, &str)> = Vec::new();
    for known in WORLDS {
        let found: Vec<&str> = exports
            .iter()
            .filter_map(|e| e.strip_prefix(known.export))
            .collect();
        if let Some(version) = known.versions.iter().find(|v| found.contains(*v)) {
            return Ok(Detected {
                world: known,
                version,
            });
        }
        unsupported.extend(found.into_iter().map(|v| (known, v)));
    }
    if unsupported.is_empty() {
        return Err(format!(
            "it does not implement a known world: expected an export {}; it exports [{}]",
            expected(WORLDS.iter()),
            exports.join(", ")
        ));
    }
    let reasons: Vec<String> = unsupported
        .iter()
        .map(|(known, version)| {
            format!(
                "it implements {} version {version}, but this host supports {}",
                known.package,
                known.versions.join(", ")
            )
        })
        .collect();
    Err(reasons.join("; "))
}

/// Refuses a component of the other kind than a kind-specific loader wants: a flow plugin
/// where a channel adapter is expected (`flow_plugin: false`), or the reverse.
pub(crate) fn expect_kind(detected: &Detected, flow_plugin: bool) -> Result<(), String> {
    if detected.kind().is_flow_plugin() == flow_plugin {
        return Ok(());
    }
    let (wanted, found) = if flow_plugin {
        ("a flow plugin", "a channel adapter")
    } else {
        ("a channel adapter", "a flow plugin")
    };
    let worlds = WORLDS
        .iter()
        .filter(|w| w.kind.is_flow_plugin() == flow_plugin);
    Err(format!(
        "it is not {wanted}: it implements {detected}, {found}; {wanted} exports {}",
        expected(worlds)
    ))
}

/// "`E@VERSION` (world W, versions ...)" for each world, the last after "or".
fn expected<'a>(worlds: impl Iterator<Item = &'a KnownWorld>) -> String {
    let items: Vec<String> = worlds
        .map(|w| {
            format!(
                "`{}VERSION` (world {}, versions {})",
                w.export,
                w.world,
                w.versions.join(", ")
            )
        })
        .collect();
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_world_and_newest_supported_version_come_from_the_exports() {
        let both = exports(&[
            "switchboard:channel/handler@0.1.0",
            "switchboard:channel/handler@0.2.0",
        ]);
        let detected = detect(&both).unwrap();
        assert_eq!(detected.kind(), WorldKind::Adapter);
        assert_eq!(detected.version, "0.2.0");
        assert_eq!(detected.to_string(), "switchboard:channel/adapter@0.2.0");

        let old = detect(&exports(&["switchboard:channel/handler@0.1.0"])).unwrap();
        assert_eq!((old.kind(), old.version), (WorldKind::Adapter, "0.1.0"));

        let bot = detect(&exports(&[
            "wasi:cli/run@0.2.6",
            "switchboard:flow/bot@0.1.0",
        ]));
        assert_eq!(bot.unwrap().kind(), WorldKind::Bot);
        let action = detect(&exports(&["switchboard:flow/data-action@0.1.0"])).unwrap();
        assert_eq!(action.kind(), WorldKind::DataAction);
        assert_eq!(
            action.to_string(),
            "switchboard:flow/data-action-plugin@0.1.0"
        );
    }

    #[test]
    fn no_known_world_names_every_world_and_version_and_what_it_exports() {
        let error = detect(&exports(&["wasi:cli/run@0.2.6"])).unwrap_err();
        assert_eq!(
            error,
            "it does not implement a known world: expected an export \
             `switchboard:channel/handler@VERSION` (world switchboard:channel/adapter, versions \
             0.2.0, 0.1.0), `switchboard:flow/bot@VERSION` (world switchboard:flow/bot-plugin, \
             versions 0.1.0) or `switchboard:flow/data-action@VERSION` (world \
             switchboard:flow/data-action-plugin, versions 0.1.0); it exports [wasi:cli/run@0.2.6]"
        );
    }

    #[test]
    fn an_unsupported_version_names_both_versions() {
        let error = detect(&exports(&["switchboard:channel/handler@0.3.0"])).unwrap_err();
        assert_eq!(
            error,
            "it implements switchboard:channel version 0.3.0, but this host supports 0.2.0, 0.1.0"
        );
        let error = detect(&exports(&["switchboard:flow/bot@9.0.0"])).unwrap_err();
        assert!(error.contains("switchboard:flow version 9.0.0"), "{error}");
        // `inspect` still names the world.
        assert_eq!(
            name_world(&exports(&["x", "switchboard:channel/handler@0.3.0"])).as_deref(),
            Some("switchboard:channel/adapter@0.3.0")
        );
        assert_eq!(name_world(&exports(&["x"])), None);
    }

    #[test]
    fn a_kind_specific_loader_refuses_the_other_kind() {
        let adapter = detect(&exports(&["switchboard:channel/handler@0.2.0"])).unwrap();
        let bot = detect(&exports(&["switchboard:flow/bot@0.1.0"])).unwrap();
        assert_eq!(expect_kind(&adapter, false), Ok(()));
        assert_eq!(expect_kind(&bot, true), Ok(()));
        let error = expect_kind(&adapter, true).unwrap_err();
        assert!(
            error.starts_with(
                "it is not a flow plugin: it implements switchboard:channel/adapter@0.2.0, a \
                 channel adapter; a flow plugin exports `switchboard:flow/bot@VERSION`"
            ),
            "{error}"
        );
        let error = expect_kind(&bot, false).unwrap_err();
        assert!(
            error.starts_with(
                "it is not a channel adapter: it implements switchboard:flow/bot-plugin@0.1.0"
            ) && error.contains("`switchboard:channel/handler@VERSION`"),
            "{error}"
        );
    }
}
