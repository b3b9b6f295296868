//! A loaded flow plugin, bot or data action (`switchboard:flow@0.1.0`), as the host holds it,
//! and loading one with its grant: the manifest and the HTTP grant checked, the component
//! linked for its world. The two worlds' calls are in `bot.rs` and `data_action.rs`.

use std::sync::Arc;

use wasmtime::component::Component;

use super::super::super::error::PluginError;
use super::super::super::grants;
use super::super::super::limits::Limits;
use super::super::super::manifest::Manifest;
use super::super::super::shared::Shared;
use super::bot::BotPlugin;
use super::common::Core;
use super::data_action::DataActionPlugin;
use crate::config::PluginGrant;

/// Which world a flow plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowPluginKind {
    Bot,
    DataAction,
}

/// A loaded, checked flow plugin.
pub enum FlowPlugin {
    Bot(BotPlugin),
    DataAction(DataActionPlugin),
}

impl FlowPlugin {
    fn core(&self) -> &Core {
        match self {
            FlowPlugin::Bot(p) => &p.core,
            FlowPlugin::DataAction(p) => &p.core,
        }
    }

    pub fn kind(&self) -> FlowPluginKind {
        match self {
            FlowPlugin::Bot(_) => FlowPluginKind::Bot,
            FlowPlugin::DataAction(_) => FlowPluginKind::DataAction,
        }
    }

    pub fn name(&self) -> &str {
        &self.core().name
    }

    pub fn wit_version(&self) -> &str {
        &self.core().wit_version
    }

    /// SHA-256 of the component's bytes.
    pub fn hash(&self) -> &str {
        &self.core().hash
    }

    pub fn grant(&self) -> &PluginGrant {
        &self.core().grant
    }

    /// The limits its calls run under (the configuration's, overridden by its grant).
    pub fn limits(&self) -> Limits {
        self.core().limits
    }

    /// What the component's manifest asks for, if it has one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.core().manifest.as_ref()
    }

    pub fn as_bot(&self) -> Option<&BotPlugin> {
        match self {
            FlowPlugin::Bot(p) => Some(p),
            FlowPlugin::DataAction(_) => None,
        }
    }

    pub fn as_data_action(&self) -> Option<&DataActionPlugin> {
        match self {
            FlowPlugin::DataAction(p) => Some(p),
            FlowPlugin::Bot(_) => None,
        }
    }
}

/// Checks the manifest and the HTTP grant, links the component for its world and, for a data
/// action, runs the health check.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn load(
    shared: Arc<Shared>,
    name: &str,
    (component, hash): (Component, String),
    kind: FlowPluginKind,
    wit_version: &str,
    grant: &PluginGrant,
    limits: Limits,
    manifest: Option<Manifest>,
) -> Result<FlowPlugin, PluginError> {
    grants::check_manifest(name, manifest.as_ref(), limits, Some(&grant.http_hosts))?;
    let host_rules = grants::http_rules(name, grant)?;
    let instance_pre = shared
        .flow_linker()
        .instantiate_pre(&component)
        .map_err(|e| PluginError::load(name, format!("its imports cannot be satisfied: {e:#}")))?;
    let core = Core {
        shared,
        name: name.into(),
        wit_version: wit_version.to_string(),
        hash,
        limits,
        host_rules,
        grant: PluginGrant {
            name: name.to_string(),
            ..grant.clone()
        },
        manifest,
    };
    match kind {
        FlowPluginKind::Bot => BotPlugin::new(core, instance_pre).map(FlowPlugin::Bot),
        FlowPluginKind::DataAction => DataActionPlugin::load(core, instance_pre)
            .await
            .map(FlowPlugin::DataAction),
    }
}
