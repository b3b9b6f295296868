//! What the admin routes need.

use std::sync::Arc;

use crate::acd::Roster;
use crate::config::QueueConfig;
use crate::deploy::Deployer;
use crate::directory::AgentDirectory;
use crate::schedules::Schedules;
use crate::store::Store;

/// What the admin routes need.
#[derive(Clone)]
pub struct AdminState {
    pub deployer: Arc<Deployer>,
    pub store: Arc<dyn Store>,
    pub queues: Arc<Vec<QueueConfig>>,
    pub agents: Arc<AgentDirectory>,
    /// Adds, changes and removes agents and supervisors at run time.
    pub roster: Arc<Roster>,
    pub schedules: Arc<Schedules>,
}
