//! Hot loading: publishing and rolling back flows and plugins while the host serves, from the
//! admin API or from watched folders (`serve --watch`). A publish validates, compiles and
//! health-checks before it swaps anything in; whatever fails leaves the running version serving.

mod publish;
mod watch;

pub use publish::{Deployer, PluginPublishError, Published};
pub use watch::{watch_flows, watch_plugins};
