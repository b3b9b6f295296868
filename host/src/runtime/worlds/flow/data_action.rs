//! Data actions (`switchboard:flow/data-action-plugin@0.1.0`): named actions a flow calls to
//! read or write data (a CRM lookup, an order status). `describe()` lists them and is the
//! health check at load; `call` runs one with text fields in and text fields out.

use serde_json::{Map, Value};
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::super::super::bindings::flow_v0_1::{data_action as bindings, types as wt};
use super::super::super::caller::FlowCallContext;
use super::super::super::error::PluginError;
use super::super::super::state::PluginState;
use super::common::{Core, fields_to_map};

/// One action of a data-action plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// Why a data action returned no outputs (the plugin ran and said so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("no action `{0}`")]
    NotFound(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("failed: {0}")]
    Failed(String),
}

/// A loaded data-action plugin (`switchboard:flow/data-action`).
pub struct DataActionPlugin {
    pub(crate) core: Core,
    pre: bindings::DataActionPluginPre<PluginState>,
    actions: Vec<ActionInfo>,
}

impl DataActionPlugin {
    /// Links the component and runs the health check: a data action that cannot list its
    /// actions is not loaded.
    pub(crate) async fn load(
        core: Core,
        instance_pre: InstancePre<PluginState>,
    ) -> Result<DataActionPlugin, PluginError> {
        let name = core.name.clone();
        let pre = bindings::DataActionPluginPre::new(instance_pre).map_err(|e| {
            PluginError::load(
                &name,
                format!("it does not match world `data-action`: {e:#}"),
            )
        })?;
        let mut plugin = DataActionPlugin {
            core,
            pre,
            actions: Vec::new(),
        };
        plugin.actions = plugin
            .describe(&FlowCallContext::default())
            .await
            .map_err(|e| PluginError::load(&name, e.to_string()))?;
        Ok(plugin)
    }

    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn wit_version(&self) -> &str {
        &self.core.wit_version
    }

    /// The actions `describe()` listed at load.
    pub fn actions(&self) -> &[ActionInfo] {
        &self.actions
    }

    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }

    async fn instance(
        &self,
        ctx: &FlowCallContext,
        function: &'static str,
    ) -> Result<(Store<PluginState>, bindings::DataActionPlugin), PluginError> {
        let mut store = self.core.store(ctx);
        match self.pre.instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(self.core.error(function, e, &store)),
        }
    }

    /// Asks the plugin for its actions again.
    pub async fn describe(&self, ctx: &FlowCallContext) -> Result<Vec<ActionInfo>, PluginError> {
        let (mut store, instance) = self.instance(ctx, "describe").await?;
        let actions = instance
            .switchboard_flow_data_action()
            .call_describe(&mut store)
            .await
            .map_err(|e| self.core.error("describe", e, &store))?;
        Ok(actions
            .into_iter()
            .map(|a| ActionInfo {
                name: a.name,
                inputs: a.inputs,
                outputs: a.outputs,
            })
            .collect())
    }

    /// Runs `action`. Input values reach the plugin as text (a JSON string as its contents, any
    /// other value as its JSON text, `null` not at all); outputs come back as JSON strings.
    pub async fn call(
        &self,
        ctx: &FlowCallContext,
        action: &str,
        input: Map<String, Value>,
    ) -> Result<Result<Map<String, Value>, ActionError>, PluginError> {
        const FUNCTION: &str = "call";
        let (mut store, instance) = self.instance(ctx, FUNCTION).await?;
        let fields: Vec<(String, String)> = input
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect();
        let result = instance
            .switchboard_flow_data_action()
            .call_call(&mut store, action, &fields)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        Ok(result.map(fields_to_map).map_err(|e| match e {
            wt::ActionError::NotFound(m) => ActionError::NotFound(m),
            wt::ActionError::InvalidInput(m) => ActionError::InvalidInput(m),
            wt::ActionError::Failed(m) => ActionError::Failed(m),
        }))
    }
}
