//! The integration's settings (`[integration.settings]` in the host's configuration).
//!
//! Settings are read through the host on every call rather than cached, because the host may
//! serve several integrations with one adapter and reloads settings without a restart.
//! They exist only inside the host: natively these functions panic, so keep adapter logic in
//! functions that take the values as arguments and test those.

use crate::AdapterError;
use crate::wit::switchboard::channel::config;

/// The value of setting `key`, or `None` when it is unset. An empty or blank value counts as
/// unset, so an admin can blank a setting to get its default back.
pub fn get(key: &str) -> Option<String> {
    config::get(key).filter(|value| !value.trim().is_empty())
}

/// The value of a setting the adapter cannot work without. A missing one is the admin's
/// problem, so it fails as [`AdapterError::Misconfigured`] (the host answers 500 and logs it).
pub fn require(key: &str) -> Result<String, AdapterError> {
    get(key).ok_or_else(|| AdapterError::Misconfigured(format!("setting `{key}` is missing")))
}

/// The id of the integration this call serves (the `{integration}` of `/webhooks/{integration}`).
pub fn integration_id() -> String {
    config::integration_id()
}
