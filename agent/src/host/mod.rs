//! The host under the agent: where its files live and how they are written, locks, the state
//! and secrets of each project, the audit trail, `agent.json`, signals, and the children it runs.

pub(crate) mod audit;
pub(crate) mod child;
pub(crate) mod config;
pub(crate) mod layout;
pub(crate) mod lock;
pub(crate) mod secret_key;
pub(crate) mod secret_store;
pub(crate) mod signals;
pub(crate) mod state;
pub(crate) mod table;
pub(crate) mod timefmt;
